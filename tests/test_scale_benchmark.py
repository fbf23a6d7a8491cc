"""A scale poll's benchmark (the briefing's figure on the same 0-10 scale): console, screen and record."""

import pytest
from django.urls import reverse

from sessions_app import polls
from sessions_app.exports import record
from sessions_app.models import Poll
from sessions_app.services import ActionRefused

from .test_polls import room  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db
SOURCE = "OECD survey, 26 CoGs (Figure 2)"


def readiness_poll(room, benchmark="6.5"):  # noqa: F811
    poll = polls.create_poll(
        user=room["chair"], session=room["session"], prompt="How ready is your centre of government?", kind="scale",
        options=[], benchmark_label=SOURCE, benchmark_scale=benchmark,
    )
    return polls.open_poll(user=room["chair"], poll=poll)


def test_the_console_form_stores_a_scale_benchmark_and_the_console_shows_it(client, room):  # noqa: F811
    client.force_login(room["chair"])
    create = reverse("create_poll", args=[room["meeting"].slug, room["session"].number])
    response = client.post(create, {
        "prompt": "How ready is your centre of government?", "kind": "scale", "scope": "delegation",
        "option": ["", ""], "benchmark": ["", ""], "benchmark_scale": "6,5", "benchmark_label": SOURCE,
    })
    assert response.status_code == 302
    poll = Poll.objects.get()
    assert str(poll.benchmark_scale) == "6.5"
    polls.open_poll(user=room["chair"], poll=poll)
    polls.cast_vote(user=room["fr"], poll=poll, key="k1", scale="8")
    polls.cast_vote(user=room["de"], poll=poll, key="k2", scale="4")
    console = client.get(reverse("console", args=[room["meeting"].slug, room["session"].number])).content.decode()
    assert "Average 6 · median 6 (0 to 10)" in console
    assert f"{SOURCE}: 6.5 (0 to 10)" in console


def test_the_screen_shows_the_scale_benchmark_beside_the_room(client, room):  # noqa: F811
    poll = readiness_poll(room)
    polls.cast_vote(user=room["fr"], poll=poll, key="k1", scale="7")
    polls.set_poll_results_visible(user=room["chair"], poll=poll, visible=True)
    client.force_login(room["chair"])
    page = client.get(reverse("screen", args=[room["meeting"].slug])).content.decode()
    assert "Average 7 · median 7 (0 to 10)" in page and f"{SOURCE}: 6.5 (0 to 10)" in page


def test_the_record_states_the_scale_benchmark_and_keeps_it_through_a_restore(client, room):  # noqa: F811
    poll = readiness_poll(room)
    polls.cast_vote(user=room["fr"], poll=poll, key="k1", scale="9")
    polls.close_poll(user=room["chair"], poll=poll)
    client.force_login(room["chair"])
    html = client.get(reverse("records_summary", args=[room["meeting"].slug])).content.decode()
    assert f"{SOURCE}: 6.5 (0 to 10)" in html
    document = record.parse(record.build(room["meeting"]))
    assert document["sessions"][0]["polls"][0]["benchmark_scale"] == "6.5"


def test_the_benchmark_in_french(client, room):  # noqa: F811
    poll = readiness_poll(room)
    polls.cast_vote(user=room["fr"], poll=poll, key="k1", scale="9")
    client.force_login(room["chair"])
    console = client.get(
        reverse("console", args=[room["meeting"].slug, room["session"].number]), headers={"accept-language": "fr"}
    ).content.decode()
    assert f"{SOURCE}\u00a0: 6,5 (de 0 à 10)" in console


@pytest.mark.parametrize("value", ["11", "-1", "six", "nan", "1e3"])
def test_a_scale_benchmark_outside_0_to_10_is_refused_and_no_poll_is_made(room, value):  # noqa: F811
    with pytest.raises(ActionRefused, match="A scale benchmark is a number from 0 to 10, such as 6.5."):
        readiness_poll(room, benchmark=value)
    assert Poll.objects.count() == 0


def test_a_polls_file_carries_a_scale_benchmark(room):  # noqa: F811
    data = {"polls": [{"session": room["session"].number, "prompt": "Readiness?", "kind": "scale",
                       "benchmark_scale": 5.8, "benchmark_label": SOURCE}]}
    created = polls.import_polls(user=room["chair"], meeting=room["meeting"], data=data)
    assert [str(poll.benchmark_scale) for poll in created] == ["5.8"]
