"""The interface ships in English and French.

- The French catalogue translates every message, with nothing left fuzzy and every placeholder kept.
- Templates show no English text outside translation tags (the checker lists file:line to fix).
- The catalogue is up to date with the code: `makemessages` run afresh finds nothing it lacks.
- A French-speaking delegate gets a French interface around meeting content that stays English
  and is marked `lang="en"`.

How to add or change a string: docs/translations.md.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from .factories import make_delegate

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
PO = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def _read_catalog(path: Path = PO):
    with path.open("rb") as fh:
        return read_po(fh, locale="fr", abort_invalid=True)


@pytest.fixture(scope="session", autouse=True)
def french_mo():
    """The .mo is built, not committed (`make translations`); build it here when missing or stale."""
    assert PO.exists(), f"{PO.relative_to(ROOT)} is missing: run `make messages` and translate it"
    if not MO.exists() or MO.stat().st_mtime < PO.stat().st_mtime:
        catalog = _read_catalog()
        partial = MO.with_name(f".{MO.name}.{os.getpid()}.tmp")
        with partial.open("wb") as fh:
            write_mo(fh, catalog)
        os.replace(partial, MO)  # atomic: a test run elsewhere never reads half a file
    from django.utils.translation import trans_real

    trans_real._translations.clear()
    yield MO


@pytest.fixture
def english_afterwards():
    """LocaleMiddleware activates French in this thread; later tests expect the default language."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


# --- (a) the committed catalogue --------------------------------------------------------------------

_PLACEHOLDER_RE = re.compile(r"%\((\w+)\)[#0 +-]*\d*(?:\.\d+)?[sdifrx]")


def _placeholders(text: str) -> list[str]:
    return sorted(_PLACEHOLDER_RE.findall(text.replace("%%", "")))


def _label(message) -> str:
    msgid = message.id[0] if message.pluralizable else message.id
    where = ", ".join(f"{path}:{line}" for path, line in message.locations[:2])
    return f"{msgid!r} ({where})"


def test_catalogue_header_is_french_utf8_with_two_plural_forms():
    catalog = _read_catalog()
    assert str(catalog.locale) == "fr"
    assert catalog.charset.lower() == "utf-8"
    assert catalog.num_plurals == 2
    assert catalog.plural_expr.replace(" ", "") in {"(n>1)", "n>1"}
    assert not catalog.fuzzy, "the header is still marked fuzzy"


def test_every_message_is_translated_and_none_is_fuzzy():
    catalog = _read_catalog()
    problems = []
    for message in catalog:
        if not message.id:
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {_label(message)}")
        strings = message.string if message.pluralizable else (message.string,)
        if not all(strings):
            problems.append(f"untranslated: {_label(message)}")
    assert len([m for m in catalog if m.id]) > 0
    assert not problems, "French catalogue incomplete:\n  " + "\n  ".join(problems)


def test_translations_keep_every_placeholder():
    problems = []
    for message in _read_catalog():
        if not message.id or not message.string:
            continue
        if message.pluralizable:
            pairs = [(message.id[0], message.string[0]), (message.id[1], message.string[1])]
        else:
            pairs = [(message.id, message.string)]
        for source, target in pairs:
            if target and _placeholders(source) != _placeholders(target):
                problems.append(f"{_label(message)}: {_placeholders(source)} != {_placeholders(target)} in {target!r}")
    assert not problems, "placeholders changed in translation:\n  " + "\n  ".join(problems)


# French sets a space before : ; ! ? and inside « »; a breaking one lets a phone's line start with
# the mark (seen: "Code de salle pour les observateurs" / ": BFA7VR" at 390 px).
_BREAKABLE_BEFORE_MARK = re.compile(r"\S[ \t\n](?=[:;!?»])|«[ \t\n]")


def test_french_punctuation_is_held_to_its_word_by_a_no_break_space():
    problems = []
    for message in _read_catalog():
        strings = message.string if message.pluralizable else (message.string,)
        for text in strings:
            if text and _BREAKABLE_BEFORE_MARK.search(text):
                problems.append(f"{_label(message)}: {text!r}")
    assert not problems, "a breaking space before French punctuation:\n  " + "\n  ".join(problems)


