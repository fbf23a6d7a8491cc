"""WebSocket behaviour through the real ASGI stack: who may connect, what arrives, what is refused."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer

from sessions_app import events, services
from sessions_app.live import fanout

from .factories import DelegationFactory, QuestionFactory, make_chair, make_delegate, make_participant
from .live_helpers import close_code, connected_socket, console_path, delegate_path, open_socket, receive_until, screen_path

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.usefixtures("sockets_closed_before_the_loop_ends")]


@database_sync_to_async
def setup_meeting():
    france, germany = DelegationFactory(country="FR"), DelegationFactory(country="DE")
    question = QuestionFactory()
    question.session.number = 1
    question.session.save()
    question.session.meeting.delegations.add(france, germany)
    return {
        "question": question,
        "meeting": question.session.meeting,
        "fr": make_delegate(france),
        "fr2": make_delegate(france),
        "de": make_delegate(germany),
        "chair": make_chair(),
    }


submit = database_sync_to_async(services.submit_answer)


async def test_anonymous_socket_is_refused():
    world = await setup_meeting()
    communicator, connected, code = await open_socket(console_path(world["meeting"]))
    assert (connected, code) == (False, 4401)


async def test_foreign_origin_is_refused():
    world = await setup_meeting()
    communicator, connected, _code = await open_socket(console_path(world["meeting"]), world["chair"], origin=b"https://evil.example")
    assert connected is False


async def test_delegate_cannot_open_the_console_socket():
    world = await setup_meeting()
    communicator, connected, code = await open_socket(console_path(world["meeting"]), world["fr"])
    assert (connected, code) == (False, 4403)


async def test_unknown_meeting_or_session_is_refused():
    world = await setup_meeting()
    _c, connected, code = await open_socket("/ws/meetings/nope/sessions/1/delegate/", world["fr"])
    assert (connected, code) == (False, 4403)
    _c, connected, code = await open_socket(delegate_path(world["meeting"], 7), world["fr"])
    assert (connected, code) == (False, 4403)


async def test_answer_reaches_console_and_own_delegation_only():
    world = await setup_meeting()
    console, ok1, _ = await open_socket(console_path(world["meeting"]), world["chair"])
    colleague, ok2, _ = await open_socket(delegate_path(world["meeting"]), world["fr2"])
    other, ok3, _ = await open_socket(delegate_path(world["meeting"]), world["de"])
    assert (ok1, ok2, ok3) == (True, True, True)
    stored = await submit(user=world["fr"], question=world["question"], kind="answer", text="<script>x</script> Our view", key="k")

    html = await console.receive_from(timeout=2)
    assert f'id="answer-{stored.pk}"' in html
    assert f'hx-swap-oob="beforeend:#answers-q{world["question"].pk}"' in html
    assert "&lt;script&gt;x&lt;/script&gt; Our view" in html and "<script>x" not in html
    assert "1 of 2 delegations answered" in html
    assert 'data-seq="1"' in html

    colleague_html = await colleague.receive_from(timeout=2)
    assert f'id="answer-status-q{world["question"].pk}"' in colleague_html
    assert "Our view" not in colleague_html  # the status line, not the text, so a colleague's typing is not overwritten
    assert await other.receive_nothing(timeout=0.2)
    for communicator in (console, colleague, other):
        await communicator.disconnect()


async def test_moderation_reaches_every_console_and_the_screen():
    world = await setup_meeting()
    stored = await submit(user=world["fr"], question=world["question"], kind="answer", text="Key idea", key="k")
    await database_sync_to_async(services.set_discussion)(user=world["chair"], meeting=world["meeting"], question=world["question"])
    second_chair = await database_sync_to_async(make_chair)()
    console_a, _, _ = await open_socket(console_path(world["meeting"]), world["chair"])
    console_b, _, _ = await open_socket(console_path(world["meeting"]), second_chair)
    screen, _, _ = await open_socket(screen_path(world["meeting"]), world["chair"])

    await database_sync_to_async(services.moderate_answer)(user=world["chair"], answer=stored, action="star")

    for console in (console_a, console_b):
        html = await console.receive_from(timeout=2)
        # An update replaces the existing card in place (htmx needs the id on the swapped element).
        assert f'id="answer-{stored.pk}" aria-labelledby="answer-{stored.pk}-who" hx-swap-oob="true"' in html
        assert "Key point" in html
    screen_html = await screen.receive_from(timeout=2)
    assert "Key idea" in screen_html and "France" in screen_html
    for communicator in (console_a, console_b, screen):
        await communicator.disconnect()


async def test_screen_has_no_attribution_under_chatham_house():
    world = await setup_meeting()
    meeting = world["meeting"]
    meeting.attribution = "chatham"
    await database_sync_to_async(meeting.save)()
    stored = await submit(user=world["fr"], question=world["question"], kind="answer", text="Key idea", key="k")
    await database_sync_to_async(services.set_discussion)(user=world["chair"], meeting=meeting, question=world["question"])
    screen, _, _ = await open_socket(screen_path(meeting), world["chair"])
    await database_sync_to_async(services.moderate_answer)(user=world["chair"], answer=stored, action="star")
    html = await screen.receive_from(timeout=2)
    assert "Key idea" in html and "France" not in html
    await screen.disconnect()


async def test_question_status_and_discussion_reach_delegates():
    world = await setup_meeting()
    delegate, _, _ = await open_socket(delegate_path(world["meeting"]), world["fr"])
    await database_sync_to_async(services.set_question_status)(user=world["chair"], question=world["question"], status="closed")
    html = await delegate.receive_from(timeout=2)
    assert f'id="qstatus-{world["question"].pk}" data-status="closed"' in html
    await database_sync_to_async(services.set_discussion)(user=world["chair"], meeting=world["meeting"], question=world["question"])
    html = await delegate.receive_from(timeout=2)
    assert 'id="now-discussing"' in html and f'data-question-id="{world["question"].pk}"' in html
    await delegate.disconnect()


async def test_practice_reaches_the_console_feed():
    world = await setup_meeting()
    console, _, _ = await open_socket(console_path(world["meeting"]), world["chair"])
    await database_sync_to_async(services.save_practice)(
        user=world["fr"], session=world["question"].session, title="RESIST toolkit", description="Training.", key="p"
    )
    html = await console.receive_from(timeout=2)
    assert 'hx-swap-oob="afterbegin:#practices-feed"' in html and "RESIST toolkit" in html
    await console.disconnect()


async def test_reconnect_replays_what_was_missed():
    world = await setup_meeting()
    first = await submit(user=world["fr"], question=world["question"], kind="answer", text="Before", key="a")
    console, _, _ = await open_socket(console_path(world["meeting"]), world["chair"])
    await console.send_to(text_data=json.dumps({"type": "resync", "after": 1}))
    assert await console.receive_nothing(timeout=0.2)  # nothing new since 1
    await console.disconnect()

    # While the console is away: a new answer, an edit and a moderation.
    second = await submit(user=world["de"], question=world["question"], kind="answer", text="While away", key="b")
    await submit(user=world["fr"], question=world["question"], kind="answer", text="Edited while away", key="c")
    await database_sync_to_async(services.moderate_answer)(user=world["chair"], answer=first, action="publish")

    console, _, _ = await open_socket(console_path(world["meeting"]), world["chair"])
    await console.send_to(text_data=json.dumps({"type": "resync", "after": 1}))
    messages = []
    while not await console.receive_nothing(timeout=0.3):
        messages.append(await console.receive_from())
    joined = "".join(messages)
    assert f'beforeend:#answers-q{world["question"].pk}' in joined and "While away" in joined
    assert f'id="answer-{first.pk}" aria-labelledby' in joined and "Edited while away" in joined and "Published" in joined
    assert 'data-seq="4"' in messages[-1]
    assert second.pk != first.pk
    await console.disconnect()


async def test_reconnect_after_a_long_gap_gets_a_fresh_render(settings):
    world = await setup_meeting()
    from sessions_app import events

    events.REPLAY_LIMIT, saved = 1, events.REPLAY_LIMIT
    try:
        await submit(user=world["fr"], question=world["question"], kind="answer", text="One", key="a")
        await submit(user=world["de"], question=world["question"], kind="answer", text="Two", key="b")
        console, _, _ = await open_socket(console_path(world["meeting"]), world["chair"])
        await console.send_to(text_data=json.dumps({"type": "resync", "after": 0}))
        html = await console.receive_from(timeout=2)
        assert 'id="console-live"' in html and "One" in html and "Two" in html and 'data-seq="2"' in html
        await console.disconnect()
    finally:
        events.REPLAY_LIMIT = saved


async def test_a_delegates_fresh_render_after_a_long_gap_shows_its_own_delegations_answers(settings):
    """The open socket keeps only its user's id (consumers.SocketUser): the fresh render reads the user,
    its participant and its delegation again, and shows that delegation's answer, not another's."""
    world = await setup_meeting()
    from sessions_app import events

    events.REPLAY_LIMIT, saved = 1, events.REPLAY_LIMIT
    try:
        socket, _, _ = await open_socket(delegate_path(world["meeting"]), world["fr"])
        # Two events for this delegation (more than the replay limit): the resync renders the live parts afresh.
        await submit(user=world["fr"], question=world["question"], kind="answer", text="A first draft", key="a")
        await submit(user=world["fr"], question=world["question"], kind="answer", text="Our own practice", key="c")
        await submit(user=world["de"], question=world["question"], kind="answer", text="Their practice", key="b")
        await socket.send_to(text_data=json.dumps({"type": "resync", "after": 0}))
        html = await receive_until(socket, "data-through", timeout=3)
        assert 'id="questions-live"' in html  # the fresh render, not a replay
        assert "Our own practice" in html and "Their practice" not in html
        await socket.disconnect()
    finally:
        events.REPLAY_LIMIT = saved


@pytest.mark.parametrize(
    "frame",
    ["not json", json.dumps({"no": "type"}), json.dumps({"type": "resync", "after": "x"}), json.dumps(["list"])],
)
async def test_malformed_frame_closes_only_that_socket(frame):
    world = await setup_meeting()
    bad, _, _ = await open_socket(delegate_path(world["meeting"]), world["fr"])
    good, _, _ = await open_socket(delegate_path(world["meeting"]), world["fr2"])
    await bad.send_to(text_data=frame)
    assert (await bad.receive_output(timeout=2))["type"] == "websocket.close"
    await database_sync_to_async(services.set_question_status)(user=world["chair"], question=world["question"], status="closed")
    assert "qstatus" in await good.receive_from(timeout=2)
    await good.disconnect()


async def test_oversized_frame_closes_the_socket():
    world = await setup_meeting()
    delegate, _, _ = await open_socket(delegate_path(world["meeting"]), world["fr"])
    await delegate.send_to(text_data=json.dumps({"type": "resync", "after": 0, "pad": "x" * 20000}))
    output = await delegate.receive_output(timeout=2)
    assert (output["type"], output["code"]) == ("websocket.close", 1009)


async def test_chair_action_sent_over_a_delegate_socket_is_refused():
    world = await setup_meeting()
    delegate, _, _ = await open_socket(delegate_path(world["meeting"]), world["fr"])
    await delegate.send_to(text_data=json.dumps({"type": "question.close", "question": world["question"].pk}))
    html = await delegate.receive_from(timeout=2)
    assert 'id="live-notice"' in html and "not available" in html
    question = await database_sync_to_async(type(world["question"]).objects.get)(pk=world["question"].pk)
    assert question.status == "open"
    await delegate.disconnect()


async def test_a_sockets_messages_open_no_new_database_connection():
    """Channels closes old connections before every message a consumer handles; ours keep the one
    socket_database holds (a new SQLite connection reads the schema again, with an empty cache)."""
    from django.db import connection
    from django.db.backends.signals import connection_created

    if connection.vendor != "sqlite":
        pytest.skip("SQLite only: PostgreSQL's connection goes back to its pool after each call")
    world = await setup_meeting()
    await submit(user=world["fr"], question=world["question"], kind="answer", text="Key idea", key="k")
    delegate, _, _ = await open_socket(delegate_path(world["meeting"]), world["fr"])
    opened = []
    connection_created.connect(receiver := lambda **kwargs: opened.append(kwargs["connection"]))
    try:
        for _ in range(3):  # each replays the meeting's events: the database, on the sockets' thread
            await delegate.send_to(text_data=json.dumps({"type": "resync", "after": 0}))
            assert await delegate.receive_from(timeout=2)
    finally:
        connection_created.disconnect(receiver)
    assert opened == []
    await delegate.disconnect()


async def test_observer_gets_the_delegate_feed_but_not_the_console():
    world = await setup_meeting()
    observer = await database_sync_to_async(make_participant)(role="observer", meetings=[world["meeting"]])
    _c, connected, code = await open_socket(console_path(world["meeting"]), observer)
    assert (connected, code) == (False, 4403)
    screen, connected, _ = await open_socket(screen_path(world["meeting"]), observer)
    assert connected
    await screen.disconnect()


class GoneSocket:
    """A socket whose client went away before its disconnect reached the consumer: Uvicorn raises."""

    language, accepted, direct = "en", True, None

    def text_of(self, html):
        return html[self.language]

    async def send(self, text_data=None):
        from uvicorn.protocols.utils import ClientDisconnected

        raise ClientDisconnected()


async def screen_after_a_broadcast_with(odd_socket) -> tuple[dict, object, str, object]:
    """A room screen that heard a broadcast (an answer starred) which `odd_socket`, first in the
    screen's group of the hub, was to get before it: (world, hub, group, screen)."""
    from channels.layers import get_channel_layer

    from sessions_app import events
    from sessions_app.live import fanout

    world = await setup_meeting()
    meeting = world["meeting"]
    world["stored"] = await submit(user=world["fr"], question=world["question"], kind="answer", text="Key idea", key="k")
    await database_sync_to_async(services.set_discussion)(user=world["chair"], meeting=meeting, question=world["question"])
    hub = fanout.hub_for(get_channel_layer())
    group = events.group_name(meeting.pk, events.SCREEN)
    await hub.join(group, odd_socket)  # first in the group, so it is written to first
    screen, connected, _ = await open_socket(screen_path(meeting), world["chair"])
    assert connected
    await database_sync_to_async(services.moderate_answer)(user=world["chair"], answer=world["stored"], action="star")
    assert "Key idea" in await receive_until(screen, "Key idea")
    return world, hub, group, screen


