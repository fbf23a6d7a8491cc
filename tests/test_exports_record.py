"""The complete JSON record: what it holds, and that a restore gives back the same meeting."""

import json

import pytest
from django.apps import apps
from django.contrib.auth.models import User

from sessions_app.exports import record
from sessions_app.models import Answer, Delegation, Meeting, Participant, Poll, Vote

from .test_exports_common import build_meeting


@pytest.fixture
def built(db):
    return build_meeting()


def row_counts() -> dict[str, int]:
    """How many rows every table of the project holds: a restore that fails must leave these alone."""
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def empty_the_database() -> None:
    """Remove every meeting, account and delegation, as if restoring on a fresh installation."""
    Meeting.objects.all().delete()
    User.objects.all().delete()
    Delegation.objects.all().delete()


def test_record_declares_its_format_and_version(built):
    document = record.export_record(built.meeting)

    assert (document["format"], document["version"]) == ("facilitation.meeting-record", 1)
    assert list(document) == ["format", "version", "meeting", "delegations", "users", "themes", "references", "sessions", "moderation", "figure_images"]
    assert document["delegations"] == ["DE", "FR", "JP"]
    assert document["themes"] == ["Digital", "Participation"]


def test_record_answers_use_natural_keys(built):
    document = record.export_record(built.meeting)

    question = document["sessions"][0]["questions"][0]
    assert [answer["delegation"] for answer in question["answers"]] == ["DE", "FR", "JP"]
    assert question["answers"][1] == {
        "delegation": "FR",
        "kind": "answer",
        "text": "We publish our plans.\n\nAnd we consult widely.",
        "visibility": "published",
        "hidden_reason": "",
        "starred": True,
        "duplicate_of": None,
        "created_by": "records-meeting-delegate-fr",
        "updated_by": "records-meeting-delegate-fr",
        "created_at": "2023-11-22T09:00:00+00:00",
        "updated_at": "2023-11-22T09:00:30+00:00",
        "revisions": [
            {"kind": "answer", "text": "We publish our plans.", "author": "records-meeting-delegate-fr", "created_at": "2023-11-22T09:00:00+00:00"}
        ],
    }
    assert document["sessions"][1]["questions"][0]["answers"][1]["duplicate_of"] == [2, 1, "DE"]


def test_record_holds_moderation_polls_floor_and_users(built):
    document = record.export_record(built.meeting)

    assert [(entry["action"], entry["answer"], entry["practice"], entry["question"]) for entry in document["moderation"]] == [
        ("star", [1, 1, "FR"], None, None),
        ("hide", None, 4, None),
        ("close", None, None, [1, 2]),
    ]
    poll = document["sessions"][0]["polls"][0]
    assert poll["options"] == [{"position": 1, "label": "Yes", "benchmark_percent": "41.4"}, {"position": 2, "label": "No", "benchmark_percent": None}]
    assert [(vote["voter"], vote["delegation"], vote["options"]) for vote in poll["votes"]] == [
        ("delegation", "FR", [1]), ("delegation", "DE", [1]), ("delegation", "JP", [2])
    ]  # fmt: skip
    assert [vote["ranking"] for vote in document["sessions"][1]["polls"][1]["votes"]] == [[2, 1], [2, 1]]
    assert [(entry["delegation"], entry["status"]) for entry in document["sessions"][0]["floor"]] == [("FR", "done"), ("DE", "withdrawn")]
    assert [entry["text"] for entry in document["sessions"][0]["conclusions"]] == [
        "First draft.", "Trust is built by openness.\n\nCentres of government lead."
    ]  # fmt: skip
    assert {user["username"]: (user["role"], user["delegation"]) for user in document["users"]} == {
        "records-meeting-chair": ("chair", None),
        "records-meeting-delegate-de": ("delegate", "DE"),
        "records-meeting-delegate-fr": ("delegate", "FR"),
    }


def test_record_round_trip_after_deleting_the_meeting(built):
    first = record.build(built.meeting)
    built.meeting.delete()

    restored = record.restore_record(record.parse(first))

    assert record.build(restored) == first


def test_record_round_trip_into_an_empty_database(built):
    first = record.build(built.meeting)
    empty_the_database()

    restored = record.restore_record(record.parse(first))

    assert record.build(restored) == first
    assert Answer.objects.filter(question__session__meeting=restored).count() == 7
    assert Vote.objects.filter(poll__session__meeting=restored).count() == 7