# --- (b) no visible English outside translation tags ------------------------------------------------

# Templates rendered without the i18n machinery on purpose.
EXEMPT_TEMPLATES = {"500.html"}  # Django renders it with no context when everything else failed
# Words that read the same in both languages (acronyms, the product's name).
ALLOWED_WORDS = {"QR", "ISO", "OECD", "OCDE", "CSV", "JSON", "Facilitation"}
# Attributes a user sees or hears: their values must come from translation tags or variables only.
TRANSLATED_ATTRIBUTES = ("alt", "title", "aria-label", "placeholder")

_DJANGO_COMMENT_BLOCK_RE = re.compile(r"{%\s*comment\b.*?%}.*?{%\s*endcomment\s*%}", re.S)
_BLOCKTRANSLATE_RE = re.compile(r"{%\s*blocktrans(?:late)?\b.*?%}.*?{%\s*endblocktrans(?:late)?\s*%}", re.S)
_TEMPLATE_SYNTAX_RE = re.compile(r"{#.*?#}|{%.*?%}|{{.*?}}", re.S)
_HTML_COMMENT_RE = re.compile(r"<!--.*?-->|<!DOCTYPE[^>]*>", re.S | re.I)
_RAW_TEXT_RE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.S | re.I)
# HTML's own marker for text that must not be translated (`<pre translate="no">`): skipped whole.
_NO_TRANSLATE_RE = re.compile(r"<([a-zA-Z][\w-]*)\b[^>]*\btranslate\s*=\s*[\"']?no[\"']?[^>]*>.*?</\1\s*>", re.S)
_TAG_RE = re.compile(r"<[a-zA-Z/!][^>]*>", re.S)
_ATTRIBUTE_RE = re.compile(r"([\w:-]+)\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)")
_ENTITY_RE = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|\w+);")
_URL_RE = re.compile(r"\b[a-z][a-z0-9+.-]*://\S*")
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def _blank(match: re.Match) -> str:
    """Replace a span by spaces of the same length, keeping its newlines, so offsets keep their lines."""
    return re.sub(r"[^\n]", " ", match.group(0))


def _words(text: str) -> list[str]:
    text = _URL_RE.sub(" ", _ENTITY_RE.sub(" ", text))
    return [word for word in _WORD_RE.findall(text) if word not in ALLOWED_WORDS]


def attribute_blocks(sources) -> set[str]:
    """Names of {% block %}s that sit inside an HTML tag (`class="{% block main_class %}…"`): their
    content, in any template that fills them, is an attribute value (CSS classes), not visible text."""
    names = set()
    for source in sources:
        for tag in _TAG_RE.finditer(source):
            names.update(re.findall(r"{%\s*block\s+(\w+)", tag.group(0)))
    return names


def untranslated_text(source: str, in_attributes: set[str] = frozenset()) -> list[tuple[int, str]]:
    """(line, text) for each line of a template that shows words outside translation tags."""
    text = source
    for name in in_attributes:
        text = re.sub(rf"{{%\s*block\s+{name}\s*%}}.*?{{%\s*endblock(?:\s+{name})?\s*%}}", _blank, text, flags=re.S)
    for pattern in (_DJANGO_COMMENT_BLOCK_RE, _BLOCKTRANSLATE_RE, _TEMPLATE_SYNTAX_RE, _HTML_COMMENT_RE, _RAW_TEXT_RE, _NO_TRANSLATE_RE):
        text = pattern.sub(_blank, text)
    found: list[tuple[int, str]] = []
    for tag in _TAG_RE.finditer(text):
        for name, value in _ATTRIBUTE_RE.findall(tag.group(0)):
            if name.lower() in TRANSLATED_ATTRIBUTES and _words(value.strip("\"'")):
                line = text.count("\n", 0, tag.start()) + 1
                found.append((line, f'{name}={value.strip()}'))
    text = _TAG_RE.sub(_blank, text)
    for number, line in enumerate(text.split("\n"), start=1):
        if _words(line):
            found.append((number, " ".join(line.split())))
    return sorted(found)


