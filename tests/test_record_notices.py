"""Delegations are told of their record's review: live on their pages, and by e-mail in their language."""

import io
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import Event, Participant, RecordAudit
from sessions_app.records import notices
from sessions_app.records import services as review
from sessions_app.services import ActionRefused

from .factories import AnswerFactory, DelegationFactory, QuestionFactory, SessionFactory, make_delegate, make_participant, make_secretariat
from .live_helpers import console_path, delegate_path, open_socket, receive_until


def _world():
    france, germany, japan = (DelegationFactory(country=code) for code in ("FR", "DE", "JP"))
    session = SessionFactory(number=1, title="Trust")
    meeting = session.meeting
    meeting.delegations.add(france, germany, japan)
    question = QuestionFactory(session=session, position=1, text="How do you measure trust?")
    AnswerFactory(question=question, delegation=france, text="We survey trust every year.")
    people = {
        "secretariat": make_secretariat(email="sec@example.org"),
        "fr": make_delegate(france, email="fr@example.org"),
        "de": make_delegate(germany, email="de@example.org"),
        "de-head": make_participant(role=Participant.Role.HEAD, delegation=germany, email="head-de@example.org"),
        "jp": make_delegate(japan, email=""),  # no address: told on the page only
        "observer": make_participant(role=Participant.Role.OBSERVER, email="obs@example.org", meetings=[meeting]),
    }
    Participant.objects.filter(user=people["fr"]).update(language="fr")
    return meeting, session, people


@pytest.fixture
def world(db):
    return _world()


# --- Live, over the delegates' socket (real ASGI application and channel layer) -------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("sockets_closed_before_the_loop_ends")
async def test_a_delegate_page_receives_the_draft_notice_then_the_final_notice_live():
    meeting, _session, people = await database_sync_to_async(_world)()
    france, connected, _code = await open_socket(delegate_path(meeting), people["fr"])
    assert connected
    germany, connected, _code = await open_socket(delegate_path(meeting), people["de"])
    assert connected

    draft = await database_sync_to_async(review.issue_draft)(
        people["secretariat"], meeting=meeting, deadline=timezone.now() + timedelta(days=3))
    message = await receive_until(germany, 'id="record_review_notice"', timeout=5)
    assert 'hx-swap-oob="innerHTML"' in message
    assert "A draft summary record (version 1) is open for corrections and comments." in message
    assert reverse("record_review", args=[meeting.slug, draft.pk]) in message
    # France chose French: its page gets the notice in French.
    message = await receive_until(france, 'id="record_review_notice"', timeout=5)
    assert "Un projet de compte rendu (version 1) est ouvert aux corrections et commentaires." in message

    final = await database_sync_to_async(review.issue_final)(people["secretariat"], version=draft)
    message = await receive_until(germany, 'id="record_review_notice"', timeout=5)
    assert "The final summary record (version 2) is out." in message
    assert reverse("record_review", args=[meeting.slug, final.pk]) in message
    assert "Le compte rendu final (version 2) est paru." in await receive_until(france, 'id="record_review_notice"', timeout=5)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("sockets_closed_before_the_loop_ends")
async def test_the_console_gets_no_record_notice_and_a_refused_draft_sends_none():
    meeting, _session, people = await database_sync_to_async(_world)()
    chair = await database_sync_to_async(make_participant)(role=Participant.Role.CHAIR)
    console, connected, _code = await open_socket(console_path(meeting), chair)
    assert connected
    france, connected, _code = await open_socket(delegate_path(meeting), people["fr"])
    assert connected
    with pytest.raises(ActionRefused):
        await database_sync_to_async(review.issue_draft)(people["fr"], meeting=meeting)
    assert await france.receive_nothing(timeout=0.5)
    await database_sync_to_async(review.issue_draft)(people["secretariat"], meeting=meeting)
    await receive_until(france, 'id="record_review_notice"', timeout=5)
    assert await console.receive_nothing(timeout=0.5)


def test_a_page_that_missed_the_notice_gets_it_on_resync(world):
    from sessions_app import events
    from sessions_app.live import resync

    meeting, _session, people = world
    after = meeting.last_seq
    review.issue_draft(people["secretariat"], meeting=meeting)
    meeting.refresh_from_db()
    groups = {events.group_name(meeting.pk, events.DELEGATE), events.delegation_group(meeting.pk, people["fr"].participant.delegation_id)}
    _current, messages = resync.catch_up(meeting_id=meeting.pk, after=after, groups=groups, full_render=lambda: "")
    assert any("is open for corrections and comments" in message for message in messages)


def test_the_delegate_session_page_shows_the_open_draft(client, world):
    meeting, session, people = world
    client.force_login(people["de"])
    page = client.get(reverse("session", args=[meeting.slug, session.number])).content.decode()
    assert '<div id="record_review_notice" role="status"></div>' in page  # the place the live notice fills
    draft = review.issue_draft(people["secretariat"], meeting=meeting)
    page = client.get(reverse("session", args=[meeting.slug, session.number])).content.decode()
    assert "A draft summary record (version 1) is open for corrections and comments." in page
    assert reverse("record_review", args=[meeting.slug, draft.pk]) in page


