"""How committed events reach the groups: merged bursts of answers, in order, off the request thread."""

import asyncio
import re
import threading

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sessions_app import events, services
from sessions_app.live import broadcaster as live_broadcaster
from sessions_app.live.broadcaster import Broadcaster
from sessions_app.models import Event, Meeting

from .factories import DelegationFactory, QuestionFactory, make_chair, make_delegate
from .live_helpers import console_path, delegate_path, live_events_sent, open_socket


def two_questions_three_delegations():
    france, germany, japan = (DelegationFactory(country=code) for code in ("FR", "DE", "JP"))
    first = QuestionFactory()
    second = QuestionFactory(session=first.session)
    first.session.number = 1
    first.session.save()
    first.session.meeting.delegations.add(france, germany, japan)
    return {
        "meeting": first.session.meeting, "first": first, "second": second,
        "fr": make_delegate(france), "fr2": make_delegate(france), "de": make_delegate(germany), "jp": make_delegate(japan),
        "chair": make_chair(), "france": france, "germany": germany,
    }


def submit(world, who, question, text, key):
    return services.submit_answer(user=world[who], question=world[question], kind="answer", text=text, key=key)


def cards(html: str) -> list[str]:
    return re.findall(r'<article[^>]* id="(answer-\d+)"', html)


@pytest.mark.django_db
def test_a_run_of_answers_is_one_console_message_with_each_card_once_and_each_tally_once():
    world = two_questions_three_delegations()
    france_first = submit(world, "fr", "first", "Draft of France", "a")
    germany_first = submit(world, "de", "first", "Germany's view", "b")
    submit(world, "fr2", "first", "Final of France", "c")  # the colleague's edit of France's answer
    japan_second = submit(world, "jp", "second", "Japan's view", "d")
    batch = list(Event.objects.order_by("seq"))
    assert len(batch) == 4

    messages = dict(live_broadcaster.messages_for(batch))

    console = messages[events.group_name(world["meeting"].pk, events.CONSOLE)]
    english = console["html"]["en"]
    assert cards(english) == [f"answer-{france_first.pk}", f"answer-{germany_first.pk}", f"answer-{japan_second.pk}"]
    assert "Final of France" in english and "Draft of France" not in english  # as it is now
    assert english.count(f'beforeend:#answers-q{world["first"].pk}') == 2  # new to the console: appended
    assert english.count('id="tally-q') == 2  # one tally per question
    assert "2 of 3 delegations answered" in english and "1 of 3 delegations answered" in english
    assert console["seq"] == batch[-1].seq and f'data-seq="{batch[-1].seq}"' in english
    assert "Final of France" in console["html"]["fr"] and "délégations" in console["html"]["fr"]
    # Each delegation hears of its own answers only, once per answer.
    france = messages[events.delegation_group(world["meeting"].pk, world["france"].pk)]["html"]["en"]
    assert france.count("answer-status-q") == 1 and "Germany" not in france
    assert f"answer-status-q{world['first'].pk}" in messages[events.delegation_group(world["meeting"].pk, world["germany"].pk)]["html"]["en"]


@pytest.mark.django_db
def test_with_every_socket_in_this_process_a_group_renders_only_its_sockets_languages():
    world = two_questions_three_delegations()
    submit(world, "fr", "first", "Draft of France", "a")
    submit(world, "de", "first", "Germany's view", "b")
    batch = list(Event.objects.order_by("seq"))
    console = events.group_name(world["meeting"].pk, events.CONSOLE)
    france = events.delegation_group(world["meeting"].pk, world["france"].pk)

    known = {console: frozenset({"fr"}), france: frozenset({"en", "fr"})}
    asked = []
    messages = dict(live_broadcaster.messages_for(batch, listeners=lambda groups: asked.append(groups) or known))

    assert set(messages) == {console, france}  # Germany's delegation has no socket open: nothing rendered
    assert set(messages[console]["html"]) == {"fr"} and "1 délégation n’a pas encore répondu" in messages[console]["html"]["fr"]
    assert '<p class="missing-list">Japon</p>' in messages[console]["html"]["fr"]  # who, in the console's language
    assert set(messages[france]["html"]) == {"en", "fr"}
    assert asked == [{console, france, events.delegation_group(world["meeting"].pk, world["germany"].pk)}]  # once per run
    assert live_broadcaster.messages_for(batch, listeners=lambda groups: {}) == []


