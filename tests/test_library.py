"""The practice library: search, facets, visibility, curation and API, on whichever database runs the tests."""

import io
import json

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sessions_app.library import queries, search, services
from sessions_app.models import LibraryAccess, LibraryTheme, Practice, Visibility

from .factories import (
    DelegationFactory,
    MeetingFactory,
    PracticeFactory,
    QuestionFactory,
    SessionFactory,
    library_theme,
    make_delegate,
    make_secretariat,
    published_practice,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(db):
    return make_delegate(DelegationFactory(country="NO"), username="member")


def titles(response):
    return [p.title for p in response.context["practices"]]


def test_library_title_match_ranks_before_body_match(client, member):
    body = published_practice(title="Citizens' assemblies", description="A fact-checking unit helps with this too.")
    title = published_practice(title="Fact-checking unit in the ministry", description="A small team.")
    client.force_login(member)
    response = client.get(reverse("library"), {"q": "fact-checking"})
    assert titles(response) == [title.title, body.title]


def test_library_theme_match_ranks_before_body_match(client, member):
    body = published_practice(title="Open budget", description="About trust in public institutions, briefly.")
    themed = published_practice(title="Survey programme", library_themes=[library_theme("trust")])
    client.force_login(member)
    response = client.get(reverse("library"), {"q": "trust"})
    assert titles(response) == [themed.title, body.title]


@pytest.mark.parametrize(
    ("stored", "searched"),
    [
        ("Lutte contre la désinformation", "desinformation"),
        ("Lutte contre la desinformation", "désinformation"),
        ("Prospective stratégique à l’école", "STRATEGIQUE"),
        ("Behörden-Kommunikation über Wahlen", "behorden"),
    ],
)
def test_library_search_ignores_accents_and_case(client, member, stored, searched):
    practice = published_practice(title=stored)
    published_practice(title="Something else entirely")
    client.force_login(member)
    assert titles(client.get(reverse("library"), {"q": searched})) == [practice.title]


@pytest.mark.parametrize(
    ("stored", "language", "searched"),
    [
        ("Evaluating the policies of ministries", "en", "policy evaluated"),
        ("Les évaluations des politiques publiques", "fr", "evaluation politique"),
    ],
)
def test_library_search_stems_each_language(client, member, stored, language, searched):
    practice = published_practice(title=stored, language=language)
    published_practice(title="Something else entirely", language=language)
    client.force_login(member)
    assert titles(client.get(reverse("library"), {"q": searched})) == [practice.title]


def test_library_search_finds_the_country_in_either_language(client, member):
    practice = published_practice(title="Foresight unit", delegation=DelegationFactory(country="DE"))
    published_practice(title="Foresight network", delegation=DelegationFactory(country="FR"))
    client.force_login(member)
    assert titles(client.get(reverse("library"), {"q": "allemagne foresight"})) == [practice.title]
    assert titles(client.get(reverse("library"), {"q": "germany"})) == [practice.title]


def test_library_ranks_and_pages_in_sql_without_listing_every_match(client, member):
    for i in range(25):
        published_practice(title=f"Open data portal {i}", description="Open data.")
    best = published_practice(title="Open data open data", description="open data everywhere, open data")
    client.force_login(member)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("library"), {"q": "open data", "page": 1})
    assert titles(response)[0] == best.title
    assert response.context["results"].total == 26
    # The engine ranks and pages: of the queries on the index that return ids, one reads the
    # candidates (at most one more than are ranked) and one asks for one page.
    ranked = [q["sql"] for q in captured.captured_queries if q["sql"].startswith(f"SELECT {search.outer_id()} FROM")]
    assert [sql.split("LIMIT ")[1].split()[0] for sql in ranked] == [str(settings.LIBRARY_SEARCH_CANDIDATES + 1), "20"]
    assert len(client.get(reverse("library"), {"q": "open data", "page": 2}).context["practices"]) == 6


def test_library_search_finds_french_theme_label(client, member):
    practice = published_practice(title="Programme national", library_themes=[library_theme("mis-disinformation")])
    client.force_login(member)
    assert titles(client.get(reverse("library"), {"q": "mésinformation"})) == [practice.title]