# --- E-mail ---------------------------------------------------------------------------------------


def test_each_delegate_with_an_address_gets_one_email_in_their_language(world, django_capture_on_commit_callbacks):
    meeting, _session, people = world
    with django_capture_on_commit_callbacks(execute=True):
        draft = review.issue_draft(people["secretariat"], meeting=meeting, deadline=timezone.now() + timedelta(days=3),
                                   base_url="https://meetings.example.org/")
    by_address = {message.to[0]: message for message in mail.outbox}
    # Delegates and heads of delegation, once each; not the observer, the secretariat or Japan (no address).
    assert sorted(by_address) == ["de@example.org", "fr@example.org", "head-de@example.org"]
    assert len(mail.outbox) == 3
    link = f"https://meetings.example.org{reverse('record_review', args=[meeting.slug, draft.pk])}"
    assert by_address["fr@example.org"].subject == f"Projet de compte rendu\u00a0: {meeting.title}"
    assert "est ouvert aux corrections" in by_address["fr@example.org"].body
    assert by_address["de@example.org"].subject == f"Draft summary record: {meeting.title}"
    assert "is open for your delegation's corrections and comments until" in by_address["de@example.org"].body
    assert all(link in message.body for message in mail.outbox)


def test_no_email_and_no_notice_when_the_step_is_refused(world, django_capture_on_commit_callbacks):
    meeting, _session, people = world
    review.issue_draft(people["secretariat"], meeting=meeting)
    events_before = Event.objects.count()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ActionRefused):
        review.issue_draft(people["secretariat"], meeting=meeting)  # a draft is already under review
    assert mail.outbox == []
    assert Event.objects.count() == events_before


def test_the_final_record_email_reaches_each_delegate_once(world, django_capture_on_commit_callbacks):
    meeting, _session, people = world
    draft = review.issue_draft(people["secretariat"], meeting=meeting)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        review.issue_final(people["secretariat"], version=draft)
    assert sorted(message.to[0] for message in mail.outbox) == ["de@example.org", "fr@example.org", "head-de@example.org"]
    french = next(message for message in mail.outbox if message.to == ["fr@example.org"])
    assert "(version 2)" in french.body and "est paru" in french.body


# --- Deadline reminders ---------------------------------------------------------------------------


def _reminders(version):
    return list(RecordAudit.objects.filter(version=version, action="deadline_reminder").values_list("detail__hours", flat=True))


def test_deadline_reminders_go_out_48_and_24_hours_before_once_each(world, django_capture_on_commit_callbacks):
    meeting, _session, people = world
    start = timezone.now()
    draft = review.issue_draft(people["secretariat"], meeting=meeting, deadline=start + timedelta(hours=72))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert notices.remind_deadlines(now=start) == []  # 72 h left: nothing yet
        assert notices.remind_deadlines(now=start + timedelta(hours=25)) == [draft]  # 47 h left
        assert notices.remind_deadlines(now=start + timedelta(hours=26)) == []  # not twice
    assert len(mail.outbox) == 3
    assert "close on" in mail.outbox[0].body or "se terminent le" in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        assert notices.remind_deadlines(now=start + timedelta(hours=49)) == [draft]  # 23 h left
        assert notices.remind_deadlines(now=start + timedelta(hours=60)) == []
    assert len(mail.outbox) == 6
    assert _reminders(draft) == [48, 24]
    notices_sent = Event.objects.filter(meeting=meeting, type="record.notice").values_list("payload__notice", flat=True)
    assert list(notices_sent) == ["draft", "deadline", "deadline"]


def test_the_command_run_twice_reminds_once(world, django_capture_on_commit_callbacks):
    meeting, _session, people = world
    draft = review.issue_draft(people["secretariat"], meeting=meeting, deadline=timezone.now() + timedelta(hours=20))
    mail.outbox.clear()
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("remind_record_deadlines", stdout=out)
        call_command("remind_record_deadlines", stdout=out)
    # First seen 20 h before: the 24-hour reminder alone, not the 48-hour one as well.
    assert len(mail.outbox) == 3
    assert _reminders(draft) == [24]
    assert out.getvalue().splitlines() == ["Reminded the delegations of 1 draft(s).", "Reminded the delegations of 0 draft(s)."]


def test_no_reminder_once_the_final_record_is_out_or_the_deadline_passed(world, django_capture_on_commit_callbacks):
    meeting, session, people = world
    draft = review.issue_draft(people["secretariat"], meeting=meeting, deadline=timezone.now() + timedelta(hours=10))
    review.issue_final(people["secretariat"], version=draft)
    other = review.issue_draft(people["secretariat"], meeting=meeting, session=session,
                               deadline=timezone.now() + timedelta(hours=10))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert notices.remind_deadlines(now=timezone.now() + timedelta(hours=11)) == []  # past
        assert notices.remind_deadlines() == [other]  # the session's draft; the meeting's is final
    assert len(mail.outbox) == 3


def test_the_command_refuses_a_negative_threshold(world):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="positive"):
        call_command("remind_record_deadlines", "--hours", "-3", stdout=io.StringIO())
