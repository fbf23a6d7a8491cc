"""Delegations are listed by their names in the interface's language, not by ISO code."""

import pytest
from django.urls import reverse
from django.utils import translation

from sessions_app.models import Delegation, by_name, name_key

from .factories import DelegationFactory, QuestionFactory, make_chair, make_delegate, make_secretariat

CODES = ["AT", "AU", "BE", "CA", "CH", "CL", "DE", "EE", "ES", "US"]


def names_in(language):
    with translation.override(language):
        return [d.name for d in by_name([Delegation(country=c) for c in CODES])]


def test_english_order_by_name_not_code():
    assert names_in("en") == [
        "Australia", "Austria", "Belgium", "Canada", "Chile", "Estonia", "Germany", "Spain", "Switzerland", "United States of America",
    ]


def test_french_order_files_accented_letters_with_their_base_letter():
    assert names_in("fr") == [
        "Allemagne", "Australie", "Autriche", "Belgique", "Canada", "Chili", "Espagne", "Estonie", "États-Unis d'Amérique", "Suisse",
    ]


def test_name_key_spells_out_ligatures_and_ignores_case():
    assert sorted(["Zambie", "Œil", "oeuf", "Ouganda"], key=name_key) == ["Œil", "oeuf", "Ouganda", "Zambie"]


@pytest.fixture
def console_world(db):
    question = QuestionFactory()
    meeting = question.session.meeting
    for code in ["CH", "AT", "AU", "EE", "US", "ES"]:
        meeting.delegations.add(DelegationFactory(country=code))
    return question


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Australia, Austria, Estonia, Spain, Switzerland, United States of America"),
        ("fr", "Australie, Autriche, Espagne, Estonie, États-Unis d&#x27;Amérique, Suisse"),
    ],
)
def test_console_lists_who_has_not_answered_or_spoken_by_name(client, console_world, language, expected):
    session = console_world.session
    client.force_login(make_chair())
    html = client.get(reverse("console", args=[session.meeting.slug, session.number]), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    # The tally of the question, then the speakers' list's "has not spoken"
    assert html.count(f'<p class="missing-list">{expected}</p>') == 2
    options = html.split('name="delegation"')[1].split("</select>")[0]
    option_names = [part.split("</option>")[0] for part in options.split('">')[1:]]
    assert ", ".join(n for n in option_names if n and not n.startswith("<")) == expected


def test_participants_page_groups_delegations_by_french_name(client, console_world):
    meeting = console_world.session.meeting
    for code in ["CH", "AT", "ES", "EE", "US"]:
        make_delegate(Delegation.objects.get(country=code))
    client.force_login(make_secretariat())
    html = client.get(reverse("participants", args=[meeting.slug]), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    positions = [html.index(f'id="delegation-{code.lower()}"') for code in ["AT", "ES", "EE", "US", "CH"]]
    assert positions == sorted(positions)