@pytest.mark.parametrize(
    "query",
    ['"unbalanced', "fact*", "NEAR(a b)", "-fact", "fact AND", "((fact", "!!!***", "a" * 10_000, "x:y", "'; DROP TABLE x; --", "\x00"],
)
def test_library_hostile_search_never_errors(client, member, query):
    published_practice(title="Fact checking")
    client.force_login(member)
    response = client.get(reverse("library"), {"q": query})
    assert response.status_code == 200
    assert client.get(reverse("library_api"), {"q": query}).status_code == 200


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ('"fact checking', True), ("fact*", True), ("NEAR(fact checking)", False), ("fact -checking", True),
        ("fact AND checking", False), ("fact OR nothing", False), ("((fact) checking", True), ("checking:fact", True),
        ("fact & ! | <-> checking", True), ("^fact$ {checking}", True), ("fact " * 2500, True),
        ("NOT", False), ("fact\u200bchecking", True),
    ],
)
def test_library_engine_syntax_is_plain_words_on_both_databases(client, member, query, found):
    """Operators of FTS5 and tsquery are words (AND, OR, NEAR are looked for) or ignored (signs)."""
    practice = published_practice(title="Fact checking")
    client.force_login(member)
    response = client.get(reverse("library"), {"q": query})
    assert response.status_code == 200
    assert titles(response) == ([practice.title] if found else [])
    assert client.get(reverse("library_export", args=["csv"]), {"q": query}).status_code == 200


@pytest.mark.parametrize("query", ["!!!***", "\"\"", "()", "-", "'", "* * *", "   "])
def test_library_search_of_signs_only_lists_everything_and_says_why(client, member, query):
    published_practice(title="Fact checking")
    client.force_login(member)
    response = client.get(reverse("library"), {"q": query})
    assert titles(response) == ["Fact checking"]
    said = "Your search holds no word to look for" in response.content.decode()
    assert said is bool(query.strip())


def test_library_facet_counts_equal_database_counts(client, member):
    meeting = MeetingFactory(library=LibraryAccess.MEMBERS)
    session = SessionFactory(meeting=meeting)
    fr, de = DelegationFactory(country="FR"), DelegationFactory(country="DE")
    for i in range(3):
        published_practice(session=session, delegation=fr, year_started=2020, level="national", status="pilot", library_themes=[library_theme("trust")])
    for i in range(2):
        published_practice(session=session, delegation=de, year_started=2022, level="local", status="running", library_themes=[library_theme("trust"), library_theme("polarisation")])
    PracticeFactory(session=session, delegation=de)  # pending: not in the library
    client.force_login(member)
    facets = {f.name: {o["value"]: o["count"] for o in f.options} for f in client.get(reverse("library")).context["results"].facets}
    visible = queries.visible_practices(member)
    assert facets["country"] == {"FR": visible.filter(delegation=fr).count(), "DE": visible.filter(delegation=de).count()}
    assert facets["theme"] == {"trust": 5, "polarisation": 2}
    assert facets["year"] == {"2020": 3, "2022": 2}
    assert facets["level"] == {"national": 3, "local": 2}
    assert facets["status"] == {"pilot": 3, "running": 2}
    assert facets["meeting"] == {meeting.slug: 5}


def test_library_facets_combine_and_stay_in_the_url(client, member):
    fr, de = DelegationFactory(country="FR"), DelegationFactory(country="DE")
    wanted = published_practice(delegation=fr, library_themes=[library_theme("trust")], year_started=2021)
    published_practice(delegation=fr, library_themes=[library_theme("polarisation")], year_started=2021)
    published_practice(delegation=de, library_themes=[library_theme("trust")], year_started=2021)
    client.force_login(member)
    response = client.get(reverse("library") + "?country=FR&theme=trust&year=2021")
    assert titles(response) == [wanted.title]
    assert 'value="FR" checked' in response.content.decode()


