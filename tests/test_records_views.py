"""The records page, the printable previews and the downloads: who may, what they get, what is logged."""

import io
from datetime import timedelta
from decimal import Decimal

import docx
import openpyxl
import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sessions_app.models import (
    Answer,
    Delegation,
    ExportLog,
    FloorRequest,
    Meeting,
    Poll,
    PollOption,
    Practice,
    Question,
    Theme,
    Vote,
)

from .test_exports_common import HIDDEN_PRACTICE, HIDDEN_TEXT, T0, build_meeting

NAMES = ("France", "Germany", "Japan")
PAGES = ["records", "records_summary", "records_compendium"]
DOWNLOADS = [
    "summary-docx", "compendium-docx", "answers-csv", "answers-xlsx", "practices-csv", "practices-xlsx", "polls-csv",
    "votes-csv", "interventions-csv", "polls-xlsx", "json",
]  # fmt: skip


@pytest.fixture
def built(db):
    return build_meeting()


@pytest.fixture
def built_chatham(db):
    return build_meeting(attribution=Meeting.Attribution.CHATHAM_HOUSE, slug="chatham-meeting")


def page_url(name: str, meeting: Meeting, query: str = "") -> str:
    return reverse(name, args=[meeting.slug]) + query


def download_url(meeting: Meeting, fmt: str, query: str = "") -> str:
    return reverse("records_download", args=[meeting.slug, fmt]) + query


# --- Who may --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_records_pages_are_forbidden_to_delegates(client, built, name):
    client.force_login(built.delegate_fr)

    assert client.get(page_url(name, built.meeting)).status_code == 403


@pytest.mark.parametrize("fmt", DOWNLOADS)
def test_downloads_are_forbidden_to_delegates_and_not_logged(client, built, fmt):
    client.force_login(built.delegate_fr)

    response = client.get(download_url(built.meeting, fmt))

    assert (response.status_code, ExportLog.objects.count()) == (403, 0)


def test_records_forbidden_to_a_delegate_even_for_an_unknown_meeting(client, built):
    client.force_login(built.delegate_fr)

    assert client.get(reverse("records", args=["no-such-meeting"])).status_code == 403


@pytest.mark.parametrize("name", PAGES)
def test_records_pages_send_anonymous_visitors_to_log_in(client, built, name):
    response = client.get(page_url(name, built.meeting))

    assert (response.status_code, response["Location"].split("?")[0]) == (302, reverse("login"))


@pytest.mark.parametrize("role", ["chair", "secretariat"])
@pytest.mark.parametrize("name", PAGES)
def test_records_pages_open_for_chair_and_secretariat(client, built, role, name):
    client.force_login(getattr(built, role))

    response = client.get(page_url(name, built.meeting))

    assert (response.status_code, response["Cache-Control"]) == (200, "max-age=0, no-cache, no-store, must-revalidate, private")