def test_checker_finds_english_outside_translation_tags():
    base = '<body class="{% block body_class %}{% endblock %}"><main>{% block content %}{% endblock %}</main>'
    assert attribute_blocks([base]) == {"body_class"}
    source = (
        "{% load i18n %}<h1>{% translate 'Fine' %}</h1>{% block body_class %}wide page{% endblock %}\n"
        "<p>Not marked {{ name }}</p>\n"
        '<img alt="A photo" src="x.png"><input placeholder="https://">\n'
        "{% blocktranslate %}Marked {{ x }}{% endblocktranslate %} ★ · – 42 %\n"
        "<pre translate=\"no\">name,e-mail</pre>{# a comment #}<!-- an HTML comment -->\n"
        "{% comment %}Hidden\nnotes{% endcomment %}QR &nbsp;\n"
    )
    assert untranslated_text(source, {"body_class"}) == [(2, "Not marked"), (3, 'alt="A photo"')]


def test_templates_show_no_untranslated_text():
    paths = sorted(TEMPLATES.rglob("*.html"))
    in_attributes = attribute_blocks(path.read_text(encoding="utf-8") for path in paths)
    problems = []
    for path in paths:
        if path.name in EXEMPT_TEMPLATES:
            continue
        for line, text in untranslated_text(path.read_text(encoding="utf-8"), in_attributes):
            problems.append(f"{path.relative_to(ROOT)}:{line}: {text}")
    assert not problems, (
        "Visible English outside {% translate %} / {% blocktranslate %} (wrap it, or mark literal "
        "examples translate=\"no\"):\n  " + "\n  ".join(problems)
    )


# --- (c) the catalogue is up to date with the code -------------------------------------------------

_GETTEXT_TOOLS = ("xgettext", "msgmerge", "msguniq")


@pytest.mark.embedded_pass  # reads the code and templates, not the pass's services: once, in the embedded pass
def test_catalogue_has_every_message_makemessages_finds(tmp_path):
    missing_tools = [tool for tool in _GETTEXT_TOOLS if shutil.which(tool) is None]
    if missing_tools:
        reason = f"GNU gettext not installed ({', '.join(missing_tools)} missing): cannot re-run makemessages"
        print(reason)
        pytest.skip(reason)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo")
    for name in ("templates", "sessions_app", "facilitation", "locale"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=ignore)
    shutil.copy2(ROOT / "manage.py", tmp_path / "manage.py")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "facilitation.settings", "PYTHONPATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "fr", "--no-obsolete"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, f"makemessages failed:\n{result.stdout}\n{result.stderr}"

    def key(message):
        return (message.context, message.id[0] if message.pluralizable else message.id)

    fresh = {key(m): m for m in _read_catalog(tmp_path / "locale" / "fr" / "LC_MESSAGES" / "django.po") if m.id}
    committed = {key(m): m for m in _read_catalog() if m.id}

    def translated(message) -> bool:
        strings = message.string if message.pluralizable else (message.string,)
        return not message.fuzzy and all(strings)

    missing = sorted(
        _label(message) for k, message in fresh.items() if k not in committed or not translated(committed[k])
    )
    plural_changed = sorted(
        _label(message) for k, message in fresh.items()
        if k in committed and message.pluralizable != committed[k].pluralizable
    )
    stale = sorted(_label(message) for k, message in committed.items() if k not in fresh)
    if stale:
        print("Entries no longer in the code (harmless; `make messages` drops them):\n  " + "\n  ".join(stale))
    assert not missing and not plural_changed, (
        "locale/fr/LC_MESSAGES/django.po lacks messages the code now has; run `make messages` and translate:\n  "
        + "\n  ".join(missing + [f"singular/plural changed: {label}" for label in plural_changed])
    )


