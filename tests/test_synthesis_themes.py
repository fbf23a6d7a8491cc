"""Themes of a question's answers, computed offline: the method on answers written for the test."""

import pytest

from sessions_app.synthesis import themes
from sessions_app.synthesis.themes import Text, synthesise

pytestmark = pytest.mark.embedded_pass  # pure: the services pass leaves it out (tests/conftest.py)

WATER = [
    "Irrigation and drought management: we store rain water for farmers during drought.",
    "Water scarcity: drought plans, irrigation quotas and rain water storage for farms.",
    "Our farmers face drought; irrigation efficiency and water storage are priorities.",
    "Drought resilience through irrigation reform and water pricing for farmers.",
]
SCHOOL = [
    "Teacher training and school curricula on climate education for pupils.",
    "Climate education in every school, with teacher training and new curricula.",
    "Pupils learn climate science at school; teachers receive training.",
    "School curricula now include climate education; teacher training programmes expanded.",
]
OFF_TOPIC = "The football stadium renovation finished on budget last spring."


def texts_of(answers, first_id=1):
    return [Text(answer=first_id + i, delegation=100 + first_id + i, text=text) for i, text in enumerate(answers)]


def test_two_clear_topics_give_two_themes_with_the_right_members():
    result = synthesise(texts_of(WATER + SCHOOL))
    assert [theme["members"] for theme in result["themes"]] == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert [theme["delegations"] for theme in result["themes"]] == [[101, 102, 103, 104], [105, 106, 107, 108]]
    assert result["outliers"] == []
    water, school = result["themes"]
    assert {"drought", "irrigation", "water"} <= set(water["terms"])
    assert {"school", "climate"} <= set(school["terms"])
    assert water["central"] in water["members"] and school["central"] in school["members"]


def test_an_off_topic_answer_is_an_outlier_and_in_no_theme():
    result = synthesise(texts_of(WATER + SCHOOL + [OFF_TOPIC]))
    assert result["outliers"] == [9]
    assert all(9 not in theme["members"] for theme in result["themes"])
    assert len(result["themes"]) == 2


def test_the_same_answers_give_the_same_themes_in_any_order():
    answers = texts_of(WATER + SCHOOL + [OFF_TOPIC])
    assert synthesise(answers) == synthesise(list(reversed(answers))) == synthesise(answers)


def test_no_theme_holds_a_single_answer():
    # One answer on schools only: it cannot be a theme of its own, so it is unlike the others or joins one.
    result = synthesise(texts_of(WATER + SCHOOL[:2] + ["Teacher unions and pay scales."]))
    assert all(len(theme["members"]) >= 2 for theme in result["themes"])


def test_french_answers_with_and_without_accents_share_their_words():
    french = [
        "L'énergie solaire et l'éolien pour les régions rurales.",
        "Energie solaire: des panneaux dans les regions rurales.",
        "Les énergies renouvelables, solaire et éolienne, en zone rurale.",
        "La santé publique: hôpitaux et médecins de campagne.",
        "Sante: plus de medecins et d'hopitaux regionaux.",
        "Hôpitaux ruraux et santé publique, manque de médecins.",
    ]
    result = synthesise(texts_of(french))
    assert [theme["members"] for theme in result["themes"]] == [[1, 2, 3], [4, 5, 6]]
    # Labels are shown as most delegations wrote them, accents included; stop words never appear.
    energy, health = result["themes"]
    assert "solaire" in energy["terms"] and "énergie" in energy["terms"]
    assert {"santé", "médecins", "hôpitaux"} <= set(health["terms"])
    assert not {"les", "des", "et", "de"} & set(energy["terms"] + health["terms"])


def test_stop_words_alone_make_no_theme():
    result = synthesise(texts_of(["We are in favour of it.", "Nous sommes pour.", "It is what it is."]))
    assert result["themes"] == [] and result["reason"] == themes.FEW_ANSWERS
    assert result["outliers"] == [1, 2, 3]


@pytest.mark.parametrize("count", [0, 1])
def test_too_few_answers_say_so(count):
    result = synthesise(texts_of(WATER[:count]))
    assert result["themes"] == [] and result["reason"] == themes.FEW_ANSWERS


def test_answers_on_one_topic_make_one_theme():
    result = synthesise(texts_of(WATER))
    assert [theme["members"] for theme in result["themes"]] == [[1, 2, 3, 4]]


def test_merged_themes_stay_merged_when_an_answer_arrives():
    first = synthesise(texts_of(WATER + SCHOOL))
    anchors = sorted(theme["central"] for theme in first["themes"])
    edits = {"merges": [anchors]}
    merged = synthesise(texts_of(WATER + SCHOOL), edits)
    assert [theme["members"] for theme in merged["themes"]] == [[1, 2, 3, 4, 5, 6, 7, 8]]
    later = synthesise(texts_of(WATER + SCHOOL + ["More irrigation for farmers hit by drought and water shortage."]), edits)
    assert [theme["members"] for theme in later["themes"]] == [[1, 2, 3, 4, 5, 6, 7, 8, 9]]


def test_a_name_follows_its_theme_through_recomputation():
    first = synthesise(texts_of(WATER + SCHOOL))
    edits = {"names": [{"members": first["themes"][1]["members"], "name": "Climate in schools"}]}
    later = synthesise(texts_of(WATER + SCHOOL + ["Climate education and teacher training in each school."]), edits)
    # The larger theme is listed first.
    assert [(theme["name"], theme["members"]) for theme in later["themes"]] == [
        ("Climate in schools", [5, 6, 7, 8, 9]), ("", [1, 2, 3, 4])]
