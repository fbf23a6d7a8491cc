"""The library's kept facet counts (library/facets.py) equal counts made from the practices, after every
kind of change; a search with more matches than it ranks says so and counts its candidates."""

from collections import Counter

import pytest
from django.urls import reverse

from sessions_app import services as meeting_services
from sessions_app.exports import record
from sessions_app.library import bulk_import, queries, services
from sessions_app.models import LibraryAccess, Practice, Visibility

from .factories import DelegationFactory, MeetingFactory, PracticeFactory, SessionFactory, library_theme, make_delegate, make_secretariat, published_practice

pytestmark = pytest.mark.django_db


def database_counts(user, filters=None) -> dict[str, dict[str, int]]:
    """Each facet's counts made by the ORM from the practices the user sees (no kept table)."""
    qs = queries.apply_filters(queries.visible_practices(user), filters or {})
    columns = {"country": "delegation__country", "year": "year_started", "level": "level", "status": "status",
               "meeting": "session__meeting__slug", "theme": "library_themes__slug"}  # fmt: skip
    counts = {}
    for facet, column in columns.items():
        values = Counter(str(v) for v in qs.values_list(column, flat=True) if v not in (None, ""))
        counts[facet] = dict(values)
    return counts


def page_counts(client, params=None) -> dict[str, dict[str, int]]:
    response = client.get(reverse("library"), params or {})
    return {f.name: {o["value"]: o["count"] for o in f.options} for f in response.context["results"].facets}


FILTERS = [{}, {"country": ["FR"]}, {"theme": ["trust"]}, {"year": ["2020"]}, {"level": ["local", "national"]},
           {"country": ["FR"], "theme": ["trust"]}, {"theme": ["trust", "polarisation"]},
           {"country": ["FR"], "theme": ["trust", "polarisation"]}, {"country": ["FR", "DE"], "year": ["2020"], "level": ["local"]}]  # fmt: skip


def assert_counts_equal_the_database(client, user):
    client.force_login(user)
    for filters in FILTERS:
        assert page_counts(client, filters) == database_counts(user, filters), filters


@pytest.fixture
def library(db):
    meeting = MeetingFactory(library=LibraryAccess.MEMBERS)
    session = SessionFactory(meeting=meeting)
    fr, de = DelegationFactory(country="FR"), DelegationFactory(country="DE")
    practices = [
        published_practice(session=session, delegation=fr, year_started=2020, level="national", status="pilot", library_themes=[library_theme("trust")]),
        published_practice(session=session, delegation=fr, year_started=2021, level="local", library_themes=[library_theme("trust"), library_theme("polarisation")]),
        published_practice(session=session, delegation=de, year_started=2020, level="local", status="running", library_themes=[library_theme("polarisation")]),
        PracticeFactory(session=session, delegation=de, year_started=2020),  # pending: not in the library
    ]  # fmt: skip
    return meeting, practices


@pytest.fixture
def member(db):
    return make_delegate(DelegationFactory(country="NO"), username="member")


def test_kept_counts_equal_the_database_counts_under_each_kind_of_filter(client, library, member):
    assert_counts_equal_the_database(client, member)
    assert page_counts(client)["country"] == {"FR": 2, "DE": 1}


def test_kept_counts_follow_moderation_edits_and_themes(client, library, member):
    meeting, (first, second, third, pending) = library
    secretariat = make_secretariat(username="secretariat")
    meeting_services.moderate_practice(user=secretariat, practice=pending, action="publish")
    services.update_library_fields(second, user=secretariat, data={"year_started": "2020", "level": "regional", "themes": ["trust"]})
    meeting_services.moderate_practice(user=secretariat, practice=third, action="hide", reason="Duplicate")
    assert Practice.objects.get(pk=third.pk).visibility == Visibility.HIDDEN
    assert_counts_equal_the_database(client, member)


def test_kept_counts_follow_curation_merge_and_delete(client, library, member):
    meeting, (first, second, third, pending) = library
    secretariat = make_secretariat(username="secretariat")
    services.curate_practice(first, user=secretariat, action="retire")
    services.merge_practices(second, duplicate=third, user=secretariat)
    assert_counts_equal_the_database(client, member)
    services.curate_practice(first, user=secretariat, action="restore")
    # Deleting the practice kept by a merge brings its duplicate back into the library.
    Practice.objects.filter(pk=second.pk).delete()
    assert_counts_equal_the_database(client, member)
    library_theme("polarisation").delete()
    assert_counts_equal_the_database(client, member)


def test_kept_counts_follow_the_meeting_setting_and_a_session_moved(client, library, member):
    meeting, practices = library
    public = MeetingFactory(library=LibraryAccess.PUBLIC)
    published_practice(session=SessionFactory(meeting=public), delegation=DelegationFactory(country="IT"), year_started=2019)
    meeting.library = LibraryAccess.PUBLIC
    meeting.save()
    client.logout()
    anonymous = page_counts(client)
    assert anonymous["country"] == {"FR": 2, "DE": 1, "IT": 1}
    meeting.library = LibraryAccess.NONE
    meeting.save()
    assert page_counts(client)["country"] == {"IT": 1}
    meeting.library = LibraryAccess.MEMBERS
    meeting.save()
    session = practices[0].session
    session.meeting = public
    session.save()
    assert_counts_equal_the_database(client, member)
    client.logout()
    assert page_counts(client)["meeting"] == {public.slug: 4}


