"""The meeting as delegates read it: home, agenda and a session's briefing with its questions."""

import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import get_language_info

from .. import queries
from ..access import delegation_of, is_moderator, visible_meetings
from ..models import Meeting


@login_required
def home(request):
    meetings = list(queries.meetings_for_home().filter(pk__in=visible_meetings(request.user).values("pk")))
    if len(meetings) == 1:
        return redirect("meeting", slug=meetings[0].slug)
    return render(request, "sessions_app/home.html", {"meetings": meetings})


@login_required
def meeting_agenda(request, slug):
    meeting = queries.get_meeting(slug)
    delegation = delegation_of(request.user)
    context = {
        "meeting": meeting,
        "nav_active": "meeting",
        "sessions": list(queries.agenda_sessions(meeting)),
        "delegation": delegation,
        "todo": list(queries.unanswered_questions(meeting, delegation)) if delegation else None,
        "is_moderator": is_moderator(request.user),
    }
    return render(request, "sessions_app/meeting_agenda.html", context)


def session_page_context(request, session) -> dict:
    """Everything the delegate's session page renders; shared with the answer views' re-renders."""
    meeting = Meeting.objects.select_related("current_question__session", "current_session").get(pk=session.meeting_id)
    session.meeting = meeting
    # The briefing in the reader's choice (?notes=fr), else in the interface's language where the
    # notes were translated into it, else as imported.
    languages = queries.notes_languages(session)
    wanted = request.GET.get("notes") or translation.get_language()
    notes_language = wanted if wanted in languages else meeting.language
    blocks = queries.briefing_blocks(session, "" if notes_language == meeting.language else notes_language)
    delegation = delegation_of(request.user)
    return {
        "meeting": meeting,
        "session": session,
        "nav_active": "session",
        "notes_language": notes_language,
        "notes_languages": [(code, get_language_info(code)["name_local"]) for code in languages] if len(languages) > 1 else [],
        "session_title": session.translations.get(notes_language, {}).get("title") or session.title,
        "blocks": [block for block in blocks if block.kind != "footnote"],
        "footnotes": [block for block in blocks if block.kind == "footnote"],
        "toc": [block for block in blocks if block.kind in {"box", "figure"}],
        "references": list(meeting.references.all()),
        "is_moderator": is_moderator(request.user),
        "answer_max": settings.FACILITATION["ANSWER_MAX_CHARS"],
        # A fresh key per rendered form: a double-click or a resend of this form is stored once.
        "form_key": uuid.uuid4().hex,
        **queries.delegate_context(session, delegation),
        **queries.room_context(session, user=request.user, delegation=delegation),
    }


@login_required
def session_page(request, slug, number):
    session = queries.get_session(slug, number)
    return render(request, "sessions_app/session_delegate.html", session_page_context(request, session))