@pytest.mark.django_db
def test_events_between_answers_keep_their_place():
    world = two_questions_three_delegations()
    submit(world, "fr", "first", "One", "a")
    services.set_question_status(user=world["chair"], question=world["second"], status="closed")
    submit(world, "de", "first", "Two", "b")
    batch = list(Event.objects.order_by("seq"))

    sent = [(group.rsplit(".", 1)[-1], message["seq"]) for group, message in live_broadcaster.messages_for(batch)]

    seqs = [seq for _group, seq in sent]
    assert seqs == sorted(seqs) and set(seqs) == {1, 2, 3}  # three runs, in order


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("sockets_closed_before_the_loop_ends")
async def test_a_burst_reaches_the_console_as_one_message_and_each_delegation_once():
    world = await database_sync_to_async(two_questions_three_delegations)()
    for who, question, key in (("fr", "first", "a"), ("de", "first", "b"), ("jp", "second", "c")):
        await database_sync_to_async(submit)(world, who, question, f"Answer {key}", key)
    await live_events_sent()
    console, _, _ = await open_socket(console_path(world["meeting"]), world["chair"])
    france, _, _ = await open_socket(delegate_path(world["meeting"]), world["fr2"])
    batch = await database_sync_to_async(lambda: list(Event.objects.order_by("seq")))()

    broadcaster = Broadcaster.of(asyncio.get_running_loop())
    for event in batch:  # committed together: queued before the broadcaster gets to run
        broadcaster.add(event)

    html = await console.receive_from(timeout=2)
    assert len(cards(html)) == 3 and f'data-seq="{batch[-1].seq}"' in html
    assert await console.receive_nothing(timeout=0.3)
    assert "answer-status-q" in await france.receive_from(timeout=2)
    assert await france.receive_nothing(timeout=0.3)
    await console.disconnect()
    await france.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("sockets_closed_before_the_loop_ends")
async def test_an_answer_submitted_under_the_server_loop_reaches_the_console_without_a_render_in_the_request():
    world = await database_sync_to_async(two_questions_three_delegations)()
    console, _, _ = await open_socket(console_path(world["meeting"]), world["chair"])

    stored = await database_sync_to_async(submit)(world, "fr", "first", "Sent from a worker thread", "a")

    html = await console.receive_from(timeout=2)
    assert f'id="answer-{stored.pk}"' in html and "Sent from a worker thread" in html
    await console.disconnect()


async def drained(socket) -> None:
    await live_events_sent()
    while not await socket.receive_nothing(timeout=0.2):
        await socket.receive_from()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("sockets_closed_before_the_loop_ends")
