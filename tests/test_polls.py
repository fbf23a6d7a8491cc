"""Live polls: preparing, launching, voting once, results with the briefing's benchmark, refusals."""

from html.parser import HTMLParser

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from sessions_app import polls
from sessions_app.models import Poll, Vote
from sessions_app.services import ActionRefused

from .factories import DelegationFactory, SessionFactory, make_chair, make_delegate

pytestmark = pytest.mark.django_db


@pytest.fixture
def room():
    session = SessionFactory()
    meeting = session.meeting
    delegations = [DelegationFactory(country=code) for code in ("FR", "DE", "JP", "CA")]
    meeting.delegations.add(*delegations)
    france, germany, japan, canada = delegations
    return {
        "session": session, "meeting": meeting, "chair": make_chair(),
        "fr": make_delegate(france), "fr2": make_delegate(france), "de": make_delegate(germany),
        "jp": make_delegate(japan), "ca": make_delegate(canada),
    }


def priority_poll(room, **kwargs) -> Poll:
    """The room's answer beside Figure 4 of the seed's briefing (n=26 centres of government)."""
    defaults = dict(
        prompt="How much of a priority is tackling mis- and disinformation in your CoG?", kind="single",
        options=["Top priority", "Significant priority", "Other"], benchmarks=["23", "27", ""],
        benchmark_label="OECD survey, 26 CoGs (Figure 4)",
    )
    poll = polls.create_poll(user=room["chair"], session=room["session"], **{**defaults, **kwargs})
    return polls.open_poll(user=room["chair"], poll=poll)


def option_ids(poll, *labels) -> list[str]:
    return [str(poll.options.get(label=label).pk) for label in labels]


def test_results_count_votes_per_option_beside_the_benchmark(room):
    poll = priority_poll(room)
    polls.cast_vote(user=room["fr"], poll=poll, key="k1", options=option_ids(poll, "Top priority"))
    polls.cast_vote(user=room["de"], poll=poll, key="k2", options=option_ids(poll, "Significant priority"))
    polls.cast_vote(user=room["jp"], poll=poll, key="k3", options=option_ids(poll, "Top priority"))
    results = polls.poll_results(poll)
    assert (results.voters, results.eligible) == (3, 4)
    assert [(o.label, o.count, o.percent, o.benchmark) for o in results.options] == [
        ("Top priority", 2, 66.7, 23.0), ("Significant priority", 1, 33.3, 27.0), ("Other", 0, 0.0, None),
    ]
    assert results.has_benchmark


def test_one_vote_per_delegation_even_from_another_delegate(room):
    poll = priority_poll(room)
    polls.cast_vote(user=room["fr"], poll=poll, key="k1", options=option_ids(poll, "Other"))
    with pytest.raises(ActionRefused, match="Your delegation has already voted"):
        polls.cast_vote(user=room["fr2"], poll=poll, key="k2", options=option_ids(poll, "Top priority"))
    assert Vote.objects.count() == 1


def test_a_retry_with_the_same_key_is_stored_once(room):
    poll = priority_poll(room)
    first = polls.cast_vote(user=room["fr"], poll=poll, key="same", options=option_ids(poll, "Other"))
    again = polls.cast_vote(user=room["fr"], poll=poll, key="same", options=option_ids(poll, "Other"))
    assert first.pk == again.pk and Vote.objects.count() == 1


def test_per_delegate_polls_take_one_vote_per_person(room):
    poll = priority_poll(room, scope="delegate")
    polls.cast_vote(user=room["fr"], poll=poll, key="k1", options=option_ids(poll, "Other"))
    polls.cast_vote(user=room["fr2"], poll=poll, key="k2", options=option_ids(poll, "Other"))
    with pytest.raises(ActionRefused, match="You have already voted"):
        polls.cast_vote(user=room["fr"], poll=poll, key="k3", options=option_ids(poll, "Other"))
    assert polls.poll_results(poll).voters == 2


