"""The library as the secretariat and delegations use it: facets in reading order, theme suggestions,
picking the practice to merge into."""

import pytest
from django.urls import reverse

from sessions_app.models import Visibility

from .factories import DelegationFactory, PracticeFactory, make_delegate

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
