"""A French version of a meeting's notes, imported beside the English ones, paragraph numbers matching."""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from sessions_app import importer, services
from sessions_app.models import Block, Meeting

from .factories import DelegationFactory, make_delegate

pytestmark = pytest.mark.django_db

ENGLISH = """Annual Meeting of Senior Officials

OECD, Paris, France
22-23 November 2023

Session 1: Trust in public institutions

1. **Trust matters.** Trust is resilient (OECD, 2023^[1]).

2. Centres of government co-ordinate.

Box 1. The Reinforcing Democracy Initiative

- Mis- and disinformation

Source: OECD.

Key questions for discussion:

- What works?
- What does not?

Session 2: Foresight

3. Strategic foresight helps.

Key questions for discussion

- How do you use foresight?

References

- OECD (2023), Government at a Glance. [1]
"""

FRENCH = """Réunion annuelle des hauts responsables

OCDE, Paris, France
22-23 novembre 2023

Session 1 : La confiance dans les institutions publiques

1. **La confiance compte.** La confiance résiste (OCDE, 2023^[1]).

2. Les centres de gouvernement coordonnent.

Encadré 1. L’Initiative pour renforcer la démocratie

- Mésinformation et désinformation

Source : OCDE.

Questions clés pour la discussion :

- Qu’est-ce qui fonctionne ?
- Qu’est-ce qui ne fonctionne pas ?

Séance 2 : Prospective

3. La prospective stratégique aide.

Questions clés pour la discussion

- Comment utilisez-vous la prospective ?

Références

- OCDE (2023), Panorama des administrations publiques. [1]
"""


def parse(text: str):
    return importer.parse_notes_bytes(text.encode())


@pytest.fixture
def meeting():
    return services.import_meeting_notes(parse(ENGLISH), source_name="en.txt")


def test_french_notes_parse_with_french_keywords():
    notes = parse(FRENCH)
    assert [(s.number, s.title) for s in notes.sessions] == [(1, "La confiance dans les institutions publiques"), (2, "Prospective")]
    first = notes.sessions[0]
    assert [b.kind for b in first.blocks] == ["paragraph", "paragraph", "box"]
    assert first.blocks[2].source == "OCDE."
    assert [q.text for q in first.questions] == ["Qu’est-ce qui fonctionne ?", "Qu’est-ce qui ne fonctionne pas ?"]
    assert [r.number for r in notes.references] == [1]


def test_translation_attaches_french_blocks_titles_and_questions(meeting):
    services.import_notes_translation(parse(FRENCH), meeting=meeting, language="fr")
    session = meeting.sessions.get(number=1)
    french = list(session.blocks.filter(language="fr"))
    assert [b.number for b in french if b.kind == "paragraph"] == [1, 2]
    assert "La confiance compte." in french[0].html and 'href="#ref-1"' in french[0].html
    assert session.blocks.filter(language="").count() == 3  # the English blocks are untouched
    assert session.translations == {"fr": {"title": "La confiance dans les institutions publiques"}}
    assert session.questions.get(position=1).translations["fr"]["text"] == "Qu’est-ce qui fonctionne ?"


def test_translation_with_other_paragraph_numbers_is_refused_whole(meeting):
    broken = FRENCH.replace("3. La prospective", "4. La prospective")
    with pytest.raises(importer.NotesError) as error:
        services.import_notes_translation(parse(broken), meeting=meeting, language="fr")
    assert "Session 2 of the translation" in error.value.message and "4-4" in error.value.message
    assert error.value.line is not None
    assert not Block.objects.filter(language="fr").exists()
    assert meeting.sessions.get(number=1).translations == {}


def test_translation_with_another_number_of_questions_is_refused(meeting):
    broken = FRENCH.replace("- Qu’est-ce qui ne fonctionne pas ?\n", "")
    with pytest.raises(importer.NotesError, match="has 1 discussion questions; the notes have 2"):
        services.import_notes_translation(parse(broken), meeting=meeting, language="fr")
    assert not Block.objects.filter(language="fr").exists()


def test_translation_in_the_notes_own_language_is_refused(meeting):
    with pytest.raises(importer.NotesError, match="another of the app's languages"):
        services.import_notes_translation(parse(FRENCH), meeting=meeting, language="en")


def test_reimporting_the_english_notes_keeps_the_french_version(meeting):
    services.import_notes_translation(parse(FRENCH), meeting=meeting, language="fr")
    services.import_meeting_notes(parse(ENGLISH), source_name="en.txt")
    assert Block.objects.filter(language="fr").count() == 4
    assert Block.objects.filter(language="").count() == 4


def test_delegates_switch_between_the_english_and_french_notes(client, meeting):
    services.import_notes_translation(parse(FRENCH), meeting=meeting, language="fr")
    france = DelegationFactory(country="FR")
    meeting.delegations.add(france)
    client.force_login(make_delegate(france))
    url = reverse("session", args=[meeting.slug, 1])

    english = client.get(url).content.decode()
    assert '<div class="briefing-body" lang="en">' in english and "Trust matters." in english
    assert 'href="?notes=fr" lang="fr" hreflang="fr">Français</a>' in english

    french = client.get(url + "?notes=fr").content.decode()
    assert '<div class="briefing-body" lang="fr">' in french and "La confiance compte." in french
    assert "Trust matters." not in french
    assert '<span lang="fr">La confiance dans les institutions publiques</span>' in french
    assert 'aria-current="true">Français' in french


def test_french_interface_opens_the_french_notes_and_shows_questions_in_both(client, meeting):
    services.import_notes_translation(parse(FRENCH), meeting=meeting, language="fr")
    france = DelegationFactory(country="FR")
    meeting.delegations.add(france)
    client.force_login(make_delegate(france))
    page = client.get(reverse("session", args=[meeting.slug, 1]), headers={"Accept-Language": "fr"}).content.decode()
    assert "La confiance compte." in page
    assert '<p class="question-translation" lang="fr">Qu’est-ce qui fonctionne ?</p>' in page
    assert "What works?" in page  # the question as asked stays, answers are to it


def test_import_notes_command_attaches_a_translation(tmp_path, meeting):
    path = tmp_path / "notes.fr.txt"
    path.write_text(FRENCH, encoding="utf-8")
    call_command("import_notes", str(path), "--translation-of", meeting.slug, "--language", "fr")
    assert Block.objects.filter(language="fr").count() == 4
    with pytest.raises(CommandError, match="No meeting"):
        call_command("import_notes", str(path), "--translation-of", "nope", "--language", "fr")
    assert Meeting.objects.count() == 1


def test_json_record_carries_the_french_notes_to_another_instance(meeting):
    from sessions_app.exports import record

    services.import_notes_translation(parse(FRENCH), meeting=meeting, language="fr")
    data = record.build(meeting)
    meeting.delete()
    restored = record.restore_record(record.parse(data))
    session = restored.sessions.get(number=1)
    assert [b.kind for b in session.blocks.filter(language="fr")] == ["paragraph", "paragraph", "box"]
    assert session.blocks.filter(language="").count() == 3
    assert session.translations["fr"]["title"] == "La confiance dans les institutions publiques"
    assert session.questions.get(position=2).translations["fr"]["text"] == "Qu’est-ce qui ne fonctionne pas ?"
