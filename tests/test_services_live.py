"""The live discussion's services: what they store, what they refuse, and the events they leave."""

import pytest

from sessions_app import services
from sessions_app.models import Answer, AnswerRevision, Event, ModerationAction, Practice, Question, Submission

from .factories import DelegationFactory, QuestionFactory, make_chair, make_delegate, make_participant

pytestmark = pytest.mark.django_db


@pytest.fixture
def france():
    return DelegationFactory(country="FR")


@pytest.fixture
def question(france):
    question = QuestionFactory()
    question.session.meeting.delegations.add(france)
    return question


def answer(user, question, text="We co-ordinate from the centre.", key="k1", kind="answer"):
    return services.submit_answer(user=user, question=question, kind=kind, text=text, key=key)


def test_submit_answer_stores_answer_revision_and_numbered_event(question, france):
    delegate = make_delegate(france)
    stored = answer(delegate, question)
    assert (stored.delegation, stored.text, stored.updated_by) == (france, "We co-ordinate from the centre.", delegate)
    assert AnswerRevision.objects.filter(answer=stored).count() == 1
    event = Event.objects.get()
    assert (event.seq, event.type, event.payload) == (1, "answer.saved", {"answer": stored.pk, "delegation": france.pk, "created": True})


def test_same_submission_posted_three_times_gives_one_row(question, france):
    delegate = make_delegate(france)
    first = answer(delegate, question, key="same")
    again = [answer(delegate, question, key="same") for _ in range(2)]
    assert [a.pk for a in again] == [first.pk, first.pk]
    assert (Answer.objects.count(), AnswerRevision.objects.count(), Event.objects.count()) == (1, 1, 1)


def test_colleague_edit_updates_the_delegations_answer_and_keeps_history(question, france):
    first, second = make_delegate(france), make_delegate(france)
    answer(first, question, text="Draft", key="a")
    answer(second, question, text="Final", key="b")
    stored = Answer.objects.get()
    assert (stored.text, stored.updated_by, stored.created_by) == ("Final", second, first)
    assert list(stored.revisions.values_list("text", "author")) == [("Draft", first.pk), ("Final", second.pk)]


def test_no_contribution_needs_no_text(question, france):
    stored = answer(make_delegate(france), question, text="", kind="none")
    assert (stored.kind, stored.text) == ("none", "")


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("  Plain text, one line.  ", "Plain text, one line."),
        ("First line\r\nsecond\tline\x00\x07 \u200b", "First line\nsecond\tline"),
        ("\x1b[31mColoured\x1b[0m", "[31mColoured[0m"),
    ],
)
def test_answer_text_keeps_newlines_and_tabs_and_loses_other_control_characters(question, france, text, stored):
    assert answer(make_delegate(france), question, text=text).text == stored


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "cannot be empty"), ("   \n ", "cannot be empty"), ("x" * 5001, "the limit is 5000")],
)
def test_bad_answer_text_is_refused_and_nothing_stored(question, france, text, message):
    with pytest.raises(services.ActionRefused, match=message):
        answer(make_delegate(france), question, text=text)
    assert (Answer.objects.count(), Event.objects.count()) == (0, 0)


def test_answer_to_closed_question_is_refused(question, france):
    Question.objects.filter(pk=question.pk).update(status="closed")
    with pytest.raises(services.ActionRefused, match="closed"):
        answer(make_delegate(france), question)
    assert Answer.objects.count() == 0


def test_chair_and_observer_cannot_answer(question):
    for user in (make_chair(), make_participant(role="observer")):
        with pytest.raises(services.ActionRefused, match="Only a delegation"):
            answer(user, question, key=f"k-{user.pk}")
    assert Answer.objects.count() == 0


def test_delegation_outside_the_meeting_cannot_answer(question):
    with pytest.raises(services.ActionRefused, match="does not take part"):
        answer(make_delegate(DelegationFactory(country="JP")), question)


def submission(user, question, text="We co-ordinate from the centre.", key="k1", kind="answer"):
    return services.AnswerSubmission(user=user, question_id=question.pk, kind=kind, text=text, key=key)


