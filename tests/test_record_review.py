"""The summary record reviewed before it is final: draft, corrections, comments, decisions, versions."""

import io
from datetime import timedelta

import docx
import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from sessions_app.models import Delegation, Meeting, Question, RecordAudit, RecordProposal, RecordVersion
from sessions_app.records import services as review
from sessions_app.services import ActionRefused

from .factories import AnswerFactory, make_delegate, make_secretariat

pytestmark = pytest.mark.django_db


@pytest.fixture
def meeting(seed_meeting):
    question = Question.objects.get(session__meeting=seed_meeting, session__number=1, position=1)
    france, germany = Delegation.objects.get(country="FR"), Delegation.objects.get(country="DE")
    AnswerFactory(question=question, delegation=france, text="We set up a trust unit in 2021.")
    AnswerFactory(question=question, delegation=germany, text="We publish our <b>trust</b> survey.")
    return seed_meeting


@pytest.fixture
def people(meeting):
    return {
        "secretariat": make_secretariat(email="sec@example.org"),
        "france": make_delegate(Delegation.objects.get(country="FR"), email="fr@example.org"),
        "germany": make_delegate(Delegation.objects.get(country="DE"), email="de@example.org"),
    }


def key_of(version, text):
    return next(p["key"] for p in version.passages if text in p["text"])


def test_draft_holds_the_contributions_attributed_and_emails_delegates(meeting, people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        draft = review.issue_draft(people["secretariat"], meeting=meeting,
                                   deadline=timezone.now() + timedelta(days=3))
    assert (draft.number, draft.status) == (1, "draft")
    texts = [p["text"] for p in draft.passages]
    assert "France: We set up a trust unit in 2021." in texts
    assert sorted(m.to[0] for m in mail.outbox) == ["de@example.org", "fr@example.org"]
    assert "version 1" in mail.outbox[0].body
    assert list(RecordAudit.objects.values_list("action", flat=True)) == ["draft_issued"]


def test_correction_accepted_reaches_the_final_record_as_version_two(meeting, people):
    draft = review.issue_draft(people["secretariat"], meeting=meeting)
    key = key_of(draft, "trust unit")
    proposal = review.propose_correction(people["france"], version=draft, key=key,
                                         text="France: We set up a trust unit in 2022.")
    review.decide_proposal(people["secretariat"], proposal=proposal, decision="accepted")
    final = review.issue_final(people["secretariat"], version=draft)
    assert (final.number, final.status) == (2, "final")
    assert "France: We set up a trust unit in 2022." in [p["text"] for p in final.passages]
    assert final.changes == [{"key": key, "before": "France: We set up a trust unit in 2021.",
                              "after": "France: We set up a trust unit in 2022."}]
    assert RecordVersion.objects.get(pk=draft.pk).passages == draft.passages  # the draft is kept as issued
    assert list(RecordAudit.objects.values_list("action", flat=True)) == [
        "draft_issued", "correction_proposed", "proposal_accepted", "final_issued"]
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(
        __import__("sessions_app.records.docx", fromlist=["build"]).build(final))).paragraphs)
    assert "We set up a trust unit in 2022." in text
    assert "version 2" in text


def test_a_delegation_cannot_correct_another_delegations_passage_but_may_comment(meeting, people):
    draft = review.issue_draft(people["secretariat"], meeting=meeting)
    key = key_of(draft, "survey")
    with pytest.raises(ActionRefused, match="own contributions"):
        review.propose_correction(people["france"], version=draft, key=key, text="Changed.")
    comment = review.comment_passage(people["france"], version=draft, key=key, text="Please cite the survey.")
    assert (comment.kind, comment.status) == ("comment", "pending")
    assert RecordProposal.objects.count() == 1


def test_declined_with_a_reason_the_delegation_sees(client, meeting, people):
    draft = review.issue_draft(people["secretariat"], meeting=meeting)
    proposal = review.propose_correction(people["france"], version=draft, key=key_of(draft, "trust unit"),
                                         text="France: something else.")
    with pytest.raises(ActionRefused, match="reason"):
        review.decide_proposal(people["secretariat"], proposal=proposal, decision="declined", reason=" ")
    review.decide_proposal(people["secretariat"], proposal=proposal, decision="declined",
                           reason="The minutes show 2021.")
    client.force_login(people["france"])
    page = client.get(reverse("record_review", args=[meeting.slug, draft.pk])).content.decode()
    assert "The minutes show 2021." in page
    client.force_login(people["germany"])
    assert "The minutes show 2021." not in client.get(reverse("record_review", args=[meeting.slug, draft.pk])).content.decode()


