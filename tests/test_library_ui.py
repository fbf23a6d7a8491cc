"""The library as the secretariat and delegations use it: facets in reading order, theme suggestions,
picking the practice to merge into."""

import re

import pytest
from django.urls import reverse

from sessions_app.models import Practice, Visibility

from .factories import DelegationFactory, PracticeFactory, make_delegate, make_secretariat

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", ["Austria", "Estonia", "Finland", "Germany", "United States of America"]),
        ("fr", ["Allemagne", "Autriche", "Estonie", "États-Unis d'Amérique", "Finlande"]),
    ],
)
def test_library_country_facet_is_in_name_order_of_the_reader_language(client, language, expected):
    for code, practices in (("US", 3), ("DE", 1), ("AT", 2), ("FI", 1), ("EE", 1)):
        delegation = DelegationFactory(country=code)
        for _ in range(practices):
            PracticeFactory(delegation=delegation, visibility=Visibility.PUBLISHED)
    client.force_login(make_delegate(DelegationFactory(country="NO")))

    response = client.get(reverse("library"), HTTP_ACCEPT_LANGUAGE=language)

    country = next(facet for facet in response.context["results"].facets if facet.name == "country")
    assert [option["label"] for option in country.options] == expected


def curation_page(client, practice, **params):
    return client.get(reverse("library_practice", args=[practice.pk]), params)


def test_library_merge_offers_the_same_country_practices_closest_title_first(client):
    france, japan = DelegationFactory(country="FR"), DelegationFactory(country="JP")
    practice = PracticeFactory(delegation=france, visibility=Visibility.PUBLISHED, title="Interministerial crisis cell")
    far = PracticeFactory(delegation=france, visibility=Visibility.PUBLISHED, title="Open budget portal")
    close = PracticeFactory(delegation=france, visibility=Visibility.PUBLISHED, title="Inter-ministerial crisis cell (2023)")
    PracticeFactory(delegation=japan, visibility=Visibility.PUBLISHED, title="Interministerial crisis cell")
    PracticeFactory(delegation=france, visibility=Visibility.HIDDEN, title="Interministerial crisis cell, hidden")
    client.force_login(make_secretariat())

    html = curation_page(client, practice).content.decode()

    assert html.index(f'id="merge-into-{close.pk}"') < html.index(f'id="merge-into-{far.pk}"')
    assert html.count('name="into"') == 2  # neither itself, another country's, nor a hidden practice
    assert f'<label for="merge-into-{close.pk}">Inter-ministerial crisis cell (2023)' in html


def test_library_merge_search_finds_the_practice_to_keep_by_words_or_number(client):
    practice = PracticeFactory(visibility=Visibility.PUBLISHED, title="Fact-checking desk")
    other = PracticeFactory(delegation=DelegationFactory(country="DE"), visibility=Visibility.PUBLISHED, title="Desk for fact-checking <b>claims</b>")
    client.force_login(make_secretariat())

    by_words = curation_page(client, practice, merge_q="fact checking").content.decode()
    by_number = curation_page(client, practice, merge_q=f"#{other.pk}").content.decode()

    assert f'value="{other.pk}" id="merge-into-{other.pk}"' in by_words
    assert f'id="merge-into-{practice.pk}"' not in by_words
    assert "Desk for fact-checking &lt;b&gt;claims&lt;/b&gt;" in by_words
    assert f'id="merge-into-{other.pk}"' in by_number


def test_library_merge_with_the_chosen_practice_merges_it(client):
    keeper = PracticeFactory(visibility=Visibility.PUBLISHED, title="Citizens' panel")
    duplicate = PracticeFactory(delegation=keeper.delegation, visibility=Visibility.PUBLISHED, title="Citizens panel")
    client.force_login(make_secretariat())
    assert f'id="merge-into-{keeper.pk}"' in curation_page(client, duplicate).content.decode()

    response = client.post(reverse("library_curate", args=[duplicate.pk]), {"action": "merge", "into": str(keeper.pk)})

    assert response.url == reverse("library_practice", args=[keeper.pk])
    assert Practice.objects.get(pk=duplicate.pk).merged_into_id == keeper.pk