def test_kept_counts_follow_bulk_import_and_restored_records(client, library, member):
    meeting, practices = library
    sheet = bulk_import.Sheet("x.csv", ["Title", "Country", "Description", "Themes", "Year"],
                              [["One", "FR", "a", "trust", "2020"], ["Two", "Italy", "b", "polarisation; trust", "2024"]])  # fmt: skip
    bulk_import.import_practices(meeting, user=make_secretariat(username="secretariat"), sheet=sheet,
                                 mapping=["title", "country", "description", "themes", "year_started"])  # fmt: skip
    assert_counts_equal_the_database(client, member)
    document = record.build(meeting)
    meeting.delete()
    assert page_counts(client)["country"] == {}
    record.restore_record(record.parse(document))
    assert_counts_equal_the_database(client, member)
    assert page_counts(client)["country"] == {"FR": 3, "DE": 1, "IT": 1}


def test_rebuild_rewrites_the_kept_counts(client, library, member):
    from sessions_app.models import LibraryFacetCount

    LibraryFacetCount.objects.update(n=99)
    services.rebuild_library_index()
    assert_counts_equal_the_database(client, member)


def test_search_with_more_matches_than_candidates_ranks_and_counts_the_newest(client, member, settings):
    settings.LIBRARY_SEARCH_CANDIDATES = 3
    fr, de = DelegationFactory(country="FR"), DelegationFactory(country="DE")
    old = [published_practice(title=f"Open data portal {i}", delegation=fr) for i in range(3)]
    new = [published_practice(title=f"Open data portal {i}", delegation=de) for i in range(3, 6)]
    found = queries.search_library(member, query="portal")
    assert (found.capped, found.total) == (True, 3)
    assert sorted(found.ids[0:20]) == sorted(p.pk for p in new)
    assert {f.name: {o["value"]: o["count"] for o in f.options} for f in found.facets}["country"] == {"DE": 3}
    client.force_login(member)
    body = client.get(reverse("library"), {"q": "portal"}).content.decode()
    assert "More than 3 practices" in body and "the 3 most recently added are ranked" in body
    assert "Counts among the 3 most recent matches." in body
    # A filter applies before the candidates are chosen: the older practices are found again.
    found = queries.search_library(member, query="portal", filters={"country": ["FR"]})
    assert (found.capped, sorted(found.ids[0:20])) == (False, sorted(p.pk for p in old))
    assert client.get(reverse("library_api"), {"q": "portal"}).json()["capped"] is True


def test_search_below_the_candidates_is_exact_and_says_nothing_more(client, member):
    for i in range(3):
        published_practice(title=f"Open data portal {i}")
    client.force_login(member)
    response = client.get(reverse("library"), {"q": "portal"})
    assert response.context["results"].capped is False
    assert "most recently added" not in response.content.decode()
    assert client.get(reverse("library_api"), {"q": "portal"}).json()["capped"] is False


def test_capped_search_message_in_french(client, member, settings):
    settings.LIBRARY_SEARCH_CANDIDATES = 2
    for i in range(3):
        published_practice(title=f"Portail de données {i}")
    client.force_login(member)
    body = client.get(reverse("library"), {"q": "portail"}, headers={"accept-language": "fr"}, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Plus de 2 pratiques" in body and "Décomptes parmi les 2 correspondances les plus récentes." in body


@pytest.mark.parametrize("sorted_at_once", [1000, 2])
@pytest.mark.parametrize("filters", [{"country": ["FR"], "year": ["2020"]}, {"country": ["FR"], "year": ["2020"], "theme": ["trust"]}])
def test_two_or_three_filters_list_what_the_database_lists_in_its_order(client, member, monkeypatch, sorted_at_once, filters):
    """Listed once and ordered by id (a few matches), or read meeting by meeting (more than
    SORTED_AT_ONCE): the same practices, newest meeting first, on every page."""
    monkeypatch.setattr(queries, "SORTED_AT_ONCE", sorted_at_once)
    fr, de = DelegationFactory(country="FR"), DelegationFactory(country="DE")
    for year, month in ((2019, 1), (2023, 6), (2021, 3)):
        session = SessionFactory(meeting=MeetingFactory(library=LibraryAccess.MEMBERS, start_date=f"{year}-{month:02}-01"))
        for i in range(30):
            published_practice(session=session, delegation=fr if i % 3 else de, year_started=2020 if i % 2 else 2021,
                               library_themes=[library_theme("trust")] if i % 4 else [])  # fmt: skip
    expected = list(
        queries.apply_filters(queries.visible_practices(member), filters)
        .order_by("-session__meeting__start_date", "-created_at", "-pk").values_list("pk", flat=True)
    )
    assert len(expected) > 20  # two pages
    client.force_login(member)
    params = {name: values for name, values in filters.items()}
    listed, page = [], 1
    while True:
        response = client.get(reverse("library"), {**params, "page": page})
        listed += [card.pk for card in response.context["practices"]]
        if not response.context["page"].has_next():
            break
        page += 1
    assert listed == expected