async def test_answers_rendered_by_the_thread_that_stored_them_reach_the_console_before_what_was_committed_after(monkeypatch):
    world = await database_sync_to_async(two_questions_three_delegations)()
    console, _, _ = await open_socket(console_path(world["meeting"]), world["chair"])
    loop = asyncio.get_running_loop()
    renders, storing = [], []  # (thread, whether that thread was storing the answer at the time)
    real_messages_for = live_broadcaster.messages_for

    def stored_in_a_batch_thread():
        storing.append(threading.get_ident())
        with events.rendered_in_this_thread():
            answer = submit(world, "fr", "first", "Rendered where it was stored", "a")
        storing.clear()
        return answer

    def noted(batch, listeners=None):
        renders.append(threading.get_ident() in storing)
        return real_messages_for(batch, listeners)

    monkeypatch.setattr(live_broadcaster, "messages_for", noted)
    stored = await database_sync_to_async(stored_in_a_batch_thread)()
    html = await console.receive_from(timeout=2)
    monkeypatch.undo()
    assert f'id="answer-{stored.pk}"' in html and "Rendered where it was stored" in html
    assert renders == [True]  # once, by the thread that stored it, before it went on

    # A place is kept: what is committed while a batch renders goes out after it.
    answer_event, closing = await database_sync_to_async(lambda: (
        submit(world, "de", "first", "Germany's view", "b"),
        services.set_question_status(user=world["chair"], question=world["second"], status="closed"),
        list(Event.objects.order_by("-seq")[:2])[::-1],
    )[-1])()  # fmt: skip
    await drained(console)  # their own broadcasts; now the same events again, as from a batch thread
    broadcaster = Broadcaster.of(loop)
    rendering = live_broadcaster.Rendering([answer_event])
    broadcaster.add_rendering(rendering)
    broadcaster.add_all([closing])
    assert await console.receive_nothing(timeout=0.3)  # the closing waits for the answers' render
    rendering.messages.set_result(await database_sync_to_async(live_broadcaster.messages_for)([answer_event]))
    first, second = await console.receive_from(timeout=2), await console.receive_from(timeout=2)
    assert "Germany&#x27;s view" in first and f'data-seq="{answer_event.seq}"' in first
    assert f'data-seq="{closing.seq}"' in second

    # A render that failed in its thread is done by the broadcaster instead.
    answer_event = await database_sync_to_async(lambda: (submit(world, "jp", "first", "Japan's view", "c"), Event.objects.latest("seq"))[-1])()
    await drained(console)
    rendering = live_broadcaster.Rendering([answer_event])
    broadcaster.add_rendering(rendering)
    rendering.messages.set_result(None)
    assert "Japan&#x27;s view" in await console.receive_from(timeout=2)

    # A render thread stopped by more than an error (say, the server shutting down) still gives its
    # place back: the broadcaster renders the answer, and what follows is not held behind it.
    class Interrupted(BaseException):
        pass

    def interrupted(batch, listeners=None):
        if threading.get_ident() in storing:
            raise Interrupted
        return real_messages_for(batch, listeners)

    def stored_then_interrupted():
        storing.append(threading.get_ident())
        try:
            with events.rendered_in_this_thread():
                submit(world, "jp", "first", "Stored before the interruption", "d")
        except Interrupted:
            pass
        storing.clear()

    monkeypatch.setattr(live_broadcaster, "messages_for", interrupted)
    await database_sync_to_async(stored_then_interrupted)()
    assert "Stored before the interruption" in await console.receive_from(timeout=2)
    await console.disconnect()


@pytest.mark.django_db
def test_a_delegate_back_after_many_answers_of_others_replays_only_its_own(django_assert_num_queries, monkeypatch):
    """A delegate's page sees few of the meeting's events: a long gap of other delegations' answers
    (more than REPLAY_LIMIT) costs neither a full render nor a query per event."""
    from sessions_app.live import partials, resync

    monkeypatch.setattr(events, "REPLAY_LIMIT", 10)
    world = two_questions_three_delegations()
    for number in range(20):
        question = QuestionFactory(session=world["first"].session)
        submit({**world, "q": question}, "de", "q", f"German answer {number}", f"de{number}")
        submit({**world, "q": question}, "jp", "q", f"Japanese answer {number}", f"jp{number}")
    meeting = world["meeting"]
    france = {events.group_name(meeting.pk, events.DELEGATE), events.delegation_group(meeting.pk, world["france"].pk)}

    with django_assert_num_queries(2):  # the meeting, the missed events that concern France
        current, messages = resync.catch_up(meeting_id=meeting.pk, after=0, groups=france, full_render=lambda: "FULL")
    assert current == 40 and messages == [partials.seq_marker(40, through=True)]
    # The console, which sees every event, gets its page afresh after the same gap.
    _current, console = resync.catch_up(
        meeting_id=meeting.pk, after=0, groups={events.group_name(meeting.pk, events.CONSOLE)}, full_render=lambda: "FULL"
    )
    assert console == [partials.seq_marker(40, through=True) + "FULL"]

    submit(world, "fr2", "first", "France's own", "fr")
    services.save_practice(user=world["fr"], session=world["first"].session, title="VIGINUM", description="D", link="",
                           question=None, paragraph=None, themes=[], key="p1")
    _current, messages = resync.catch_up(meeting_id=meeting.pk, after=0, groups=france, full_render=lambda: "FULL")
    assert "FULL" not in "".join(messages)
    assert f"answer-status-q{world['first'].pk}" in messages[0] and "VIGINUM" in messages[1]