def test_votes_on_a_closed_or_unlaunched_poll_are_refused(room):
    draft = polls.create_poll(user=room["chair"], session=room["session"], prompt="Later?", kind="scale", options=[])
    with pytest.raises(ActionRefused, match="closed"):
        polls.cast_vote(user=room["fr"], poll=draft, key="k0", scale="5")
    poll = priority_poll(room)
    polls.close_poll(user=room["chair"], poll=poll)
    with pytest.raises(ActionRefused, match="closed"):
        polls.cast_vote(user=room["fr"], poll=poll, key="k1", options=option_ids(poll, "Other"))
    assert Vote.objects.count() == 0


def test_an_option_of_another_poll_is_refused(room):
    poll = priority_poll(room)
    other = priority_poll(room, prompt="Another poll")
    with pytest.raises(ActionRefused, match="Choose among the poll's options"):
        polls.cast_vote(user=room["fr"], poll=poll, key="k1", options=option_ids(other, "Other"))
    assert Vote.objects.count() == 0


@pytest.mark.parametrize(
    ("kind", "values", "message"),
    [
        ("single", {"options": []}, "Choose one option"),
        ("multiple", {"options": []}, "at least one"),
        ("scale", {"scale": "11"}, "from 0 to 10"),
        ("scale", {"scale": "ten"}, "from 0 to 10"),
        ("text", {"text": "   "}, "cannot be empty"),
        ("text", {"text": "x" * 81}, "limit is 80"),
    ],
)
def test_malformed_votes_are_refused_and_nothing_stored(room, kind, values, message):
    poll = priority_poll(room, kind=kind)
    with pytest.raises(ActionRefused, match=message):
        polls.cast_vote(user=room["fr"], poll=poll, key="k1", **values)
    assert Vote.objects.count() == 0


def test_multiple_choice_scale_ranking_and_text_results(room):
    multiple = priority_poll(room, kind="multiple")
    polls.cast_vote(user=room["fr"], poll=multiple, key="m1", options=option_ids(multiple, "Top priority", "Other"))
    assert [o.count for o in polls.poll_results(multiple).options] == [1, 0, 1]

    scale = priority_poll(room, kind="scale", options=[])
    for key, user, value in (("s1", "fr", "8"), ("s2", "de", "6"), ("s3", "jp", "10")):
        polls.cast_vote(user=room[user], poll=scale, key=key, scale=value)
    results = polls.poll_results(scale)
    assert (results.scale_mean, results.scale_median, results.scale[8].count) == (8.0, 8, 1)

    ranking = priority_poll(room, kind="ranking")
    polls.cast_vote(user=room["fr"], poll=ranking, key="r1", options=option_ids(ranking, "Other", "Top priority", "Significant priority"))
    polls.cast_vote(user=room["de"], poll=ranking, key="r2", options=option_ids(ranking, "Other", "Significant priority", "Top priority"))
    assert [(o.label, o.score) for o in polls.poll_results(ranking).options][0] == ("Other", 3.0)
    with pytest.raises(ActionRefused, match="Rank every option"):
        polls.cast_vote(user=room["jp"], poll=ranking, key="r3", options=option_ids(ranking, "Other"))

    text = priority_poll(room, kind="text", options=[])
    for key, user, word in (("t1", "fr", "Trust"), ("t2", "de", "trust"), ("t3", "jp", "Co-ordination")):
        polls.cast_vote(user=room[user], poll=text, key=key, text=word)
    assert polls.poll_results(text).words == [("co-ordination", 1, 1), ("trust", 2, 5)]


def test_preparing_a_poll_checks_its_options(room):
    for options, message in (([" "], "at least two"), (["Yes", "yes"], "same text")):
        with pytest.raises(ActionRefused, match=message):
            polls.create_poll(user=room["chair"], session=room["session"], prompt="Q?", kind="single", options=options)
    with pytest.raises(ActionRefused, match="percentage"):
        polls.create_poll(user=room["chair"], session=room["session"], prompt="Q?", kind="single", options=["A", "B"], benchmarks=["150", ""])
    assert Poll.objects.count() == 0