async def test_a_socket_that_went_away_does_not_cost_the_others_a_broadcast():
    gone = GoneSocket()
    world, hub, group, screen = await screen_after_a_broadcast_with(gone)
    await database_sync_to_async(services.moderate_answer)(user=world["chair"], answer=world["stored"], action="unstar")
    assert "Key idea" not in await screen.receive_from(timeout=2)  # the gone socket was dropped; the next broadcast arrives too
    assert gone not in hub.members[group]
    await hub.leave(group, gone)
    await screen.disconnect()


class JoiningSocket(GoneSocket):
    """A socket that has joined its groups and is not yet accepted: nothing may be sent to it yet."""

    accepted = False

    async def send(self, text_data=None):
        raise AssertionError("sent to before the handshake")


async def test_a_socket_not_yet_accepted_is_skipped_and_kept_in_its_group():
    joining = JoiningSocket()
    _world, hub, group, screen = await screen_after_a_broadcast_with(joining)
    assert joining in hub.members[group]  # once accepted, it gets the next broadcasts; its resync replays this one
    await hub.leave(group, joining)
    await screen.disconnect()


async def test_a_later_resync_rechecks_the_role_and_closes_a_console_no_longer_allowed(monkeypatch):
    from sessions_app.live import consumers
    from sessions_app.models import Participant

    world = await setup_meeting()
    console, connected, _ = await open_socket(console_path(world["meeting"]), world["chair"])
    assert connected
    await console.send_to(text_data=json.dumps({"type": "resync", "after": 0}))  # the page's first: no re-check
    assert await console.receive_nothing(timeout=0.3)  # nothing missed, and still open
    await database_sync_to_async(Participant.objects.filter(user=world["chair"]).update)(role=Participant.Role.OBSERVER)
    monkeypatch.setattr(consumers, "RECHECK_AFTER_S", 0)

    await console.send_to(text_data=json.dumps({"type": "resync", "after": 0}))

    output = await console.receive_output(timeout=2)
    assert (output["type"], output["code"]) == ("websocket.close", 4403)


