"""Opinion rounds: the chair's statements, delegations' proposals and votes, refusals, the analysis shown."""

import time

import pytest
from django.core.exceptions import PermissionDenied
from django.template.loader import render_to_string

from sessions_app import access, events
from sessions_app.models import Event, Meeting, Statement, StatementVote
from sessions_app.opinion import queries, services
from sessions_app.services import ActionRefused

from .factories import AnswerFactory, DelegationFactory, QuestionFactory, make_delegate
from .opinion_rooms import no_background_analysis, opinion_room  # noqa: F401 (an autouse fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def room():
    room = opinion_room()
    room["round"] = services.open_round(user=room["chair"], session=room["session"], title="Misinformation")
    return room


def statements(room, count=8):
    return [services.add_statement(user=room["chair"], round=room["round"], text=f"Statement number {i}") for i in range(1, count + 1)]


def test_a_vote_is_stored_once_and_changeable_while_open(room):
    statement, *_ = statements(room, 1)
    fr = room["delegates"][0]
    services.cast_statement_vote(user=fr, statement=statement, choice="agree")
    before = Event.objects.count()
    services.cast_statement_vote(user=fr, statement=statement, choice="agree")  # sent twice
    assert Event.objects.count() == before
    services.cast_statement_vote(user=fr, statement=statement, choice="disagree")
    assert list(StatementVote.objects.values_list("choice", flat=True)) == [StatementVote.Choice.DISAGREE]
    assert Event.objects.filter(type="opinion.voted").count() == 2


def test_votes_on_closed_or_paused_rounds_are_refused_and_nothing_stored(room):
    statement, *_ = statements(room, 1)
    for status in ("paused", "closed"):
        services.set_round_status(user=room["chair"], round=room["round"], status=status)
        with pytest.raises(ActionRefused, match="not open"):
            services.cast_statement_vote(user=room["delegates"][0], statement=statement, choice="agree")
    assert StatementVote.objects.count() == 0
    with pytest.raises(ActionRefused, match="cannot be reopened"):
        services.set_round_status(user=room["chair"], round=room["round"], status="open")


def test_a_vote_for_another_delegation_is_refused(room):
    statement, *_ = statements(room, 1)
    with pytest.raises(ActionRefused, match="your own delegation"):
        services.cast_statement_vote(user=room["delegates"][0], statement=statement, choice="agree", delegation=room["delegations"][1])
    with pytest.raises(ActionRefused, match="agree, disagree or pass"):
        services.cast_statement_vote(user=room["delegates"][0], statement=statement, choice="maybe")
    with pytest.raises(ActionRefused, match="delegates"):
        services.cast_statement_vote(user=room["chair"], statement=statement, choice="agree")
    assert StatementVote.objects.count() == 0


def test_proposals_are_moderated_before_votes_and_duplicates_refused(room):
    fr = room["delegates"][0]
    with pytest.raises(ActionRefused, match="does not take proposals"):
        services.propose_statement(user=fr, round=room["round"], text="Fact-checkers need funding")
    services.set_round_options(user=room["chair"], round=room["round"], proposals_allowed=True)
    proposed = services.propose_statement(user=fr, round=room["round"], text="Fact-checkers need funding")
    assert proposed.status == Statement.Status.PENDING
    with pytest.raises(ActionRefused, match="not open to votes"):
        services.cast_statement_vote(user=room["delegates"][1], statement=proposed, choice="agree")
    with pytest.raises(ActionRefused, match="already has this statement"):
        services.propose_statement(user=room["delegates"][1], round=room["round"], text="  fact-checkers NEED funding. ")
    services.moderate_statement(user=room["chair"], statement=proposed, approve=True)
    services.cast_statement_vote(user=room["delegates"][1], statement=proposed, choice="agree")
    assert StatementVote.objects.count() == 1
    with pytest.raises(PermissionDenied):
        services.moderate_statement(user=fr, statement=proposed, approve=False)


def test_statements_are_at_most_400_characters_and_answers_become_statements_in_one_click(room):
    with pytest.raises(ActionRefused, match="400"):
        services.add_statement(user=room["chair"], round=room["round"], text="x" * 401)
    question = QuestionFactory(session=room["session"])
    answer = AnswerFactory(question=question, delegation=room["delegations"][0], text="word " * 200)
    statement = services.add_statement_from_answer(user=room["chair"], round=room["round"], answer=answer)
    assert len(statement.text) <= 400 and statement.text.endswith("…")
    assert statement.answer == answer