def test_accept_with_edits_uses_the_secretariats_text(meeting, people):
    draft = review.issue_draft(people["secretariat"], meeting=meeting)
    proposal = review.propose_correction(people["france"], version=draft, key=key_of(draft, "trust unit"),
                                         text="France: a long and wrong text.")
    review.decide_proposal(people["secretariat"], proposal=proposal, decision="edited", text="France: edited.")
    final = review.issue_final(people["secretariat"], version=draft)
    assert "France: edited." in [p["text"] for p in final.passages]


def test_chatham_house_only_the_delegation_sees_its_own_unattributed_passages(client, meeting, people):
    meeting.attribution = Meeting.Attribution.CHATHAM_HOUSE
    meeting.save()
    draft = review.issue_draft(people["secretariat"], meeting=meeting)
    assert "We set up a trust unit in 2021." in [p["text"] for p in draft.passages]  # no name in the text
    url = reverse("record_review", args=[meeting.slug, draft.pk])
    client.force_login(people["france"])
    page = client.get(url).content.decode()
    assert page.count('<strong class="badge">Your delegation</strong>') == 1
    assert '<strong class="badge">Your delegation</strong> We set up a trust unit' in page
    client.force_login(people["germany"])
    page = client.get(url).content.decode()
    assert '<strong class="badge">Your delegation</strong> We publish' in page
    assert '<strong class="badge">Your delegation</strong> We set up' not in page
    client.force_login(people["secretariat"])
    assert "Your delegation" not in client.get(url).content.decode()


def test_hostile_text_is_escaped_on_the_review_page(client, meeting, people):
    draft = review.issue_draft(people["secretariat"], meeting=meeting)
    review.comment_passage(people["france"], version=draft, key=key_of(draft, "survey"), text="<script>x()</script>")
    client.force_login(people["secretariat"])
    page = client.get(reverse("record_review", args=[meeting.slug, draft.pk])).content.decode()
    assert "<script>x()</script>" not in page and "&lt;script&gt;x()&lt;/script&gt;" in page
    assert "&lt;b&gt;trust&lt;/b&gt;" in page


def test_past_deadline_refuses_corrections(meeting, people):
    draft = review.issue_draft(people["secretariat"], meeting=meeting, deadline=timezone.now() + timedelta(hours=1))
    RecordVersion.objects.filter(pk=draft.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    with pytest.raises(ActionRefused, match="deadline"):
        review.comment_passage(people["france"], version=draft, key=key_of(draft, "survey"), text="Late.")
    assert RecordProposal.objects.count() == 0


def test_final_waits_for_every_decision_and_only_secretariat_issues(meeting, people):
    draft = review.issue_draft(people["secretariat"], meeting=meeting)
    with pytest.raises(ActionRefused):
        review.issue_draft(people["france"], meeting=meeting)
    review.comment_passage(people["france"], version=draft, key=key_of(draft, "survey"), text="Note.")
    with pytest.raises(ActionRefused, match="await"):
        review.issue_final(people["secretariat"], version=draft)
    assert RecordVersion.objects.count() == 1


def test_deadline_reminder_command_emails_once(meeting, people, django_capture_on_commit_callbacks):
    review.issue_draft(people["secretariat"], meeting=meeting, deadline=timezone.now() + timedelta(hours=5))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("remind_record_deadlines", stdout=io.StringIO())
        call_command("remind_record_deadlines", stdout=io.StringIO())
    assert len(mail.outbox) == 2  # France and Germany, once each
    assert "close on" in mail.outbox[0].body


def test_review_pages_over_http_end_to_end(client, meeting, people):
    client.force_login(people["secretariat"])
    response = client.post(reverse("record_reviews", args=[meeting.slug]), {"deadline": ""})
    draft = RecordVersion.objects.get()
    assert response.status_code == 302
    client.force_login(people["france"])
    url = reverse("record_review", args=[meeting.slug, draft.pk])
    key = key_of(draft, "trust unit")
    assert client.post(url, {"action": "correct", "key": key, "text": "France: 2022."}).status_code == 302
    response = client.post(url, {"action": "correct", "key": key_of(draft, "survey"), "text": "Not ours."})
    assert response.status_code == 400 and "own contributions" in response.content.decode()
    client.force_login(people["secretariat"])
    proposal = RecordProposal.objects.get()
    client.post(url, {"action": "decide", "proposal": proposal.pk, "decision": "accepted"})
    client.post(url, {"action": "final"})
    final = RecordVersion.objects.get(number=2)
    response = client.get(reverse("record_review_docx", args=[meeting.slug, final.pk]))
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(response.content)).paragraphs)
    assert "France: 2022." in text and "version 2" in text


def test_review_pages_refuse_people_outside_the_meeting(client, meeting):
    client.force_login(make_delegate(Delegation.objects.create(country="IT")))
    assert client.get(reverse("record_reviews", args=[meeting.slug])).status_code == 403