@pytest.mark.django_db
def test_in_a_meeting_that_publishes_answers_a_returning_delegate_gets_the_others_published_answers():
    from sessions_app.live import resync

    world = two_questions_three_delegations()
    meeting = world["meeting"]
    meeting.answer_visibility = "published"
    meeting.save()
    german = submit(world, "de", "first", "German view, published", "de")
    services.moderate_answer(user=world["chair"], answer=german, action="publish")
    france = {events.group_name(meeting.pk, events.DELEGATE), events.delegation_group(meeting.pk, world["france"].pk)}

    _current, messages = resync.catch_up(meeting_id=meeting.pk, after=0, groups=france, full_render=lambda: "FULL")

    assert any("German view, published" in html for html in messages)


@pytest.mark.django_db(transaction=True)
def test_a_render_that_meets_a_broken_database_connection_is_tried_again():
    from django.db import connection

    world = two_questions_three_delegations()
    stored = submit(world, "fr", "first", "Still shown", "a")
    batch = list(Event.objects.order_by("seq"))
    connection.ensure_connection()
    connection.connection.close()  # the connection dies under Django's feet, as a dropped socket would

    messages = dict(live_broadcaster.messages_for(batch))

    console = messages[events.group_name(world["meeting"].pk, events.CONSOLE)]["html"]["en"]
    assert f'id="answer-{stored.pk}"' in console and "Still shown" in console


@pytest.mark.django_db
def test_a_run_over_several_questions_makes_the_queries_of_one_answer(django_assert_num_queries):
    """Cards, tallies and published answers of a run are read a query each, however many answers and
    questions it covers: the render keeps up with a room answering every question at once."""
    world = two_questions_three_delegations()
    world["meeting"].answer_visibility = Meeting.AnswerVisibility.PUBLISHED
    world["meeting"].save()
    submit(world, "fr", "first", "Draft of France", "a")
    one = list(Event.objects.order_by("seq"))
    with CaptureQueriesContext(connection) as single:
        live_broadcaster.messages_for(one)
    for who, question, key in [("de", "first", "b"), ("jp", "second", "c"), ("fr", "second", "d"), ("de", "second", "e")]:
        submit(world, who, question, f"Answer {key}", key)
    run = list(Event.objects.filter(seq__gt=one[-1].seq).order_by("seq"))

    with django_assert_num_queries(len(single)):
        messages = dict(live_broadcaster.messages_for(run))

    console = messages[events.group_name(world["meeting"].pk, events.CONSOLE)]["html"]["en"]
    assert len(cards(console)) == 4 and console.count('class="tally"') == 2
    assert "2 of 3 delegations answered" in console and "3 of 3 delegations answered" in console
    delegates = messages[events.group_name(world["meeting"].pk, events.DELEGATE)]["html"]["en"]
    assert f'id="published-q{world["first"].pk}"' in delegates and f'id="published-q{world["second"].pk}"' in delegates