def test_a_run_of_answers_is_stored_each_as_alone_with_consecutive_events(question, france):
    germany = DelegationFactory(country="DE")
    question.session.meeting.delegations.add(germany)
    other = QuestionFactory(session=question.session)
    fr, de = make_delegate(france), make_delegate(germany)
    results = services.submit_answers([
        submission(fr, question, "France on one", key="a"), submission(de, question, "Germany on one", key="b"),
        submission(fr, other, "France on two", key="c"),
    ])  # fmt: skip
    assert [(r.question_id, r.delegation_id, r.text) for r in results] == [
        (question.pk, france.pk, "France on one"), (question.pk, germany.pk, "Germany on one"), (other.pk, france.pk, "France on two"),
    ]  # fmt: skip
    assert all(r.pk for r in results) and AnswerRevision.objects.count() == 3
    assert list(Event.objects.values_list("seq", "payload__answer")) == [(1, results[0].pk), (2, results[1].pk), (3, results[2].pk)]
    # Each row written in full: revisions, keys and events are inserted without model instances.
    assert sorted(AnswerRevision.objects.values_list("answer", "kind", "text", "author")) == sorted(
        (r.pk, "answer", r.text, (fr if r.delegation_id == france.pk else de).pk) for r in results
    )
    assert list(Submission.objects.order_by("key").values_list("key", "user", "action", "object_id")) == [
        ("a", fr.pk, "answer", results[0].pk), ("b", de.pk, "answer", results[1].pk), ("c", fr.pk, "answer", results[2].pk),
    ]  # fmt: skip
    event = Event.objects.get(seq=2)
    assert (event.type, event.session_id, event.payload) == ("answer.saved", question.session_id, {"answer": results[1].pk, "delegation": germany.pk, "created": True})
    stamps = [row.created_at for model in (AnswerRevision, Submission, Event) for row in model.objects.all()]
    assert all(stamp is not None and stamp.tzinfo is not None for stamp in stamps)


def test_a_refused_answer_in_a_run_stores_nothing_and_spares_the_others(question, france):
    fr = make_delegate(france)
    outsider = make_delegate(DelegationFactory(country="BR"))
    closed = QuestionFactory(session=question.session, status=Question.Status.CLOSED)
    results = services.submit_answers([
        submission(fr, closed, key="a"), submission(outsider, question, key="b"), submission(fr, question, "  ", key="c"),
        submission(fr, question, "Kept", key=""), submission(fr, question, "Stored", key="d"),
    ])  # fmt: skip
    assert [str(r) for r in results[:4]] == [
        "This question is closed: answers can no longer be submitted or changed.",
        "Your delegation does not take part in this meeting.",
        "The answer cannot be empty.",
        "The form is missing its submission key; reload the page and try again.",
    ]
    assert list(Answer.objects.values_list("text", flat=True)) == ["Stored"] and results[4].text == "Stored"
    assert (AnswerRevision.objects.count(), Event.objects.count()) == (1, 1)


def test_two_colleagues_in_one_run_last_edit_wins_and_both_revisions_kept(question, france):
    first, second = make_delegate(france), make_delegate(france)
    results = services.submit_answers([submission(first, question, "Draft", key="a"), submission(second, question, "Final", key="b")])
    stored = Answer.objects.get()
    assert results[0].pk == results[1].pk == stored.pk
    assert (stored.text, stored.created_by, stored.updated_by) == ("Final", first, second)
    assert list(stored.revisions.values_list("text", "author")) == [("Draft", first.pk), ("Final", second.pk)]
    assert [e.payload["created"] for e in Event.objects.order_by("seq")] == [True, False]


def test_a_run_that_edits_several_answers_writes_each_its_own_text_kind_and_author(question, france):
    germany = DelegationFactory(country="DE")
    question.session.meeting.delegations.add(germany)
    fr, de, fr_colleague = make_delegate(france), make_delegate(germany), make_delegate(france)
    services.submit_answers([submission(fr, question, "French draft", key="a"), submission(de, question, "German draft", key="b")])
    drafted = dict(Answer.objects.values_list("delegation__country", "updated_at"))
    services.submit_answers([
        submission(fr_colleague, question, "French final", key="c"),
        submission(de, question, "", key="d", kind="none"),
    ])  # fmt: skip
    stored = {a.delegation.code: a for a in Answer.objects.select_related("updated_by")}
    assert (stored["FR"].text, stored["FR"].kind, stored["FR"].updated_by) == ("French final", "answer", fr_colleague)
    assert (stored["DE"].text, stored["DE"].kind, stored["DE"].updated_by) == ("", "none", de)
    assert all(stored[code].updated_at > drafted[code] for code in ("FR", "DE"))


def test_a_form_sent_twice_in_one_run_and_again_later_is_stored_once(question, france):
    fr = make_delegate(france)
    twice = services.submit_answers([submission(fr, question, key="same"), submission(fr, question, key="same")])
    later = services.submit_answers([submission(fr, question, key="same")])
    assert twice[0].pk == twice[1].pk == later[0].pk
    assert (Answer.objects.count(), AnswerRevision.objects.count(), Event.objects.count()) == (1, 1, 1)


def test_a_key_reused_by_someone_else_or_for_another_question_is_refused(question, france):
    fr, colleague = make_delegate(france), make_delegate(france)
    other = QuestionFactory(session=question.session)
    answer(fr, question, key="used")
    results = services.submit_answers([submission(colleague, question, key="used"), submission(fr, other, key="used")])
    assert [str(r) for r in results] == ["This form was already used for something else; reload the page."] * 2
    assert Answer.objects.count() == 1