def test_versions_list_query_count_does_not_grow(client, meeting, people, django_assert_max_num_queries):
    client.force_login(people["secretariat"])
    url = reverse("record_reviews", args=[meeting.slug])
    for number in range(1, 31):
        RecordVersion.objects.create(meeting=meeting, number=number, status="final", passages=[])
        if number == 1:
            with django_assert_max_num_queries(50) as one:
                client.get(url)
    with django_assert_max_num_queries(50) as thirty:
        client.get(url)
    assert len(thirty.captured_queries) == len(one.captured_queries)


def test_meeting_page_tells_delegates_a_draft_is_open_then_the_final(client, meeting, people):
    client.force_login(people["france"])
    assert "record-review-notice" not in client.get(reverse("meeting", args=[meeting.slug])).content.decode()
    draft = review.issue_draft(people["secretariat"], meeting=meeting)
    page = client.get(reverse("meeting", args=[meeting.slug])).content.decode()
    assert "A draft summary record (version 1) is open" in page
    review.issue_final(people["secretariat"], version=draft)
    assert "final summary record (version 2) is out" in client.get(reverse("meeting", args=[meeting.slug])).content.decode()


def test_load_demo_leaves_a_draft_with_a_correction_and_a_comment():
    call_command("load_demo", "--quiet-accounts")
    call_command("load_demo", "--quiet-accounts")  # again: still one draft
    draft = RecordVersion.objects.get()
    assert draft.status == "draft"
    assert sorted(draft.proposals.values_list("kind", flat=True)) == ["comment", "correction"]


def test_a_session_record_is_reviewed_apart_from_the_meetings(client, meeting, people):
    client.force_login(people["secretariat"])
    client.post(reverse("record_reviews", args=[meeting.slug]), {"session": "1"})
    client.post(reverse("record_reviews", args=[meeting.slug]), {"session": ""})
    assert RecordVersion.objects.filter(session__number=1).count() == 1
    assert RecordVersion.objects.filter(session=None).count() == 1
    response = client.post(reverse("record_reviews", args=[meeting.slug]), {"session": "1"})
    assert response.status_code == 400 and "already under review" in response.content.decode()


def test_draft_page_query_count_is_the_same_with_1_and_30_proposals(client, meeting, people, django_assert_max_num_queries):
    draft = review.issue_draft(people["secretariat"], meeting=meeting)
    key = key_of(draft, "survey")
    url = reverse("record_review", args=[meeting.slug, draft.pk])
    client.force_login(people["secretariat"])
    counts = []
    for total in (1, 30):
        while RecordProposal.objects.count() < total:
            review.comment_passage(people["france"], version=draft, key=key, text=f"Comment {RecordProposal.objects.count()}")
        with django_assert_max_num_queries(60) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1]


@pytest.mark.parametrize("language, labels", [
    ("en", ["Draft issued", "Comment sent", "Correction proposed", "Proposal accepted"]),
    ("fr", ["Projet diffusé", "Commentaire envoyé", "Correction proposée", "Proposition acceptée"]),
])
def test_audit_log_names_each_step_in_the_readers_language(client, meeting, people, language, labels):
    draft = review.issue_draft(people["secretariat"], meeting=meeting)
    review.comment_passage(people["france"], version=draft, key=key_of(draft, "survey"), text="Note.")
    proposal = review.propose_correction(people["france"], version=draft, key=key_of(draft, "trust unit"), text="France: 2022.")
    review.decide_proposal(people["secretariat"], proposal=proposal, decision="accepted")
    client.force_login(people["secretariat"])
    page = client.get(reverse("record_review", args=[meeting.slug, draft.pk]), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    log = page[page.index('id="audit-title"'):]
    assert [label in log for label in labels] == [True] * 4
    assert "draft_issued" not in log and "comment_made" not in log and "proposal_accepted" not in log


@pytest.mark.parametrize("language, comments, message", [
    ("en", 1, "1 proposal still awaits a decision."),
    ("en", 2, "2 proposals still await a decision."),
    ("fr", 1, "1 proposition attend encore une décision."),
    ("fr", 2, "2 propositions attendent encore une décision."),
])
def test_final_refused_while_proposals_wait_says_how_many_in_good_grammar(meeting, people, language, comments, message):
    draft = review.issue_draft(people["secretariat"], meeting=meeting)
    for n in range(comments):
        review.comment_passage(people["france"], version=draft, key=key_of(draft, "survey"), text=f"Note {n}.")
    with translation.override(language), pytest.raises(ActionRefused) as refused:
        review.issue_final(people["secretariat"], version=draft)
    assert str(refused.value.args[0]) == message