def test_themes_a_delegate_types_become_suggestions_the_secretariat_maps(client):
    from .factories import SessionFactory

    france = DelegationFactory(country="FR")
    session = SessionFactory()
    session.meeting.delegations.add(france)
    client.force_login(make_delegate(france))
    client.post(reverse("new_practice", args=[session.meeting.slug, session.number]), {
        "title": "Cellule de veille", "description": "Une équipe détecte les campagnes.", "key": "k1",
        "themes": "Désinformation ; <i>Veille</i>, désinformation",
    })
    PracticeFactory(session=session, delegation=france).themes.create(meeting=session.meeting, name="DÉSINFORMATION")
    typed = Practice.objects.get(title="Cellule de veille")
    client.force_login(make_secretariat())

    html = client.get(reverse("library_themes")).content.decode()

    assert re.search(r'<label for="map-\d+">Désinformation \(2\)</label>', html, re.IGNORECASE)  # one theme per practice whatever the case
    assert "&lt;i&gt;Veille&lt;/i&gt; (1)" in html
    # The likely vocabulary theme is chosen already; one with no word in common is not guessed.
    assert '<option value="mis-disinformation" selected>Mis- and disinformation (suggested)</option>' in html
    assert html.count(" selected>") == 1
    response = client.post(reverse("library_themes"), {"action": "map", "name": "désinformation", "theme": "mis-disinformation"})
    assert response.status_code == 302
    assert [list(p.library_themes.values_list("slug", flat=True)) for p in Practice.objects.order_by("pk")] == [["mis-disinformation"]] * 2
    assert typed.themes.count() == 2


def test_library_lets_a_phone_reader_skip_the_filters_to_the_results(client):
    for code in ("FR", "DE"):
        PracticeFactory(delegation=DelegationFactory(country=code), visibility=Visibility.PUBLISHED)
    client.force_login(make_delegate(DelegationFactory(country="NO")))

    english = client.get(reverse("library")).content.decode()
    french = client.get(reverse("library"), {"country": "FR"}, HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert '<a href="#library-count">Skip the filters to the 2 practices</a>' in english
    assert english.index("Skip the filters") < english.index('class="library-facet"') < english.index('id="library-count"')
    assert '<a href="#library-count">Passer les filtres\u00a0: 1 pratique</a>' in french


def _practice_with_free_themes(**kwargs):
    from sessions_app.models import LibraryAccess, Theme

    from .factories import MeetingFactory, SessionFactory

    session = SessionFactory(meeting=MeetingFactory(library=LibraryAccess.PUBLIC))
    practice = PracticeFactory(session=session, visibility=Visibility.PUBLISHED, **kwargs)
    for name in ("co-ordination", "<script>alert(1)</script>"):
        practice.themes.add(Theme.objects.create(meeting=session.meeting, name=name))
    return practice


def test_library_detail_shows_the_typed_themes_to_the_secretariat_escaped(client):
    practice = _practice_with_free_themes()
    client.force_login(make_secretariat())

    html = curation_page(client, practice).content.decode()

    free = html[html.index('id="free-themes"'):html.index("</p>", html.index('id="free-themes"'))]
    assert '<span class="tag tag-free">co-ordination</span>' in free
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in free and "<script>alert" not in html
    assert reverse("library_themes") in free  # where to map them


def test_library_detail_shows_the_typed_themes_to_their_own_delegation(client):
    practice = _practice_with_free_themes()
    client.force_login(make_delegate(practice.delegation))

    html = curation_page(client, practice).content.decode()

    assert '<span class="tag tag-free">co-ordination</span>' in html
    assert reverse("library_themes") not in html


@pytest.mark.parametrize("reader", ["other delegation", "anonymous"])
def test_library_detail_hides_the_unreviewed_typed_themes_from_other_readers(client, reader):
    practice = _practice_with_free_themes()
    if reader == "other delegation":
        client.force_login(make_delegate(DelegationFactory(country="NO")))

    response = curation_page(client, practice)

    assert response.status_code == 200
    assert "co-ordination" not in response.content.decode()


def test_library_detail_in_french_holds_the_colon_to_the_country_name(client):
    practice = PracticeFactory(delegation=DelegationFactory(country="FR"), visibility=Visibility.PUBLISHED)
    client.force_login(make_secretariat())

    french = client.get(reverse("library_practice", args=[practice.pk]), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    english = client.get(reverse("library_practice", args=[practice.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert '<li class="provenance">France\u00a0: <a href=' in french  # was "France: ", English punctuation
    assert '<li class="provenance">France: <a href=' in english