def test_delegates_see_one_statement_at_a_time_with_progress(room):
    items = statements(room, 3)
    fr = room["delegations"][0]
    services.set_round_options(user=room["chair"], round=room["round"], order="chair")
    nxt = queries.next_statement(room["round"], fr)
    assert (nxt.statement, nxt.done, nxt.total) == (items[0], 0, 3)
    services.cast_statement_vote(user=room["delegates"][0], statement=items[0], choice="pass")
    nxt = queries.next_statement(room["round"], fr)
    assert (nxt.statement, nxt.done, nxt.total) == (items[1], 1, 3)


def test_priority_order_shows_the_least_voted_statement_first(room):
    items = statements(room, 2)
    for user in room["delegates"][1:4]:
        services.cast_statement_vote(user=user, statement=items[0], choice="agree")
    assert queries.next_statement(room["round"], room["delegations"][0]).statement == items[1]


def vote_two_blocs(room):
    items = statements(room, 8)
    for i, user in enumerate(room["delegates"]):
        bloc = i % 2
        for j, statement in enumerate(items):
            services.cast_statement_vote(user=user, statement=statement, choice="agree" if (j < 4) != bool(bloc) else "disagree")
    return items


def test_the_analysis_draws_groups_and_a_map_with_hostile_text_escaped(room):
    services.add_statement(user=room["chair"], round=room["round"], text='<script>alert("x")</script> & more')
    vote_two_blocs(room)
    services.analyse_round(room["round"].pk)
    room["round"].refresh_from_db()
    context = queries.round_view(room["round"], room["meeting"])
    assert [g["size"] for g in context["groups"]] == [4, 4]
    html = render_to_string("sessions_app/partials/opinion_analysis.html", context)
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert html.count('r="7"') == 8
    assert "France" in html
    assert Event.objects.filter(type="opinion.analysed").count() == 1


def test_an_analysis_of_older_votes_finishing_last_does_not_replace_a_fresher_one(room):
    """Two analyses overlap (a burst of votes, or two processes): the one that read fewer votes
    finishes last. The console must keep the fresher one, not go back to the older count."""
    items = vote_two_blocs(room)
    newcomer = DelegationFactory(country="US")
    room["meeting"].delegations.add(newcomer)
    older = services.compute_analysis(room["round"].pk)  # read before the newcomer's votes
    for statement in items:
        services.cast_statement_vote(user=make_delegate(newcomer), statement=statement, choice="agree")
    fresher = services.compute_analysis(room["round"].pk)
    assert (older["counted"], fresher["counted"]) == (8, 9)

    assert services.store_analysis(room["round"].pk, fresher) is True
    assert services.store_analysis(room["round"].pk, older) is False
    room["round"].refresh_from_db()
    assert room["round"].analysis["counted"] == 9
    assert Event.objects.filter(type="opinion.analysed").count() == 1
    # Without any vote in between, a recomputation is stored again (same freshness).
    assert services.store_analysis(room["round"].pk, services.compute_analysis(room["round"].pk)) is True


def test_chatham_house_names_no_delegation(room):
    Meeting.objects.filter(pk=room["meeting"].pk).update(attribution=Meeting.Attribution.CHATHAM_HOUSE)
    room["meeting"].refresh_from_db()
    vote_two_blocs(room)
    services.analyse_round(room["round"].pk)
    room["round"].refresh_from_db()
    html = render_to_string("sessions_app/partials/opinion_analysis.html", queries.round_view(room["round"], room["meeting"]))
    for delegation in room["delegations"]:
        assert delegation.name not in html
    assert html.count('r="7"') == 8


def test_few_votes_show_bars_and_say_why(room):
    items = statements(room, 8)
    for user in room["delegates"][:3]:
        services.cast_statement_vote(user=user, statement=items[0], choice="agree")
    services.analyse_round(room["round"].pk)
    room["round"].refresh_from_db()
    html = render_to_string("sessions_app/partials/opinion_analysis.html", queries.round_view(room["round"], room["meeting"]))
    assert "Too few delegations have voted" in html
    assert "<circle cx" not in html


def test_chair_actions_are_refused_to_delegates(room):
    with pytest.raises(PermissionDenied):
        services.add_statement(user=room["delegates"][0], round=room["round"], text="Mine")
    with pytest.raises(PermissionDenied):
        services.open_round(user=room["delegates"][0], session=room["session"], title="Mine")