# --- (d) a French-speaking delegate ----------------------------------------------------------------

ENGLISH_UI = ("Key questions for discussion", "Submit the answer", "Log out", "Briefing", "Contents")
VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SEEN_ATTRIBUTES = ("alt", "title", "aria-label", "placeholder")


class _LanguageSplitter(HTMLParser):
    """Splits a page's visible text into what is in the page's language and what is marked lang="en"."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str | None]] = []
        self.page_lang: str | None = None
        self.interface: list[str] = []
        self.content: list[str] = []
        self.hidden_depth = 0

    def _lang(self) -> str | None:
        for _, lang in reversed(self.stack):
            if lang:
                return lang
        return None

    def _sink(self) -> list[str]:
        return self.content if self._lang() not in (None, self.page_lang) else self.interface

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.page_lang = attrs.get("lang")
        lang = attrs.get("lang") or None
        self.stack.append((tag, lang))
        self._sink().extend(value for name, value in attrs.items() if name in SEEN_ATTRIBUTES and value)
        if tag in {"script", "style"}:
            self.hidden_depth += 1
        if tag in VOID_ELEMENTS:
            self.stack.pop()

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_ELEMENTS:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in {"script", "style"}:
            self.hidden_depth = max(0, self.hidden_depth - 1)
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data):
        if not self.hidden_depth and data.strip():
            self._sink().append(" ".join(data.split()))


def _split_languages(html: str) -> _LanguageSplitter:
    splitter = _LanguageSplitter()
    splitter.feed(html)
    splitter.close()
    return splitter


def _french(msgid: str) -> str:
    message = _read_catalog().get(msgid)
    assert message is not None and message.string, f"{msgid!r} has no French translation"
    return message.string


@pytest.fixture
def french_session_page(client, seed_meeting, english_afterwards, request):
    """The delegate's page of session 2, asked for in French the way browsers and the switcher do."""
    client.force_login(make_delegate(seed_meeting.delegations.get(country="FR")))
    url = reverse("session", args=[seed_meeting.slug, 2])
    if request.param == "accept-language":
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="fr")
    else:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("french_session_page", ["accept-language", "cookie"], indirect=True)
def test_delegate_gets_a_french_interface_around_english_content(french_session_page):
    page = _split_languages(french_session_page)
    visible = "\n".join(page.interface + page.content)  # the seed notes contain none of ENGLISH_UI

    assert page.page_lang == "fr"
    assert "Questions clés pour la discussion" in visible
    for english in ENGLISH_UI:
        assert english not in visible, f"English interface text {english!r} on the French page"
        assert _french(english) in visible, f"{_french(english)!r} (for {english!r}) missing from the French page"
    # The meeting's own text is not translated, and is marked as English.
    assert "What kind of co-ordination mechanisms have been put in place" in "\n".join(page.content)


@pytest.mark.django_db
@pytest.mark.parametrize("french_session_page", ["accept-language"], indirect=True)
def test_french_interface_text_is_not_marked_as_english(french_session_page):
    """Screen readers speak lang="en" text with English rules: interface labels must stay outside it."""
    page = _split_languages(french_session_page)
    labels = [_french(msgid) for msgid in ("Key questions for discussion", "Submit the answer", "Briefing", "Contents")]
    labels.append(_french("Session %(number)s") % {"number": 2})
    misplaced = [label for label in labels if any(label in text for text in page.content)]
    assert not misplaced, f"French interface labels inside lang=\"en\" elements: {misplaced}"


@pytest.mark.django_db
def test_delegation_names_follow_the_active_language_each_time():
    """Country names are looked up once per language; the cached name must still be the right language's."""
    from .factories import DelegationFactory

    delegation = DelegationFactory(country="DE")
    names = []
    for language in ["en", "fr", "en", "fr"]:
        with translation.override(language):
            names.append((delegation.name, str(delegation)))
    assert names == [("Germany", "Germany"), ("Allemagne", "Allemagne")] * 2