async def test_a_broadcast_knows_each_groups_languages_and_a_late_joiner_gets_another_language_once():
    world = await setup_meeting()
    await database_sync_to_async(lambda: type(world["de"].participant).objects.filter(user=world["de"]).update(language="fr"))()
    layer, loop = get_channel_layer(), asyncio.get_running_loop()
    console, _ok, _ = await open_socket(console_path(world["meeting"]), world["chair"])
    german, _ok, _ = await open_socket(delegate_path(world["meeting"]), world["de"])
    meeting_id = world["meeting"].pk
    delegation = (await database_sync_to_async(lambda: world["de"].participant.delegation_id)())
    groups = {events.group_name(meeting_id, events.CONSOLE), events.group_name(meeting_id, events.DELEGATE),
              events.delegation_group(meeting_id, delegation), events.delegation_group(meeting_id, delegation + 1000)}
    # Looked up as a broadcast does: in its worker thread, once the events are committed.
    listening = await sync_to_async(fanout.listeners(layer, loop), thread_sensitive=False)(groups)
    assert listening[events.group_name(meeting_id, events.CONSOLE)] == {"en"}
    assert listening[events.group_name(meeting_id, events.DELEGATE)] == {"fr"}
    assert listening[events.delegation_group(meeting_id, delegation)] == {"fr"}
    if isinstance(layer, InMemoryChannelLayer):  # every socket is in this process: a group with none gets nothing
        assert events.delegation_group(meeting_id, delegation + 1000) not in listening
    else:  # Redis knows no language of this group (none, or lost): every language, never fewer messages
        assert listening[events.delegation_group(meeting_id, delegation + 1000)] == {"en", "fr"}
    # A fragment rendered before this French socket joined, in English only, still reaches it.
    await layer.group_send(events.group_name(meeting_id, events.DELEGATE), {"type": "live.fragment", "group": events.group_name(meeting_id, events.DELEGATE), "seq": 0, "html": {"en": "<p>only English</p>"}})
    assert "only English" in await receive_until(german, "only English")
    await german.disconnect()
    await asyncio.sleep(0.05)
    if isinstance(layer, InMemoryChannelLayer):
        after = await sync_to_async(fanout.listeners(layer, loop), thread_sensitive=False)(groups)
        assert events.group_name(meeting_id, events.DELEGATE) not in after
    await console.disconnect()


