"""The project's template filters (sessions_app/templatetags/facilitation.py)."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from sessions_app.models import Answer, Delegation
from sessions_app.templatetags.facilitation import clock, names, stamp

from .factories import DelegationFactory, QuestionFactory, make_delegate


def render(source: str, **context) -> str:
    return Template("{% load facilitation %}" + source).render(Context(context))


@pytest.mark.parametrize(
    ("moment", "zone"),
    [
        (datetime(2026, 1, 15, 8, 5, tzinfo=UTC), "Europe/Paris"),  # winter: UTC+1
        (datetime(2026, 7, 15, 23, 59, tzinfo=UTC), "Europe/Paris"),  # summer, past midnight there
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "Europe/Paris"),  # the hour the clocks go forward
        (datetime(2026, 7, 15, 12, 0, tzinfo=UTC), "Asia/Tokyo"),
    ],
)
def test_clock_shows_what_djangos_time_filter_shows_in_the_current_time_zone(moment, zone):
    with timezone.override(ZoneInfo(zone)):
        assert render("{{ moment|clock }}", moment=moment) == render('{{ moment|time:"H:i" }}', moment=moment)
        assert clock(moment) == timezone.localtime(moment).strftime("%H:%M")


def test_clock_of_nothing_is_empty_and_a_naive_time_is_shown_as_it_is():
    assert clock(None) == "" and render("{{ nothing|clock }}", nothing=None) == ""
    assert clock(datetime(2026, 1, 15, 9, 7)) == "09:07"


def test_names_lists_delegations_in_the_active_language():
    delegations = [Delegation(country="DE"), Delegation(country="JP")]
    with translation.override("fr"):
        assert names(delegations) == "Allemagne, Japon"
    assert names(delegations) == "Germany, Japan"
    assert render("{{ them|names }}", them=[Delegation(country="CI")]) == "Côte d&#x27;Ivoire"  # escaped like any value


@pytest.mark.django_db
def test_stamp_is_the_same_for_a_saved_moment_read_back_and_differs_by_a_microsecond():
    question, france = QuestionFactory(), DelegationFactory(country="FR")
    author = make_delegate(france)
    answer = Answer.objects.create(question=question, delegation=france, text="Draft", created_by=author, updated_by=author)
    again = Answer.objects.get(pk=answer.pk)
    assert stamp(answer.updated_at) == stamp(again.updated_at) == render("{{ moment|stamp }}", moment=again.updated_at)
    moment = datetime(2026, 12, 3, 16, 21, 18, 274401, tzinfo=UTC)
    assert stamp(moment) == "1796314878274401"
    assert int(stamp(moment.replace(microsecond=274402))) - int(stamp(moment)) == 1
    assert stamp(moment.astimezone(ZoneInfo("Asia/Tokyo"))) == stamp(moment) == stamp(moment.replace(tzinfo=None))
    assert stamp(None) == ""


def test_the_opinion_maps_points_escape_names_and_label_groups_in_the_active_language():
    points = [{"x": 12.5, "y": 300.0, "colour": "#1b9e77", "group": "A", "name": '<script>x("1")</script> & co'},
              {"x": 1.0, "y": 2.0, "colour": "#d95f02", "group": "B", "name": ""}]
    source = "{% load opinion %}{% opinion_map_points points %}"
    html = Template(source).render(Context({"points": points}))
    assert "<script>" not in html
    assert "<title>&lt;script&gt;x(&quot;1&quot;)&lt;/script&gt; &amp; co · Group A</title>" in html
    assert '<circle cx="1.0" cy="2.0" r="7" fill="#d95f02" stroke="#000"><title>Group B</title></circle>' in html
    assert html.count("<circle") == 2 and html.count('aria-hidden="true">A</text>') == 1
    with translation.override("fr"):
        french = Template(source).render(Context({"points": points}))
    assert "<title>Groupe B</title>" in french and 'cx="12.5"' in french  # coordinates never localised ("12,5")
