"""Which meeting the top bar links to on pages that belong to no meeting (the practice library).

A delegate or chair who opens the library from session 2 must get back to session 2 from the top bar,
not only with the browser's back button: the meeting pages remember, in the person's session, the
meeting (and session) last open; other pages link to it, else to the latest meeting the person takes
part in.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F

from .access import visible_meetings
from .models import Meeting

SESSION_KEY = "nav_place"


@dataclass(frozen=True)
class Place:
    meeting: Meeting
    session_number: int | None


def remember_place(request) -> None:
    """On a meeting's page, keep its slug (and the session's number, if the page has one)."""
    match = getattr(request, "resolver_match", None)
    if match is None or not hasattr(request, "session") or not request.user.is_authenticated or not match.route.startswith("meetings/"):
        return
    slug = match.kwargs.get("slug")
    if not slug:
        return
    previous = request.session.get(SESSION_KEY) or {}
    number = match.kwargs.get("number")
    if number is None and previous.get("slug") == slug:
        number = previous.get("session")  # the agenda or the records: the session stays the one last open
    place = {"slug": slug, "session": number}
    if previous != place:
        request.session[SESSION_KEY] = place


def last_place(request) -> Place | None:
    """The meeting (and session) the top bar links to on a page outside any meeting; None for nobody."""
    user = request.user
    if not user.is_authenticated or not hasattr(request, "session"):
        return None
    meetings = visible_meetings(user)
    remembered = request.session.get(SESSION_KEY) or {}
    meeting = meetings.filter(slug=remembered["slug"]).first() if remembered.get("slug") else None
    number = remembered.get("session") if meeting is not None else None
    if meeting is None:
        meeting = meetings.order_by(F("start_date").desc(nulls_last=True), "-pk").first()
    if meeting is None:
        return None
    if number is not None and not meeting.sessions.filter(number=number).exists():
        number = None
    return Place(meeting=meeting, session_number=number)