async def test_a_render_whose_loop_does_not_answer_renders_every_language_instead_of_waiting(monkeypatch):
    """With Redis, a render asks the server's loop for its groups' languages. A loop that is shutting
    down (or stuck) must cost the render its language filter, not its thread: it waited forever."""
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        pytest.skip("channels-redis only (the PostgreSQL + Redis pass): the in-memory lookup does not use the loop")
    monkeypatch.setattr(fanout, "LANGUAGES_LOOKUP_S", 0.2)

    def render_thread():
        stalled = asyncio.new_event_loop()  # never running, like a loop past its last iteration
        try:
            languages = fanout.listeners(layer, stalled)({"meeting.1.console"})
            stalled.run_until_complete(asyncio.sleep(0))  # the abandoned lookup is cancelled, not left unawaited
            return languages
        finally:
            stalled.close()

    assert await asyncio.wait_for(asyncio.to_thread(render_thread), timeout=5) is None


async def test_switching_to_chatham_house_rerenders_the_screen_without_names():
    from sessions_app.meeting_settings.services import change_meeting_settings

    from .factories import make_secretariat

    world = await setup_meeting()
    meeting = world["meeting"]
    stored = await submit(user=world["fr"], question=world["question"], kind="answer", text="Key idea", key="k")
    await database_sync_to_async(services.set_discussion)(user=world["chair"], meeting=meeting, question=world["question"])
    await database_sync_to_async(services.moderate_answer)(user=world["chair"], answer=stored, action="star")
    screen, _, _ = await open_socket(screen_path(meeting), world["chair"])
    secretariat = await database_sync_to_async(make_secretariat)()
    await database_sync_to_async(change_meeting_settings)(
        user=secretariat, meeting=meeting, values={"attribution": "chatham", "answer_visibility": meeting.answer_visibility})
    html = await screen.receive_from(timeout=2)
    assert 'id="screen-main"' in html and "Key idea" in html
    assert 'id="opinion-screen"' in html  # the opinion round's part too, whose group tables name delegations
    assert "France" not in html
    await screen.disconnect()