@pytest.mark.django_db
def test_a_moderation_or_a_discussion_change_queries_once_however_many_languages(settings):
    """The room screen's and a moderated answer's fragments are queried once and rendered per language:
    adding a language adds templates, not queries."""
    world = two_questions_three_delegations()
    answer = submit(world, "fr", "first", "Draft of France", "a")
    services.moderate_answer(user=world["chair"], answer=answer, action="star")
    services.set_discussion(user=world["chair"], meeting=world["meeting"], question=world["first"])
    batch = list(Event.objects.filter(type__in=[events.ANSWER_MODERATED, events.DISCUSSION_CHANGED]).order_by("seq"))

    def queries_and_screen(languages):
        settings.LANGUAGES = languages
        with CaptureQueriesContext(connection) as queries:
            messages = live_broadcaster.messages_for(batch)
        screens = [message["html"] for group, message in messages if group == events.group_name(world["meeting"].pk, events.SCREEN)]
        return len(queries), screens

    one, _screens = queries_and_screen([("en", "English")])
    two, screens = queries_and_screen([("en", "English"), ("fr", "Français")])
    assert one == two
    assert len(screens) == 2 and all(set(html) == {"en", "fr"} and "Draft of France" in html["fr"] for html in screens)


def test_a_broadcast_for_a_meeting_travels_as_one_bundle_and_a_users_own_message_keeps_its_place():
    def message(group, seq):
        return (group, {"type": "live.fragment", "group": group, "seq": seq, "html": {"en": f"<p>{seq}</p>"}})

    messages = [message("meeting.1.console", 1), message("meeting.1.delegation.2", 1), message("meeting.1.delegation.3", 1),
                message("user.5", 2), message("meeting.1.delegate", 3), message("meeting.2.console", 4)]  # fmt: skip

    sent = [(target, [(fragment["group"], fragment["seq"]) for fragment in (m["fragments"] if m["type"] == "live.bundle" else [m])])
            for target, m in live_broadcaster.bundled(messages)]  # fmt: skip

    assert sent == [
        ("meeting.1.live", [("meeting.1.console", 1), ("meeting.1.delegation.2", 1), ("meeting.1.delegation.3", 1)]),
        ("user.5", [("user.5", 2)]),
        ("meeting.1.live", [("meeting.1.delegate", 3)]),
        ("meeting.2.live", [("meeting.2.console", 4)]),
    ]
    assert events.bundle_group(1) == "meeting.1.live"



@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("sockets_closed_before_the_loop_ends")
async def test_what_is_built_before_anyone_watches_is_stored_with_its_numbers_and_sent_to_no_socket():
    """load_demo builds the demo inside events.stored_only(): the events exist (a page resyncs from
    them) but none is rendered and sent; outside it, the next change goes out again."""
    world = await database_sync_to_async(two_questions_three_delegations)()
    console, _, _ = await open_socket(console_path(world["meeting"]), world["chair"])

    def built_quietly():
        with events.stored_only():
            return submit(world, "fr", "first", "Built by the demo", "a")

    await database_sync_to_async(built_quietly)()
    await live_events_sent()
    assert await console.receive_nothing(timeout=0.3)
    assert await database_sync_to_async(lambda: list(Event.objects.values_list("seq", flat=True)))() == [1]

    await database_sync_to_async(submit)(world, "de", "first", "Sent to the console", "b")
    html = await console.receive_from(timeout=2)
    assert "Sent to the console" in html and 'data-seq="2"' in html and "Built by the demo" not in html
    await console.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("sockets_closed_before_the_loop_ends")
async def test_without_the_live_package_connected_an_event_is_stored_with_its_number_and_sent_to_no_socket():
    """The domain records events through events.py alone: with no live package to send them (as
    before AppConfig.ready), a change is stored with its event; once connected, the next goes out."""
    world = await database_sync_to_async(two_questions_three_delegations)()
    console, _, _ = await open_socket(console_path(world["meeting"]), world["chair"])
    events.connect_live(None)
    try:
        await database_sync_to_async(submit)(world, "fr", "first", "Stored only", "a")
    finally:
        events.connect_live(live_broadcaster)
    await live_events_sent()
    assert await console.receive_nothing(timeout=0.3)
    assert await database_sync_to_async(lambda: list(Event.objects.values_list("seq", "type")))() == [(1, events.ANSWER_SAVED)]

    await database_sync_to_async(submit)(world, "de", "first", "Sent to the console", "b")
    html = await console.receive_from(timeout=2)
    assert "Sent to the console" in html and 'data-seq="2"' in html
    await console.disconnect()