def test_chair_actions_are_refused_to_delegates(room):
    with pytest.raises(PermissionDenied):
        polls.create_poll(user=room["fr"], session=room["session"], prompt="Q?", kind="single", options=["A", "B"])
    poll = priority_poll(room)
    for action in (polls.close_poll, polls.delete_poll):
        with pytest.raises(PermissionDenied):
            action(user=room["fr"], poll=poll)
    with pytest.raises(ActionRefused, match="never launched"):
        polls.delete_poll(user=room["chair"], poll=poll)
    assert Poll.objects.get().status == "open"


# --- Over HTTP -----------------------------------------------------------------------------------


def vote_url(room, poll):
    return reverse("cast_vote", args=[room["meeting"].slug, poll.pk])


def test_delegate_votes_over_htmx_and_the_form_becomes_a_confirmation(client, room):
    poll = priority_poll(room)
    client.force_login(room["fr"])
    data = {"option": option_ids(poll, "Top priority"), "key": "form-1"}
    response = client.post(vote_url(room, poll), data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Your delegation has voted." in response.content.decode()
    second = client.post(vote_url(room, poll), {**data, "key": "form-2"}, headers={"HX-Request": "true"})
    assert second.status_code == 422
    assert Vote.objects.count() == 1


def test_ranking_form_needs_distinct_places(client, room):
    poll = priority_poll(room, kind="ranking")
    ids = option_ids(poll, "Top priority", "Significant priority", "Other")
    client.force_login(room["fr"])
    bad = client.post(vote_url(room, poll), {f"rank-{ids[0]}": "1", f"rank-{ids[1]}": "1", f"rank-{ids[2]}": "2", "key": "r"}, headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "different place" in bad.content.decode()
    good = client.post(vote_url(room, poll), {f"rank-{ids[0]}": "3", f"rank-{ids[1]}": "1", f"rank-{ids[2]}": "2", "key": "r"}, headers={"HX-Request": "true"})
    assert good.status_code == 200
    assert Vote.objects.get().ranking == [int(ids[1]), int(ids[2]), int(ids[0])]


def test_console_prepares_launches_and_shows_results_with_benchmark(client, room):
    client.force_login(room["chair"])
    create = reverse("create_poll", args=[room["meeting"].slug, room["session"].number])
    response = client.post(create, {
        "prompt": "Is tackling disinformation a priority?", "kind": "single", "scope": "delegation",
        "option": ["Top priority", "Significant priority", "", ""], "benchmark": ["23", "27", "", ""],
        "benchmark_label": "OECD survey, n=26 (Figure 4)",
    })
    assert response.status_code == 302
    poll = Poll.objects.get()
    action = reverse("poll_action", args=[room["meeting"].slug, poll.pk])
    assert client.post(action, {"action": "open"}, headers={"HX-Request": "true"}).status_code == 200
    polls.cast_vote(user=room["fr"], poll=poll, key="k", options=option_ids(poll, "Top priority"))
    console = client.get(reverse("console", args=[room["meeting"].slug, room["session"].number])).content.decode()
    assert "1 of 4 delegations voted" in console
    assert "OECD survey, n=26 (Figure 4)" in console and "23%" in console and "100%" in console


def test_delegates_see_results_only_when_the_chair_shows_them(client, room):
    poll = priority_poll(room)
    polls.cast_vote(user=room["de"], poll=poll, key="k", options=option_ids(poll, "Other"))
    page_url = reverse("session", args=[room["meeting"].slug, room["session"].number])
    client.force_login(room["fr"])
    assert "delegations voted" not in client.get(page_url).content.decode()
    polls.set_poll_results_visible(user=room["chair"], poll=poll, visible=True)
    assert "1 of 4 delegations voted" in client.get(page_url).content.decode()


def test_screen_shows_the_launched_poll_and_its_results_once_shown(client, room):
    poll = priority_poll(room)
    polls.cast_vote(user=room["de"], poll=poll, key="k", options=option_ids(poll, "Top priority"))
    client.force_login(room["chair"])
    screen_url = reverse("screen", args=[room["meeting"].slug])
    figure = '<span class="poll-figure">{}</span>'.format  # not a bare "23%": the join link's QR code may hold one
    page = client.get(screen_url).content.decode()
    assert "Poll open" in page and "1 vote so far" in page and figure("23%") not in page
    polls.set_poll_results_visible(user=room["chair"], poll=poll, visible=True)
    page = client.get(screen_url).content.decode()
    assert "OECD survey, 26 CoGs (Figure 4)" in page and figure("23%") in page and figure("100%") in page


def test_polls_file_prepares_polls_once_and_refuses_unknown_sessions(room):
    data = {"polls": [
        {"session": room["session"].number, "prompt": "Priority?", "kind": "single",
         "options": [["Top priority", 23], ["Significant priority", 27], ["Another answer", None]],
         "benchmark_label": "Figure 4"},
        {"session": room["session"].number, "prompt": "In a few words?", "kind": "text"},
    ]}
    created = polls.import_polls(user=room["chair"], meeting=room["meeting"], data=data)
    assert [(p.prompt, p.status) for p in created] == [("Priority?", "draft"), ("In a few words?", "draft")]
    assert [o.benchmark_percent for o in created[0].options.all()] == [23, 27, None]
    assert polls.import_polls(user=room["chair"], meeting=room["meeting"], data=data) == []
    with pytest.raises(ActionRefused, match="names no session"):
        polls.import_polls(user=room["chair"], meeting=room["meeting"], data={"polls": [{"session": 99, "prompt": "x", "kind": "text"}]})
    assert Poll.objects.count() == 2


class _ShownText(HTMLParser):
    """The text a sighted reader sees: everything outside `.visually-hidden` elements."""

    VOID = {"br", "hr", "img", "input", "meta", "link", "source", "wbr", "col", "area", "base", "embed", "track"}

    def __init__(self):
        super().__init__()
        self.hidden_depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        if self.hidden_depth or "visually-hidden" in (dict(attrs).get("class") or "").split():
            self.hidden_depth += 1

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.hidden_depth:
            self.hidden_depth -= 1

    def handle_data(self, data):
        if not self.hidden_depth:
            self.parts.append(data)


def test_open_poll_shows_its_question_once_and_names_the_options_group_by_it(client, room):
    poll = priority_poll(room)
    client.force_login(room["fr"])
    page = client.get(reverse("session", args=[room["meeting"].slug, room["session"].number])).content.decode()
    shown = _ShownText()
    shown.feed(page)
    assert " ".join(shown.parts).count(poll.prompt) == 1
    # the fieldset's legend still carries the question for screen readers
    assert f'<legend class="poll-prompt visually-hidden" lang="{room["meeting"].language}">{poll.prompt}</legend>' in page


@pytest.mark.parametrize("language, voters, turnout", [
    ("en", ["de"], "1 of 4 delegations voted"),
    ("en", ["de", "jp"], "2 of 4 delegations voted"),
    ("fr", ["de"], "1 délégation sur 4 a voté"),
    ("fr", ["de", "jp"], "2 délégations sur 4 ont voté"),
])
def test_poll_turnout_agrees_with_the_number_of_voters(client, room, language, voters, turnout):
    poll = priority_poll(room)
    for name in voters:
        polls.cast_vote(user=room[name], poll=poll, key=name, options=option_ids(poll, "Other"))
    polls.set_poll_results_visible(user=room["chair"], poll=poll, visible=True)
    client.force_login(room["fr"])
    page = client.get(reverse("session", args=[room["meeting"].slug, room["session"].number]), HTTP_ACCEPT_LANGUAGE=language)
    assert turnout in page.content.decode()