def test_library_htmx_request_gets_only_the_results(client, member):
    published_practice(title="Only this")
    client.force_login(member)
    response = client.get(reverse("library"), {"q": "only"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="library-results"')
    assert "<html" not in body


def test_library_list_query_count_is_constant(client, member, django_assert_max_num_queries):
    published_practice(library_themes=[library_theme("trust")])
    client.force_login(member)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("library"))
    for _ in range(29):
        published_practice(library_themes=[library_theme("trust"), library_theme("polarisation")], year_started=2020)
    with CaptureQueriesContext(connection) as thirty:
        response = client.get(reverse("library"))
    assert len(response.context["practices"]) == 20
    assert len(thirty) == len(one)


@pytest.mark.parametrize("params", [{"q": "practice"}, {"q": "practice", "theme": "trust", "year": "2020"}, {"country": "NO", "page": "2"}])
def test_library_search_query_count_does_not_grow_with_the_practices(client, member, params):
    published_practice(title="Practice one", library_themes=[library_theme("trust")], year_started=2020, delegation=member.participant.delegation)
    client.force_login(member)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("library"), params)
    for i in range(40):
        published_practice(title=f"Practice {i}", library_themes=[library_theme("trust"), library_theme("polarisation")], year_started=2020,
                  delegation=member.participant.delegation, session=SessionFactory())  # fmt: skip
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("library"), params)
    assert response.context["results"].total > 20
    assert len(many) == len(one)


def test_library_pages_through_results(client, member):
    for i in range(25):
        published_practice(title=f"Practice number {i}")
    client.force_login(member)
    assert len(client.get(reverse("library"), {"page": 2}).context["practices"]) == 5


def test_library_escapes_hostile_text(client, member):
    practice = published_practice(title="<script>alert(1)</script>", description="<img src=x onerror=alert(1)>")
    client.force_login(member)
    listing = client.get(reverse("library"), {"q": "script"}).content.decode()
    detail = client.get(reverse("library_practice", args=[practice.pk])).content.decode()
    for body in (listing, detail):
        assert "<script>alert(1)" not in body and "<img src=x" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


# Who sees what: meeting setting x viewer, on the list, the detail page and the API.
VIEWERS = ["anonymous", "member_elsewhere", "delegate", "secretariat"]
MATRIX = {
    LibraryAccess.NONE: {"anonymous": False, "member_elsewhere": False, "delegate": False, "secretariat": False},
    LibraryAccess.MEMBERS: {"anonymous": False, "member_elsewhere": True, "delegate": True, "secretariat": True},
    LibraryAccess.PUBLIC: {"anonymous": True, "member_elsewhere": True, "delegate": True, "secretariat": True},
}


@pytest.mark.parametrize("setting", list(MATRIX))
@pytest.mark.parametrize("viewer", VIEWERS)
def test_library_visibility_matrix(client, setting, viewer):
    meeting = MeetingFactory(library=setting)
    delegation = DelegationFactory(country="CL")
    practice = published_practice(session=SessionFactory(meeting=meeting), delegation=delegation, title="Visible or not")
    users = {
        "anonymous": None,
        "member_elsewhere": make_delegate(DelegationFactory(country="JP"), username="elsewhere"),
        "delegate": make_delegate(delegation, username="own"),
        "secretariat": make_secretariat(username="secretariat"),
    }
    if users[viewer]:
        client.force_login(users[viewer])
    expected = MATRIX[setting][viewer]
    assert (practice.title in titles(client.get(reverse("library")))) is expected
    assert client.get(reverse("library_practice", args=[practice.pk])).status_code == (200 if expected else 404)
    api = client.get(reverse("library_api")).json()
    assert ([r["id"] for r in api["results"]] == [practice.pk]) is expected
    assert client.get(reverse("library_api_practice", args=[practice.pk])).status_code == (200 if expected else 404)


def test_library_shows_only_published_live_practices(client, member):
    published_practice(title="Published")
    PracticeFactory(title="Pending")
    PracticeFactory(title="Hidden", visibility=Visibility.HIDDEN)
    published_practice(title="Retired", retired=True)
    client.force_login(member)
    assert titles(client.get(reverse("library"))) == ["Published"]