@pytest.mark.parametrize("role", ["chair", "secretariat"])
@pytest.mark.parametrize("fmt", DOWNLOADS)
def test_downloads_for_chair_and_secretariat_are_logged(client, built, role, fmt):
    user = getattr(built, role)
    client.force_login(user)

    response = client.get(download_url(built.meeting, fmt))
    b"".join(response.streaming_content if response.streaming else [response.content])

    kind, extension = {"summary-docx": ("summary", "docx"), "compendium-docx": ("compendium", "docx"), "json": ("record", "json")}.get(
        fmt, tuple(fmt.split("-"))
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="records-meeting-{kind}.{extension}"'
    assert list(ExportLog.objects.values_list("meeting__slug", "user", "kind", "format")) == [("records-meeting", user.pk, kind, extension)]


def test_previews_are_logged_as_html_exports(client, built):
    client.force_login(built.chair)

    client.get(page_url("records_summary", built.meeting))
    client.get(page_url("records_compendium", built.meeting, "?session=1"))

    assert list(ExportLog.objects.order_by("id").values_list("kind", "format", "user")) == [
        ("summary", "html", built.chair.pk), ("compendium", "html", built.chair.pk)
    ]  # fmt: skip


# --- What they get --------------------------------------------------------------------------------


def test_records_page_links_every_format_per_meeting_and_per_session(client, built):
    client.force_login(built.secretariat)

    html = client.get(page_url("records", built.meeting)).content.decode()

    for fmt in DOWNLOADS:
        assert f'href="{download_url(built.meeting, fmt)}"' in html
    for fmt in DOWNLOADS[:-1]:
        assert f'href="{download_url(built.meeting, fmt, "?session=2")}"' in html
    assert f'href="{download_url(built.meeting, "json", "?session=2")}"' not in html
    assert f'href="{page_url("records_summary", built.meeting, "?session=1")}"' in html
    assert "always contain delegation codes and names" in html


def test_records_page_says_chatham_house_and_shows_the_export_log(client, built_chatham):
    client.force_login(built_chatham.secretariat)
    client.get(download_url(built_chatham.meeting, "answers-xlsx"))

    html = client.get(page_url("records", built_chatham.meeting)).content.decode()

    assert "held under the Chatham House rule" in html
    assert "Do not circulate them outside the secretariat." in html
    assert "<td>Answers (data)</td>" in html


def test_summary_page_shows_the_record_with_attribution(client, built):
    client.force_login(built.chair)

    html = client.get(page_url("records_summary", built.meeting)).content.decode()

    assert '<h1 id="record-title">Summary record</h1>' in html
    assert "France, Germany, Japan" in html
    assert '<p class="record-speaker">France</p>' in html
    assert "<p>We publish our plans.</p>\n\n<p>And we consult widely.</p>" in html
    assert "<em>To be sent in writing</em>" in html
    assert HIDDEN_TEXT not in html
    assert "First draft." not in html


def test_summary_page_under_chatham_house_names_no_delegation(client, built_chatham):
    client.force_login(built_chatham.chair)

    html = client.get(page_url("records_summary", built_chatham.meeting)).content.decode()

    assert [name for name in NAMES if name in html] == []
    assert "3 delegations took part." in html
    assert "<p>1 intervention was made from the floor.</p>" in html


def test_summary_page_escapes_what_delegations_wrote(client, built):
    Answer.objects.filter(delegation=built.germany, question__position=1, question__session__number=1).update(
        text='<script>alert("x")</script><img src=x onerror=alert(1)>'
    )
    client.force_login(built.chair)

    html = client.get(page_url("records_summary", built.meeting)).content.decode()

    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html


def test_summary_page_of_one_session(client, built):
    client.force_login(built.chair)

    html = client.get(page_url("records_summary", built.meeting, "?session=2")).content.decode()

    assert '<h1 id="record-title">Summary record of session 2</h1>' in html
    assert "Democratic resilience" not in html
    assert f'href="{download_url(built.meeting, "summary-docx", "?session=2")}"' in html


def test_compendium_page_groups_practices_and_leaves_out_hidden_ones(client, built):
    client.force_login(built.chair)

    html = client.get(page_url("records_compendium", built.meeting)).content.decode()

    assert html.index(">Digital</h3>") < html.index(">Participation</h3>") < html.index(">Other</h3>")
    assert '<a class="record-link" href="https://example.org/convention" rel="noopener noreferrer">' in html
    assert f'href="{reverse("session", args=[built.meeting.slug, 1])}#para-7">paragraph 7</a>' in html
    assert HIDDEN_PRACTICE not in html
    assert "No practice was shared in this session." in html


def test_compendium_page_never_links_a_script(client, built):
    Practice.objects.filter(title="Open data portal").update(link="javascript:alert(1)")
    client.force_login(built.chair)

    html = client.get(page_url("records_compendium", built.meeting)).content.decode()

    assert 'href="javascript:' not in html
    assert "<strong>Link:</strong> javascript:alert(1)" in html


def test_compendium_page_under_chatham_house_names_no_delegation(client, built_chatham):
    client.force_login(built_chatham.chair)

    html = client.get(page_url("records_compendium", built_chatham.meeting)).content.decode()

    assert [name for name in NAMES if name in html] == []


@pytest.mark.parametrize("query", ["?session=9", "?session=x", "?session=-1"])
def test_unknown_session_is_not_found(client, built, query):
    client.force_login(built.chair)

    assert client.get(page_url("records_summary", built.meeting, query)).status_code == 404
    assert client.get(download_url(built.meeting, "answers-csv", query)).status_code == 404


def test_unknown_format_and_json_of_one_session_are_not_found(client, built):
    client.force_login(built.chair)

    assert client.get(download_url(built.meeting, "pdf")).status_code == 404
    assert client.get(download_url(built.meeting, "json", "?session=1")).status_code == 404
    assert ExportLog.objects.count() == 0


def test_session_download_is_named_after_the_session(client, built):
    client.force_login(built.chair)

    response = client.get(download_url(built.meeting, "summary-docx", "?session=2"))

    assert response["Content-Disposition"] == 'attachment; filename="records-meeting-session-2-summary.docx"'
    document = docx.Document(io.BytesIO(response.content))
    assert document.paragraphs[1].text == "Summary record of session 2"


def test_xlsx_download_opens(client, built):
    client.force_login(built.chair)

    response = client.get(download_url(built.meeting, "practices-xlsx"))

    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert sheet.max_row == 5


def test_records_are_translated(client, built):
    client.force_login(built.chair)

    html = client.get(page_url("records_summary", built.meeting), headers={"accept-language": "fr"}).content.decode()

    assert '<html lang="fr">' in html


# --- Query counts ---------------------------------------------------------------------------------


def add_contributions(meeting: Meeting, count: int) -> None:
    """`count` more answers (one per new delegation) and `count` more practices with a theme each; four
    more launched polls, one of each kind with votes, each new delegation voting in each; and one
    intervention from each new delegation."""
    session = meeting.sessions.get(number=1)
    question = Question.objects.get(session=session, position=2)
    theme = Theme.objects.create(meeting=meeting, name=f"Theme {count}")
    polls = {
        kind: Poll.objects.create(session=session, prompt=f"Extra {kind} poll {count}", kind=kind, status="closed", benchmark_label="Survey")
        for kind in ("single", "scale", "ranking", "text")
    }
    options = [
        PollOption.objects.create(poll=polls[kind], position=n, label=f"Option {n}", benchmark_percent=Decimal("10"))
        for kind in ("single", "ranking") for n in (1, 2)
    ]  # fmt: skip
    codes = ["AT", "BE", "CA", "CH", "CL", "CO", "CR", "CZ", "DK", "EE", "ES", "FI", "GB", "GR", "HU", "IE", "IL", "IS", "IT", "KR"]
    for index, code in enumerate(codes[:count]):
        delegation = Delegation.objects.get_or_create(country=code)[0]
        meeting.delegations.add(delegation)
        Answer.objects.create(question=question, delegation=delegation, text=f"Answer from {code}.", starred=True)
        practice = Practice.objects.create(session=session, delegation=delegation, title=f"Practice of {code}", description="d")
        practice.themes.set([theme])
        voter = {"voter_key": f"d{delegation.pk}", "delegation": delegation}
        Vote.objects.create(poll=polls["single"], **voter).options.set([options[index % 2]])
        Vote.objects.create(poll=polls["scale"], scale_value=index % 11, **voter)
        Vote.objects.create(poll=polls["ranking"], ranking=[options[3].pk, options[2].pk], **voter)
        Vote.objects.create(poll=polls["text"], text=f"Idea {index % 3}", **voter)
        started = T0 + timedelta(minutes=30 + 2 * index)
        FloorRequest.objects.create(session=session, delegation=delegation, question=question, status="done", position=10 + index,
                                    started_at=started, ended_at=started + timedelta(seconds=90))  # fmt: skip


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize("name", ["records_summary", "records_compendium", "records"])
def test_records_pages_make_the_same_queries_for_2_and_20_contributions(client, built, django_assert_num_queries, name):
    client.force_login(built.chair)
    add_contributions(built.meeting, 2)
    url = page_url(name, built.meeting)
    with_two = count_queries(client, url)
    Answer.objects.filter(text__startswith="Answer from").delete()
    Practice.objects.filter(title__startswith="Practice of").delete()
    add_contributions(built.meeting, 20)

    with django_assert_num_queries(with_two):
        client.get(url)


# --- ASGI -----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_csv_streams_under_asgi_without_reading_it_whole(async_client):
    built = await sync_to_async(build_meeting)()
    french_answer = await Answer.objects.aget(delegation__country="FR", question__position=1, question__session__number=1)
    await async_client.aforce_login(built.chair)

    response = await async_client.get(download_url(built.meeting, "answers-csv"))
    # Django warns (an error here) when it must read a synchronous stream whole to serve it over ASGI.
    pieces = [piece async for piece in response.streaming_content]
    # A server closes the response in the request's thread, which closes its database connection;
    # here the pieces were read in asgiref's shared thread, so close what was opened there.
    await sync_to_async(connections.close_all)()

    assert response.is_async is True
    assert b"".join(pieces).decode("utf-8-sig").splitlines()[2].startswith(f"{french_answer.pk},records-meeting,1,1,")