@pytest.mark.django_db(transaction=True)
def test_a_stream_of_votes_is_analysed_a_few_times_and_the_last_analysis_counts_every_vote(room, settings):
    """The analysis is throttled (OPINION_ANALYSIS_DELAY between starts, one at a time): a vote cast
    while one runs is counted by the next, never lost, and analyses start at least the delay apart."""
    settings.FACILITATION = {**settings.FACILITATION, "OPINION_ANALYSIS_DELAY": 0.5}
    items = statements(room, 4)
    started = time.monotonic()
    for i, user in enumerate(room["delegates"]):  # 8 delegations x 4 statements, each vote committed on its own
        for j, statement in enumerate(items):
            services.cast_statement_vote(user=user, statement=statement, choice="agree" if (j < 2) != bool(i % 2) else "disagree")
    services.wait_for_analyses(timeout=20)
    elapsed = time.monotonic() - started
    room["round"].refresh_from_db()
    tallies = room["round"].analysis["statements"]
    assert sum(sum(tally.values()) for tally in tallies.values()) == 32 and len(tallies) == 4
    assert 1 <= Event.objects.filter(type="opinion.analysed").count() <= elapsed / 0.5 + 1


def test_a_console_back_after_a_stream_of_votes_replays_the_analysis_not_the_votes(room):
    from sessions_app import events
    from sessions_app.live import resync

    vote_two_blocs(room)  # 64 votes, each an event for the voting delegation's pages only
    services.analyse_round(room["round"].pk)
    meeting = room["meeting"]
    meeting.refresh_from_db()
    console = {events.group_name(meeting.pk, events.CONSOLE)}
    missed = events.missed_events(meeting, 0, console, events.REPLAY_LIMIT)
    assert events.OPINION_VOTED not in {event.type for event in missed} and len(missed) == 10  # the round, 8 statements, the analysis
    current, messages = resync.catch_up(meeting_id=meeting.pk, after=0, groups=console, full_render=lambda: "a full render")
    assert current == meeting.last_seq and "a full render" not in "".join(messages)
    assert any(f'id="opinion-analysis-{room["round"].pk}"' in html for html in messages)


def test_a_run_of_votes_is_stored_at_once_and_each_refusal_is_its_own(room):
    """What the vote batcher stores in one transaction: every vote as if cast alone, in order."""
    first, second = statements(room, 2)
    services.set_round_options(user=room["chair"], round=room["round"], proposals_allowed=True)
    pending = services.propose_statement(user=room["delegates"][0], round=room["round"], text="Not moderated yet")
    fr, de, jp = room["delegates"][:3]
    Vote = services.VoteSubmission
    results = services.cast_statement_votes([
        Vote(user=fr, statement_id=first.pk, choice="agree"),
        Vote(user=fr, statement_id=first.pk, choice="agree"),  # sent twice: stored once
        Vote(user=de, statement_id=pending.pk, choice="agree"),
        Vote(user=de, statement_id=first.pk, choice="agree", delegation=room["delegations"][2]),
        Vote(user=room["chair"], statement_id=first.pk, choice="agree"),
        Vote(user=jp, statement_id=second.pk, choice="maybe"),
        Vote(user=jp, statement_id=second.pk, choice="agree"),
        Vote(user=jp, statement_id=second.pk, choice="disagree"),  # changed in the same run: the last counts
    ])  # fmt: skip
    refusals = [result.message if isinstance(result, ActionRefused) else None for result in results]
    assert refusals == [None, None, "This statement is not open to votes.", "You can vote only for your own delegation.",
                        "Only a delegation's delegates can do this.", "Choose agree, disagree or pass.", None, None]
    stored = set(StatementVote.objects.values_list("statement_id", "delegation__country", "choice"))
    assert stored == {(first.pk, "FR", StatementVote.Choice.AGREE), (second.pk, "JP", StatementVote.Choice.DISAGREE)}
    assert Event.objects.filter(type="opinion.voted").count() == 3  # FR once, JP twice
    services.set_round_status(user=room["chair"], round=room["round"], status="closed")
    late = services.cast_statement_votes([Vote(user=de, statement_id=second.pk, choice="agree")])
    assert [result.message for result in late] == ["This round is not open: votes are not taken now."]