def test_library_never_names_the_person(client):
    delegation = DelegationFactory(country="MX")
    author = make_delegate(delegation, username="author", first_name="Zeynep", last_name="Quixotic")
    practice = published_practice(delegation=delegation, created_by=author, contact="desk@example.org", contact_consent=False)
    client.force_login(make_delegate(DelegationFactory(country="KR"), username="reader"))
    body = client.get(reverse("library_practice", args=[practice.pk])).content.decode()
    api = json.dumps(client.get(reverse("library_api_practice", args=[practice.pk])).json())
    for text in (body, api):
        assert "Quixotic" not in text and "desk@example.org" not in text
    assert "Mexico" in body


def test_library_merge_keeps_both_provenances(client):
    secretariat = make_secretariat(username="secretariat")
    first_meeting, second_meeting = MeetingFactory(title="Meeting of 2024"), MeetingFactory(title="Meeting of 2025")
    keeper = published_practice(session=SessionFactory(meeting=first_meeting), title="Rapid response unit", library_themes=[library_theme("trust")])
    duplicate = published_practice(session=SessionFactory(meeting=second_meeting), delegation=keeper.delegation, title="Rapid response team", library_themes=[library_theme("polarisation")])
    client.force_login(secretariat)
    response = client.post(reverse("library_curate", args=[duplicate.pk]), {"action": "merge", "into": str(keeper.pk)})
    assert response.status_code == 302
    detail = client.get(reverse("library_practice", args=[keeper.pk]))
    assert [p.session.meeting.title for p in detail.context["provenances"]] == ["Meeting of 2024", "Meeting of 2025"]
    assert titles(client.get(reverse("library"))) == ["Rapid response unit"]
    # The merged practice's words now lead to the keeper, and its address redirects there.
    assert titles(client.get(reverse("library"), {"q": "polarisation"})) == ["Rapid response unit"]
    assert client.get(reverse("library_practice", args=[duplicate.pk])).url == reverse("library_practice", args=[keeper.pk])


def test_library_curation_refused_to_delegates(client, member):
    practice = published_practice()
    client.force_login(member)
    assert client.post(reverse("library_curate", args=[practice.pk]), {"action": "retire"}).status_code == 403
    assert Practice.objects.get(pk=practice.pk).retired is False


def test_library_retire_and_verify(client):
    practice = published_practice(title="To curate")
    client.force_login(make_secretariat(username="secretariat"))
    client.post(reverse("library_curate", args=[practice.pk]), {"action": "verify"})
    assert Practice.objects.get(pk=practice.pk).verified is True
    client.post(reverse("library_curate", args=[practice.pk]), {"action": "retire"})
    assert titles(client.get(reverse("library"))) == []


def test_library_merge_with_bad_target_changes_nothing(client):
    practice = published_practice()
    client.force_login(make_secretariat(username="secretariat"))
    client.post(reverse("library_curate", args=[practice.pk]), {"action": "merge", "into": "abc"})
    client.post(reverse("library_curate", args=[practice.pk]), {"action": "merge", "into": str(practice.pk)})
    assert Practice.objects.get(pk=practice.pk).merged_into_id is None


def test_library_index_follows_edits_and_rebuild(client, member):
    practice = published_practice(title="Old title")
    practice.title = "Renamed programme"
    practice.save()
    client.force_login(member)
    assert titles(client.get(reverse("library"), {"q": "renamed"})) == ["Renamed programme"]
    search.clear()
    assert titles(client.get(reverse("library"), {"q": "renamed"})) == []
    call_command("rebuild_library_index", stdout=io.StringIO())
    assert titles(client.get(reverse("library"), {"q": "renamed"})) == ["Renamed programme"]


def test_library_fields_edited_by_own_delegation_only():
    practice = published_practice()
    own = make_delegate(practice.delegation, username="own")
    services.update_library_fields(practice, user=own, data={"level": "local", "year_started": "2019", "themes": ["trust"], "problem": "Rumours."})
    practice.refresh_from_db()
    assert (practice.level, practice.year_started, practice.problem) == ("local", 2019, "Rumours.")
    other = make_delegate(DelegationFactory(country="IT"), username="other")
    with pytest.raises(services.ActionRefused):
        services.update_library_fields(practice, user=other, data={"level": "national"})
    with pytest.raises(services.ActionRefused):
        services.update_library_fields(practice, user=own, data={"themes": ["trust", "polarisation", "media-literacy", "public-communication"]})
    practice.refresh_from_db()
    assert practice.level == "local"