def test_moderation_is_logged_and_numbered(question, france):
    stored = answer(make_delegate(france), question)
    chair = make_chair()
    services.moderate_answer(user=chair, answer=stored, action="publish")
    services.moderate_answer(user=chair, answer=stored, action="star")
    services.moderate_answer(user=chair, answer=stored, action="hide", reason="Off topic")
    stored.refresh_from_db()
    assert (stored.visibility, stored.starred, stored.hidden_reason) == ("hidden", False, "Off topic")
    assert list(ModerationAction.objects.values_list("action", "actor")) == [
        ("publish", chair.pk), ("star", chair.pk), ("hide", chair.pk)
    ]
    assert list(Event.objects.values_list("seq", flat=True)) == [1, 2, 3, 4]


def test_hide_without_reason_is_refused(question, france):
    stored = answer(make_delegate(france), question)
    with pytest.raises(services.ActionRefused, match="reason"):
        services.moderate_answer(user=make_chair(), answer=stored, action="hide")
    stored.refresh_from_db()
    assert stored.visibility == "pending"


def test_duplicate_must_point_to_another_answer_of_the_same_question(question, france):
    germany = DelegationFactory(country="DE")
    question.session.meeting.delegations.add(germany)
    ours = answer(make_delegate(france), question, key="fr")
    theirs = answer(make_delegate(germany), question, key="de")
    services.moderate_answer(user=make_chair(), answer=theirs, action="duplicate", duplicate_of=ours)
    theirs.refresh_from_db()
    assert theirs.duplicate_of == ours
    with pytest.raises(services.ActionRefused):
        services.moderate_answer(user=make_chair(), answer=ours, action="duplicate", duplicate_of=ours)


def test_delegate_cannot_moderate_or_run_the_room(question, france):
    from django.core.exceptions import PermissionDenied

    delegate = make_delegate(france)
    stored = answer(delegate, question)
    with pytest.raises(PermissionDenied):
        services.moderate_answer(user=delegate, answer=stored, action="star")
    with pytest.raises(PermissionDenied):
        services.set_question_status(user=delegate, question=question, status="closed")
    with pytest.raises(PermissionDenied):
        services.set_discussion(user=delegate, meeting=question.session.meeting, question=question)
    assert ModerationAction.objects.count() == 0


def test_close_and_reopen_question(question):
    chair = make_chair()
    services.set_question_status(user=chair, question=question, status="closed")
    assert Question.objects.get().status == "closed"
    services.set_question_status(user=chair, question=question, status="open")
    assert Question.objects.get().status == "open"
    assert list(Event.objects.values_list("type", flat=True)) == ["question.status", "question.status"]


def test_set_discussion_sets_question_and_session(question):
    meeting = services.set_discussion(user=make_chair(), meeting=question.session.meeting, question=question)
    assert (meeting.current_question, meeting.current_session) == (question, question.session)


def test_practice_is_stored_once_per_key_with_themes(question, france):
    delegate = make_delegate(france)
    kwargs = dict(
        user=delegate, session=question.session, title="VIGINUM", description="A service against foreign interference.",
        link="https://www.sgdsn.gouv.fr/", question=question, themes=["Co-ordination", " training ", ""], key="p1",
    )
    first = services.save_practice(**kwargs)
    second = services.save_practice(**kwargs)
    assert first.pk == second.pk
    assert Practice.objects.count() == 1
    assert sorted(first.themes.values_list("name", flat=True)) == ["Co-ordination", "training"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("title", "", "cannot be empty"), ("link", "javascript:alert(1)", "web address"), ("description", "y" * 5001, "limit")],
)
def test_bad_practice_is_refused(question, france, field, value, message):
    kwargs = dict(title="T", description="D", link="", key="p")
    kwargs[field] = value
    with pytest.raises(services.ActionRefused, match=message):
        services.save_practice(user=make_delegate(france), session=question.session, **kwargs)
    assert Practice.objects.count() == 0


def test_practice_for_a_session_that_is_over_is_refused(question, france):
    from django.utils import timezone

    type(question.session).objects.filter(pk=question.session.pk).update(ended_at=timezone.now())
    with pytest.raises(services.ActionRefused, match="over"):
        services.save_practice(user=make_delegate(france), session=question.session, title="T", description="D", key="p")


def test_other_delegation_cannot_edit_a_practice(question, france):
    germany = DelegationFactory(country="DE")
    question.session.meeting.delegations.add(germany)
    practice = services.save_practice(user=make_delegate(france), session=question.session, title="T", description="D", key="a")
    with pytest.raises(services.ActionRefused, match="own delegation"):
        services.save_practice(
            user=make_delegate(germany), session=question.session, title="Mine", description="D", key="b", practice=practice
        )
    practice.refresh_from_db()
    assert practice.title == "T"


def test_conclusions_keep_history(question):
    chair = make_chair()
    services.save_conclusions(user=chair, session=question.session, text="First draft")
    services.save_conclusions(user=chair, session=question.session, text="Second draft")
    assert list(question.session.conclusions.values_list("text", flat=True)) == ["Second draft", "First draft"]