async def a_published_answer_seen_by_germany():
    """France's answer published in a meeting whose answers are published; Germany's page open."""
    world = await setup_meeting()
    meeting = world["meeting"]
    meeting.answer_visibility = "published"
    await database_sync_to_async(meeting.save)()
    stored = await submit(user=world["fr"], question=world["question"], kind="answer", text="Shared idea", key="k")
    await database_sync_to_async(services.moderate_answer)(user=world["chair"], answer=stored, action="publish")
    delegate, _, _ = await open_socket(delegate_path(meeting), world["de"])
    return world, delegate


async def change_settings(meeting, **values):
    from sessions_app.meeting_settings.services import change_meeting_settings

    from .factories import make_secretariat

    secretariat = await database_sync_to_async(make_secretariat)()
    values = {"attribution": meeting.attribution, "answer_visibility": meeting.answer_visibility, **values}
    await database_sync_to_async(change_meeting_settings)(user=secretariat, meeting=meeting, values=values)


async def test_switching_to_chatham_house_rerenders_published_answers_for_delegates_without_names():
    world, delegate = await a_published_answer_seen_by_germany()
    await change_settings(world["meeting"], attribution="chatham")
    html = await receive_until(delegate, 'id="live-notice"', timeout=2)
    assert f'id="published-q{world["question"].pk}"' in html and "Shared idea" in html
    assert "A delegation" in html and "France" not in html
    await delegate.disconnect()