def test_library_api_lists_with_filters_and_facets(client, member):
    wanted = published_practice(delegation=DelegationFactory(country="CA"), library_themes=[library_theme("trust")], question=None)
    published_practice(delegation=DelegationFactory(country="ES"))
    client.force_login(member)
    data = client.get(reverse("library_api"), {"country": "CA"}).json()
    assert [r["id"] for r in data["results"]] == [wanted.pk]
    assert data["facets"]["theme"] == [{"value": "trust", "count": 1}]
    detail = client.get(reverse("library_api_practice", args=[wanted.pk])).json()
    assert detail["themes"][0]["fr"] == "Confiance dans les institutions publiques"


def test_library_detail_links_provenance_and_related(client, member):
    session = SessionFactory()
    question = QuestionFactory(session=session, text="What did you try?")
    practice = published_practice(session=session, question=question, delegation=DelegationFactory(country="FR"), library_themes=[library_theme("trust")])
    other = published_practice(delegation=DelegationFactory(country="DE"), title="German survey", library_themes=[library_theme("trust")])
    client.force_login(member)
    response = client.get(reverse("library_practice", args=[practice.pk]))
    body = response.content.decode()
    assert reverse("session", args=[session.meeting.slug, session.number]) in body
    assert "What did you try?" in body
    assert [p.title for p in response.context["related"]] == [other.title]


