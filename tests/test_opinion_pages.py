"""Opinion rounds over HTTP: the chair's console, a delegate voting one statement at a time, the room screen."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sessions_app.models import OpinionRound, Statement, StatementVote
from sessions_app.opinion import services

from .opinion_rooms import no_background_analysis, opinion_room  # noqa: F401 (an autouse fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def room():
    return opinion_room()


def console_url(room):
    return reverse("console", args=[room["meeting"].slug, room["session"].number])


def page_url(room):
    return reverse("session", args=[room["meeting"].slug, room["session"].number])


def test_chair_opens_a_round_and_adds_statements_from_the_console(client, room):
    client.force_login(room["chair"])
    url = reverse("opinion_open_round", args=[room["meeting"].slug, room["session"].number])
    assert client.post(url, {"title": "Where we stand", "order": "chair"}).status_code == 302
    round = OpinionRound.objects.get()
    add = reverse("opinion_add_statement", args=[room["meeting"].slug, round.pk])
    client.post(add, {"text": "Fact-checking should be publicly funded"})
    refused = client.post(add, {"text": "fact-checking should be publicly funded."}, headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "already has this statement" in refused.content.decode()
    page = client.get(console_url(room)).content.decode()
    assert "Where we stand" in page and "Fact-checking should be publicly funded" in page
    assert "Too few delegations have voted" in page
    assert Statement.objects.count() == 1


def test_delegate_votes_one_statement_at_a_time_with_progress(client, room):
    round = services.open_round(user=room["chair"], session=room["session"], title="Round", order="chair")
    first = services.add_statement(user=room["chair"], round=round, text="First statement")
    services.add_statement(user=room["chair"], round=round, text="Second statement")
    client.force_login(room["delegates"][0])
    page = client.get(page_url(room)).content.decode()
    assert "Statement 1 of 2" in page and "First statement" in page and "Second statement" not in page
    vote = reverse("opinion_vote", args=[room["meeting"].slug, first.pk])
    response = client.post(vote, {"choice": "agree"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Statement 2 of 2" in response.content.decode() and "Second statement" in response.content.decode()
    assert client.post(vote, {"choice": "maybe"}, headers={"HX-Request": "true"}).status_code == 422
    assert list(StatementVote.objects.values_list("choice", flat=True)) == [-1]


def test_delegates_cannot_run_the_round(client, room):
    round = services.open_round(user=room["chair"], session=room["session"], title="Round")
    client.force_login(room["delegates"][0])
    response = client.post(reverse("opinion_round_action", args=[room["meeting"].slug, round.pk]), {"action": "closed"})
    assert response.status_code == 403
    assert OpinionRound.objects.get().status == "open"


def build(room, statements: int):
    round = services.open_round(user=room["chair"], session=room["session"], title="Round")
    items = [services.add_statement(user=room["chair"], round=round, text=f"Statement {i}") for i in range(statements)]
    for i, user in enumerate(room["delegates"]):
        for j, statement in enumerate(items):
            services.cast_statement_vote(user=user, statement=statement, choice="agree" if (i % 2 == 0) == (j % 2 == 0) else "disagree")
    services.analyse_round(round.pk)
    services.set_round_options(user=room["chair"], round=round, on_screen=True)
    return round


def queries_for(client, url):
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context)


@pytest.mark.parametrize("page", ["console", "screen"])
def test_pages_make_the_same_queries_for_8_and_30_statements(client, room, page):
    client.force_login(room["chair"])
    url = console_url(room) if page == "console" else reverse("screen", args=[room["meeting"].slug])
    round = build(room, 8)
    few = queries_for(client, url)
    OpinionRound.objects.filter(pk=round.pk).delete()
    build(room, 30)
    assert queries_for(client, url) == few


def test_screen_shows_the_map_when_the_chair_chooses(client, room):
    round = build(room, 8)
    client.force_login(room["chair"])
    screen = reverse("screen", args=[room["meeting"].slug])
    assert 'class="opinion-map"' in client.get(screen).content.decode()
    services.set_round_options(user=room["chair"], round=round, on_screen=False)
    assert 'class="opinion-map"' not in client.get(screen).content.decode()


def test_pages_in_french(client, room):
    build(room, 8)
    client.force_login(room["chair"])
    page = client.get(console_url(room), headers={"Accept-Language": "fr"}).content.decode()
    assert "Tours d’opinion" in page or "Tours d'opinion" in page


def test_the_demo_meeting_holds_a_round_with_a_map(django_capture_on_commit_callbacks):
    from django.core.management import call_command

    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo", quiet_accounts=True)
    round = OpinionRound.objects.get()
    assert round.analysis["mapped"] is True
    assert len(round.analysis["groups"]) >= 2
    call_command("load_demo", quiet_accounts=True)  # a second load keeps the round as it is
    assert OpinionRound.objects.count() == 1


def test_polis_export_holds_the_four_files_and_names_no_delegation(client, room):
    import csv
    import io
    import zipfile

    round = build(room, 8)
    services.add_statement(user=room["chair"], round=round, text="=HYPERLINK(\"http://x\")")
    client.force_login(room["chair"])
    response = client.get(reverse("opinion_polis_export", args=[room["meeting"].slug, round.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["comments.csv", "participant-votes.csv", "summary.csv", "votes.csv"]
    votes = list(csv.DictReader(io.StringIO(archive.read("votes.csv").decode())))
    assert len(votes) == 64 and {row["vote"] for row in votes} == {"1", "-1"}
    comments = list(csv.DictReader(io.StringIO(archive.read("comments.csv").decode())))
    assert comments[0]["agrees"] == "4" and comments[0]["disagrees"] == "4"
    assert comments[-1]["comment-body"].startswith("'=")
    matrix = list(csv.DictReader(io.StringIO(archive.read("participant-votes.csv").decode())))
    assert len(matrix) == 8 and {row["group-id"] for row in matrix} == {"0", "1"}
    everything = b"".join(archive.read(name) for name in archive.namelist()).decode()
    assert all(delegation.name not in everything for delegation in room["delegations"])
    client.force_login(room["delegates"][0])
    assert client.get(reverse("opinion_polis_export", args=[room["meeting"].slug, round.pk])).status_code == 403


def test_a_vote_posted_again_with_its_key_after_a_newer_change_keeps_the_newer(client, room):
    """The page's fallback post of a socket vote (the same key) that arrives after the delegate
    changed the vote: the newer choice stays, and the reply shows it."""
    round = services.open_round(user=room["chair"], session=room["session"], title="Round", order="chair")
    first = services.add_statement(user=room["chair"], round=round, text="First statement")
    client.force_login(room["delegates"][0])
    vote = reverse("opinion_vote", args=[room["meeting"].slug, first.pk])
    htmx = {"HX-Request": "true"}
    assert client.post(vote, {"choice": "agree", "key": "v-0123456789"}, headers=htmx).status_code == 200
    assert client.post(vote, {"choice": "disagree", "key": "v-abcdefabcd"}, headers=htmx).status_code == 200
    late = client.post(vote, {"choice": "agree", "key": "v-0123456789"}, headers=htmx)
    assert late.status_code == 200
    assert list(StatementVote.objects.values_list("choice", flat=True)) == [StatementVote.Choice.DISAGREE]
    refused = client.post(vote, {"choice": "agree", "key": "not a key!"}, headers=htmx)
    assert refused.status_code == 422
    assert list(StatementVote.objects.values_list("choice", flat=True)) == [StatementVote.Choice.DISAGREE]


def test_a_vote_panel_rendered_for_the_live_updates_equals_the_pages_own_render(room):
    """The live panels keep the parts every delegation shares at the same point (the next statement,
    its progress, the proposal form): each panel still shows its own delegation's point and the round's
    state, as the page renders it (the page's forms carry their CSRF token; the live ones take it from
    the page's hx-headers)."""
    from django.template.loader import render_to_string

    from sessions_app.opinion import queries as opinion_queries

    round = services.open_round(user=room["chair"], session=room["session"], title="Round", order="chair", proposals_allowed=True)
    first, second = (services.add_statement(user=room["chair"], round=round, text=f"Statement <{n}>") for n in ("a", "b"))
    fr, jp = room["delegates"][:2]
    services.cast_statement_vote(user=fr, statement=first, choice="agree")
    meeting = room["meeting"]

    def both(delegation, round):
        context = {"meeting": meeting, "round": round, "next": opinion_queries.next_statement(round, delegation), "oob": "true"}
        live = render_to_string("sessions_app/partials/opinion_vote.html", context)
        page = render_to_string("sessions_app/partials/opinion_vote.html", {**context, "csrf_token": "t0ken"})
        page = page.replace('<input type="hidden" name="csrfmiddlewaretoken" value="t0ken">', "")
        return " ".join(live.split()), " ".join(page.split())

    for attempt in range(2):  # the second time from what the first kept
        for delegation, progress, text in ((room["delegations"][0], "Statement 2 of 2", "Statement &lt;b&gt;"),
                                           (room["delegations"][1], "Statement 1 of 2", "Statement &lt;a&gt;")):
            live, page = both(delegation, round)
            assert live == page
            assert progress in live and text in live and "Propose a statement" in live
    services.set_round_options(user=room["chair"], round=round, proposals_allowed=False)
    services.set_round_status(user=room["chair"], round=round, status="paused")
    round.refresh_from_db()
    live, page = both(room["delegations"][0], round)
    assert live == page
    assert "The chair has paused this round." in live and "Propose a statement" not in live