def test_a_run_of_votes_makes_the_same_queries_for_one_vote_and_for_seven(room):
    """A batch costs a few queries, not a few per vote (the live render after commit not counted)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    statement, *_ = statements(room, 1)
    votes = [services.VoteSubmission(user=user, statement_id=statement.pk, choice="agree") for user in room["delegates"]]
    for vote in votes:
        access.delegation_of(vote.user)  # cached on the user, as the request's sign-in check leaves it
    with events.stored_only(), CaptureQueriesContext(connection) as one:
        services.cast_statement_votes(votes[:1])
    with events.stored_only(), CaptureQueriesContext(connection) as seven:
        services.cast_statement_votes(votes[1:])
    assert StatementVote.objects.count() == 8
    assert len(seven.captured_queries) == len(one.captured_queries)


def test_a_late_copy_of_an_older_vote_never_replaces_a_newer_one(room):
    """A vote sent over the socket, posted again over HTTP when its ack was late, then changed: the
    socket's copy, stored last, changes nothing."""
    statement, *_ = statements(room, 1)
    fr = room["delegates"][0]
    Vote = services.VoteSubmission
    first = services.cast_statement_votes([Vote(user=fr, statement_id=statement.pk, choice="agree", key="v-first-change")])[0]
    assert first.event_seq is not None
    services.cast_statement_votes([Vote(user=fr, statement_id=statement.pk, choice="disagree", key="v-newer-change")])
    late = services.cast_statement_votes([Vote(user=fr, statement_id=statement.pk, choice="agree", key="v-first-change")])[0]
    assert late.choice == StatementVote.Choice.DISAGREE and late.event_seq is None
    assert list(StatementVote.objects.values_list("choice", flat=True)) == [StatementVote.Choice.DISAGREE]
    assert Event.objects.filter(type="opinion.voted").count() == 2


def test_a_vote_sent_twice_in_one_run_with_its_key_is_stored_once(room):
    statement, *_ = statements(room, 1)
    fr = room["delegates"][0]
    twice = [services.VoteSubmission(user=fr, statement_id=statement.pk, choice="pass", key="v-same-change")] * 2
    results = services.cast_statement_votes(twice)
    assert [result.choice for result in results] == [StatementVote.Choice.PASS] * 2
    assert StatementVote.objects.count() == 1
    assert Event.objects.filter(type="opinion.voted").count() == 1


def test_a_key_of_another_delegations_vote_or_a_malformed_key_is_refused_and_changes_nothing(room):
    statement, *_ = statements(room, 1)
    fr, jp = room["delegates"][:2]
    Vote = services.VoteSubmission
    services.cast_statement_votes([Vote(user=fr, statement_id=statement.pk, choice="agree", key="v-france-vote")])
    refused = services.cast_statement_votes([Vote(user=jp, statement_id=statement.pk, choice="disagree", key="v-france-vote"),
                                             Vote(user=jp, statement_id=statement.pk, choice="disagree", key="<script>x</script>")])
    assert [result.message for result in refused] == ["This vote could not be read: reload the page and vote again."] * 2
    assert list(StatementVote.objects.values_list("delegation", "choice")) == [(room["delegations"][0].pk, StatementVote.Choice.AGREE)]


def test_a_vote_of_a_delegate_deactivated_or_moved_to_another_role_since_sign_in_is_refused(room):
    """The user a socket read when it connected is stale: each run of votes reads its voters afresh."""
    from django.contrib.auth.models import User

    statement, *_ = statements(room, 1)
    fr, jp = room["delegates"][:2]
    for user in (fr, jp):
        access.delegation_of(user)  # cached on the user object, as a socket's user is
    User.objects.filter(pk=fr.pk).update(is_active=False)
    jp.participant.__class__.objects.filter(user=jp).update(role="observer")
    Vote = services.VoteSubmission
    results = services.cast_statement_votes([Vote(user=fr, statement_id=statement.pk, choice="agree"),
                                             Vote(user=jp, statement_id=statement.pk, choice="agree")])
    assert all(isinstance(result, services.NotAVoter) for result in results)
    assert StatementVote.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_while_another_process_holds_the_rounds_analysis_slot_a_vote_is_analysed_when_the_slot_ends(room, settings):
    """Two processes taking votes analyse a round as often as one: a process whose slot is taken by
    another's recent analysis (which may not count its vote) analyses once that slot has ended."""
    from datetime import timedelta

    from django.utils import timezone

    from sessions_app.models import OpinionRound

    settings.FACILITATION = {**settings.FACILITATION, "OPINION_ANALYSIS_DELAY": 0.2}
    statement, *_ = statements(room, 1)
    held = timezone.now() + timedelta(seconds=1)  # another process's analysis started just now
    OpinionRound.objects.filter(pk=room["round"].pk).update(analysis_slot_until=held)
    services.cast_statement_vote(user=room["delegates"][0], statement=statement, choice="agree")
    services.wait_for_analyses(timeout=10)
    analysed = list(Event.objects.filter(type="opinion.analysed"))
    assert len(analysed) == 1
    assert analysed[0].created_at >= held
    room["round"].refresh_from_db()
    assert room["round"].analysis["statements"][str(statement.pk)]["agree"] == 1