def test_library_page_in_french(client, member):
    published_practice(title="Programme", library_themes=[library_theme("trust")])
    client.force_login(member)
    body = client.get(reverse("library"), headers={"accept-language": "fr"}, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Confiance dans les institutions publiques" in body


def test_session_page_and_console_show_earlier_practices_on_its_themes(client):
    earlier = MeetingFactory(title="Meeting of 2023")
    shared = published_practice(session=SessionFactory(meeting=earlier), title="Prebunking campaign", library_themes=[library_theme("polarisation")])
    published_practice(session=SessionFactory(meeting=earlier), title="Unrelated practice", library_themes=[library_theme("strategic-foresight")])
    session = SessionFactory(title="Polarisation and how to reduce it")
    norway = DelegationFactory(country="NO")
    session.meeting.delegations.add(norway)  # takes part in the meeting (the wall, issue 23)
    delegate = make_delegate(norway, username="delegate")
    client.force_login(delegate)
    page = client.get(reverse("session", args=[session.meeting.slug, session.number])).content.decode()
    peer_url = reverse("library_peer", args=[session.pk])
    assert f'hx-get="{peer_url}"' in page
    fragment = client.get(peer_url, headers={"HX-Request": "true"}).content.decode()
    assert "Prebunking campaign" in fragment and "Unrelated practice" not in fragment
    assert reverse("library_practice", args=[shared.pk]) in fragment and "<html" not in fragment
    client.force_login(make_secretariat(username="secretariat"))
    console = client.get(reverse("console", args=[session.meeting.slug, session.number])).content.decode()
    assert f'hx-get="{peer_url}"' in console
    # Without JavaScript the link opens the same list as a page.
    assert "Prebunking campaign" in client.get(peer_url).content.decode()


def test_demo_library_holds_practices_from_more_than_one_meeting(client):
    current = published_practice(session=SessionFactory(meeting=MeetingFactory(title="Current meeting")), title="This year's practice")
    call_command("load_demo", "--library-demo", "--quiet-accounts")
    call_command("load_demo", "--library-demo", "--quiet-accounts")  # run again: nothing doubles
    client.force_login(make_delegate(DelegationFactory(country="NO"), username="reader"))
    response = client.get(reverse("library"))
    meetings = {o["value"] for f in response.context["results"].facets if f.name == "meeting" for o in f.options}
    assert len(meetings) == 2 and current.session.meeting.slug in meetings
    assert response.context["results"].total == 13
    assert titles(client.get(reverse("library"), {"q": "desinformation", "country": "FR"})) == ["Cellule de veille contre la désinformation"]


def test_library_details_form_saves_for_own_delegation_after_the_meeting(client):
    from django.utils import timezone

    session = SessionFactory(ended_at=timezone.now())
    practice = PracticeFactory(session=session, delegation=DelegationFactory(country="FR"))
    client.force_login(make_delegate(practice.delegation, username="own"))
    url = reverse("library_edit", args=[practice.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"themes": ["trust", "polarisation"], "level": "national", "status": "pilot", "year_started": "2021", "problem": "Low trust", "contact": "unit@gov.example", "contact_consent": "on"})
    assert response.status_code == 302
    practice.refresh_from_db()
    assert (practice.level, practice.status, practice.year_started, practice.contact_consent) == ("national", "pilot", 2021, True)
    assert sorted(t.slug for t in practice.library_themes.all()) == ["polarisation", "trust"]


def test_library_details_form_bad_input_changes_nothing(client):
    practice = PracticeFactory(delegation=DelegationFactory(country="FR"), level="local")
    client.force_login(make_delegate(practice.delegation, username="own"))
    response = client.post(reverse("library_edit", args=[practice.pk]), {"level": "galactic", "year_started": "2021"})
    assert response.status_code == 422
    assert "Choose a level of government from the list." in response.content.decode()
    practice.refresh_from_db()
    assert (practice.level, practice.year_started) == ("local", None)


def test_library_details_form_refused_to_other_delegations(client):
    practice = PracticeFactory(delegation=DelegationFactory(country="FR"))
    client.force_login(make_delegate(DelegationFactory(country="DE"), username="other"))
    assert client.get(reverse("library_edit", args=[practice.pk])).status_code == 403


def test_practices_restored_with_import_record_land_in_the_library(client, member):
    from sessions_app.exports import record

    meeting = MeetingFactory(slug="restored-meeting")
    published_practice(session=SessionFactory(meeting=meeting), title="Désinformation : réseau de vérificateurs")
    document = record.build(meeting)
    meeting.delete()
    assert search.match("verificateurs") == []
    restored = record.restore_record(record.parse(document))
    client.force_login(member)
    response = client.get(reverse("library"), {"q": "verificateurs"})
    assert titles(response) == ["Désinformation : réseau de vérificateurs"]
    shown = response.context["practices"][0]
    assert Practice.objects.get(pk=shown.pk).session.meeting == restored
    assert shown.meeting == restored.title


def test_import_record_round_trips_the_library_fields(client, member):
    from sessions_app.exports import record

    from .factories import AnswerFactory

    meeting = MeetingFactory(slug="library-record", library=LibraryAccess.PUBLIC)
    session = SessionFactory(meeting=meeting)
    question = QuestionFactory(session=session)
    delegation = DelegationFactory(country="PT")
    answer = AnswerFactory(question=question, delegation=delegation)
    LibraryTheme.objects.create(slug="only-in-the-record", name_en="Only in the record", name_fr="Seulement dans le dossier")
    keeper = published_practice(
        session=session, delegation=delegation, question=question, answer=answer, title="Vérification des faits",
        level="regional", year_started=2019, status="evaluated", problem="Rumours.", what_was_done="A unit.",
        results="Fewer rumours.", lessons="Start small.", links="https://example.org/a\nhttps://example.org/b",
        contact="unit@example.org", contact_consent=True, language="fr", verified=True,
        library_themes=[library_theme("trust"), LibraryTheme.objects.get(slug="only-in-the-record")],
    )  # fmt: skip
    duplicate = published_practice(session=session, delegation=delegation, title="Fact-checking unit (again)")
    services.merge_practices(keeper, duplicate=duplicate, user=make_secretariat(username="curator"))
    document = record.build(meeting)
    meeting.delete()
    LibraryTheme.objects.filter(slug="only-in-the-record").delete()

    restored = record.restore_record(record.parse(document))

    assert record.build(restored) == document
    practice = Practice.objects.get(session__meeting=restored, title="Vérification des faits")
    assert (practice.level, practice.year_started, practice.status, practice.language) == ("regional", 2019, "evaluated", "fr")
    assert (practice.problem, practice.what_was_done, practice.results, practice.lessons) == ("Rumours.", "A unit.", "Fewer rumours.", "Start small.")
    assert (practice.contact, practice.contact_consent, practice.verified) == ("unit@example.org", True, True)
    assert practice.answer.delegation.code == "PT" and practice.answer.question.session.meeting == restored
    assert sorted(t.slug for t in practice.library_themes.all()) == ["only-in-the-record", "trust"]
    assert LibraryTheme.objects.get(slug="only-in-the-record").name_fr == "Seulement dans le dossier"
    assert Practice.objects.get(session__meeting=restored, title="Fact-checking unit (again)").merged_into == practice
    # In the library at once, found by its theme and stemmed words, anonymously (the meeting is public).
    client.logout()
    assert titles(client.get(reverse("library"), {"q": "verification", "theme": "trust"})) == [practice.title]


def test_import_record_reads_records_written_before_the_library_fields(client, member):
    from sessions_app.exports import record

    meeting = MeetingFactory(slug="older-record")
    published_practice(session=SessionFactory(meeting=meeting), title="Older practice")
    document = record.parse(record.build(meeting))
    del document["meeting"]["library"]
    for entry in document["sessions"][0]["practices"]:
        for name in (*record.LIBRARY_FIELDS, "library_themes", "answer", "merged_into"):
            del entry[name]
    meeting.delete()
    restored = record.restore_record(document)
    assert restored.library == LibraryAccess.MEMBERS
    client.force_login(member)
    assert titles(client.get(reverse("library"), {"q": "older"})) == ["Older practice"]


def test_secretariat_adds_a_theme_and_maps_free_text_themes(client):
    from sessions_app.models import Theme

    practice = published_practice()
    practice.themes.set([Theme.objects.create(meeting=practice.session.meeting, name="Fact checking")])
    client.force_login(make_secretariat(username="secretariat"))
    url = reverse("library_themes")
    page = client.get(url).content.decode()
    assert "Fact checking (1)" in page
    assert client.post(url, {"action": "add", "name_en": "Fact-checking", "name_fr": "Vérification des faits"}).status_code == 302
    assert client.post(url, {"action": "map", "name": "Fact checking", "theme": "fact-checking"}).status_code == 302
    assert [t.slug for t in Practice.objects.get(pk=practice.pk).library_themes.all()] == ["fact-checking"]
    # A theme already there, or without its French name, is refused and changes nothing.
    assert client.post(url, {"action": "add", "name_en": "Fact-checking", "name_fr": "x"}).status_code == 422
    assert client.post(url, {"action": "add", "name_en": "Other", "name_fr": ""}).status_code == 422
    assert LibraryTheme.objects.filter(name_en__in=["Other"]).count() == 0


def test_themes_page_is_for_the_secretariat_only(client, member):
    client.force_login(member)
    assert client.get(reverse("library_themes")).status_code == 403


def test_a_card_of_the_list_shows_country_meeting_year_status_and_themes_in_the_readers_language(client, member):
    meeting = MeetingFactory(title="Réunion <b>42</b>")
    published_practice(
        session=SessionFactory(meeting=meeting), delegation=DelegationFactory(country="DE"), title="<script>x</script>",
        year_started=2019, status="pilot", description=" ".join(f"word{i}" for i in range(60)),
        library_themes=[library_theme("trust"), library_theme("strategic-foresight")],
    )  # fmt: skip
    client.force_login(member)
    html = client.get(reverse("library")).content.decode()
    card = html[html.index('class="library-item"') :]
    assert "Germany · Réunion &lt;b&gt;42&lt;/b&gt; · since 2019 · Pilot" in card
    assert "&lt;script&gt;x&lt;/script&gt;" in card and "<script>x" not in card
    assert '<span class="tag">Strategic foresight</span> <span class="tag">Trust in public institutions</span>' in card
    assert "word39 …" in card and "word40" not in card
    french = client.get(reverse("library"), headers={"accept-language": "fr"}).content.decode()
    card = french[french.index('class="library-item"') :]
    assert "Allemagne · Réunion &lt;b&gt;42&lt;/b&gt; · depuis 2019 · Projet pilote" in card
    assert "Confiance dans les institutions publiques" in card