async def test_hiding_an_answer_tells_its_delegation_live_and_on_reconnect():
    world = await setup_meeting()
    stored = await submit(user=world["fr"], question=world["question"], kind="answer", text="Off topic", key="k")
    own, _, _ = await open_socket(delegate_path(world["meeting"]), world["fr2"])
    other, _, _ = await open_socket(delegate_path(world["meeting"]), world["de"])

    await database_sync_to_async(services.moderate_answer)(user=world["chair"], answer=stored, action="hide", reason="Off topic")

    html = await own.receive_from(timeout=2)
    assert f'id="answer-status-q{world["question"].pk}"' in html and "Hidden by the moderator" in html and "not deleted" in html
    assert await other.receive_nothing(timeout=0.2)
    await own.disconnect()
    # A page that was away while the chair hid it replays the moderation of its own answer only.
    back, _, _ = await open_socket(delegate_path(world["meeting"]), world["fr"])
    await back.send_to(text_data=json.dumps({"type": "resync", "after": 1}))
    assert "Hidden by the moderator" in await back.receive_from(timeout=2)
    await other.send_to(text_data=json.dumps({"type": "resync", "after": 1}))
    assert "Hidden by the moderator" not in await other.receive_from(timeout=2)
    for communicator in (back, other):
        await communicator.disconnect()


async def test_keeping_answers_to_the_chair_empties_the_published_answers_of_open_pages():
    world, delegate = await a_published_answer_seen_by_germany()

    await change_settings(world["meeting"], answer_visibility="chair")

    html = await receive_until(delegate, 'id="live-notice"', timeout=2)
    assert f'<section class="published" id="published-q{world["question"].pk}" hx-swap-oob="true">' in html
    assert "Shared idea" not in html
    assert "This page already follows them" in html and "Reload" not in html
    await delegate.disconnect()


async def test_sockets_have_no_channel_of_their_own_and_a_revocation_closes_every_socket_of_the_user():
    """Everything a socket gets comes through its process's hub, its user's revocation too: three
    sockets (two of one delegate, a console) hold no channel, queue or read of their own in the layer."""
    from sessions_app import participants

    world = await setup_meeting()
    first = await connected_socket(delegate_path(world["meeting"]), world["fr"])
    second = await connected_socket(delegate_path(world["meeting"]), world["fr"])
    console = await connected_socket(console_path(world["meeting"]), world["chair"])
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        assert list(layer.channels) == [fanout.hub_for(layer).channel]

    await database_sync_to_async(participants.deactivate_participant)(participant=world["fr"].participant)
    for socket in (first, second):
        assert await close_code(socket) == 4403
    await submit(user=world["de"], question=world["question"], kind="answer", text="Still live", key="k1")
    assert "Still live" in await receive_until(console, "Still live", timeout=3)  # the others' sockets stay live