def test_record_round_trip_of_the_demo_meeting(seed_meeting):
    blocks = seed_meeting.sessions.get(number=1).blocks.count()
    first = record.build(seed_meeting)
    empty_the_database()

    restored = record.restore_record(record.parse(first))

    assert record.build(restored) == first
    assert restored.sessions.get(number=1).blocks.count() == blocks > 10


def test_restore_creates_missing_users_inactive_with_their_role(built):
    data = record.build(built.meeting)
    empty_the_database()

    record.restore_record(record.parse(data))

    user = User.objects.select_related("participant__delegation").get(username="records-meeting-delegate-fr")
    assert (user.is_active, user.has_usable_password(), user.participant.role, user.participant.delegation.code) == (
        False, False, Participant.Role.DELEGATE, "FR",
    )  # fmt: skip


def test_restore_keeps_existing_users_as_they_are(built):
    data = record.build(built.meeting)
    built.meeting.delete()

    record.restore_record(record.parse(data))

    assert User.objects.get(username="records-meeting-chair").is_active is True


def test_restore_remaps_votes_to_the_new_rows(built):
    data = record.build(built.meeting)
    empty_the_database()

    meeting = record.restore_record(record.parse(data))

    ranking = Poll.objects.get(session__meeting=meeting, kind="ranking")
    options = {option.position: option.pk for option in ranking.options.all()}
    vote = ranking.votes.get(delegation__country="FR")
    assert (vote.voter_key, vote.ranking) == (f"d{vote.delegation_id}", [options[2], options[1]])


def test_restore_refuses_a_meeting_whose_slug_exists(built):
    data = record.build(built.meeting)
    before = row_counts()

    with pytest.raises(record.RecordError, match="A meeting with the slug “records-meeting” already exists"):
        record.restore_record(record.parse(data))

    assert row_counts() == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "The file is not valid JSON"),
        (b"\xff\xfe", "The file is not valid JSON"),
        (b"[]", "The file is not a meeting record"),
        (json.dumps({"format": "something-else", "version": 1}).encode(), "The file is not a meeting record"),
        (json.dumps({"format": "facilitation.meeting-record", "version": 2}).encode(), "Record version 2 cannot be read"),
    ],
)
def test_parse_refuses_what_is_not_a_version_1_record(db, data, message):
    with pytest.raises(record.RecordError, match=message):
        record.parse(data)


@pytest.mark.parametrize(
    "damage",
    [
        lambda document: document["sessions"][1].pop("polls"),
        lambda document: document["sessions"][0]["questions"][0]["answers"][0].update(kind="shouted"),
        lambda document: document["sessions"][0]["questions"][0]["answers"][0].update(created_at="yesterday"),
        lambda document: document["sessions"][0]["questions"][0]["answers"].append(
            dict(document["sessions"][0]["questions"][0]["answers"][0])
        ),
        lambda document: document["delegations"].append("XX"),
        lambda document: document["moderation"].append({**document["moderation"][0], "answer": [9, 9, "FR"]}),
    ],
)
def test_restore_of_a_damaged_record_changes_nothing(built, damage):
    document = record.export_record(built.meeting)
    document["meeting"]["slug"] = "a-new-slug"
    damage(document)
    before = row_counts()

    with pytest.raises(record.RecordError, match="The record is malformed"):
        record.restore_record(document)

    assert row_counts() == before


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda document: document["sessions"][0]["blocks"][0].update(html="<p>Intro</p><script>fetch('/x')</script>"), "<script>"),
        (lambda document: document["sessions"][0]["questions"][0].update(html='<img src="x" onerror="alert(1)">'), "<img>"),
        (lambda document: document["sessions"][0]["questions"][0].update(html='<p onclick="alert(1)">Why?</p>'), "the attribute onclick on <p>"),
        (lambda document: document["references"].append({"number": 99, "text": "x", "html": '<a href="javascript:alert(1)">x</a>'}),
         "the link 'javascript:alert(1)'"),
        (lambda document: document["sessions"][0]["questions"][0].update(translations={"fr": {"text": "Pourquoi ?", "html": "<iframe src=//x>"}}),
         "<iframe>"),
    ],
)
def test_restore_refuses_html_the_importer_never_writes_and_changes_nothing(built, damage, named):
    """A record's HTML is shown as it is on every page: a script in a shared record file must not run."""
    document = record.export_record(built.meeting)
    document["meeting"]["slug"] = "a-new-slug"
    damage(document)
    before = row_counts()

    with pytest.raises(record.RecordError, match="holds HTML the importer never writes") as refused:
        record.restore_record(document)

    assert named in str(refused.value)
    assert row_counts() == before
