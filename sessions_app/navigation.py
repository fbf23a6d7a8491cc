"""Which meeting the top bar links to on pages that belong to no meeting (the practice library).

A delegate or chair who opens the library from session 2 must get back to session 2 from the top bar,
not only with the browser's back button: a meeting's pages leave the meeting's slug (and the session's
number) in a small cookie; other pages link to it when the person still takes part in that meeting,
else to the latest meeting they take part in. A cookie rather than the session: no database write
when a room of delegates opens its pages.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import F

from .access import visible_meetings
from .models import Meeting

COOKIE = "nav_place"
MAX_AGE = 60 * 60 * 24 * 30


@dataclass(frozen=True)
class Place:
    meeting: Meeting
    session_number: int | None


def _parse(value: str) -> tuple[str, int | None]:
    slug, _slash, number = (value or "").partition("/")
    return slug[:200], int(number) if number.isdigit() and len(number) < 6 else None


def remember_place(request, response) -> None:
    """After a meeting's page (GET, shown whole), keep its slug and the session's number in the cookie."""
    match = getattr(request, "resolver_match", None)
    if (match is None or request.method != "GET" or response.status_code != 200 or getattr(request, "htmx", False)
            or not request.user.is_authenticated or not match.route.startswith("meetings/")):
        return
    slug = match.kwargs.get("slug")
    if not slug:
        return
    number = match.kwargs.get("number")
    previous_slug, previous_number = _parse(request.COOKIES.get(COOKIE, ""))
    if number is None and previous_slug == slug:
        number = previous_number  # the agenda or the records: the session stays the one last open
    value = f"{slug}/{number}" if number is not None else slug
    if request.COOKIES.get(COOKIE) != value:
        response.set_cookie(COOKIE, value, max_age=MAX_AGE, httponly=True, samesite="Lax",
                            secure=settings.SESSION_COOKIE_SECURE)


def last_place(request) -> Place | None:
    """The meeting (and session) the top bar links to on a page outside any meeting; None for nobody."""
    user = request.user
    if not user.is_authenticated:
        return None
    meetings = visible_meetings(user)
    slug, number = _parse(request.COOKIES.get(COOKIE, ""))
    meeting = meetings.filter(slug=slug).first() if slug else None
    if meeting is None:
        meeting, number = meetings.order_by(F("start_date").desc(nulls_last=True), "-pk").first(), None
    if meeting is None:
        return None
    if number is not None and not meeting.sessions.filter(number=number).exists():
        number = None
    return Place(meeting=meeting, session_number=number)
