"""Issue 5 in a real browser: a delegate who switches to French sees no English interface text.

The meeting's own content (briefing, questions, titles) stays English and is marked lang="en"; it
is left out, as are what people typed (form fields) and people's names. Everything else a person
sees or hears is checked: every text node, and the aria-label, title, placeholder and alt
attributes, the labels the page keeps in data-* attributes for its scripts, and the window title.
It is checked against the English msgids of the French catalogue (those whose French differs), so
a string the page shows untranslated is named with the msgid to fix, and against a few English
words that are no French words, for text that was never marked for translation.

Finland answers question 3 of session 1 (no other browser test answers for Finland or counts the
answers to that question), once in English and once in French, so the page also shows the status
the server renders for an answer and the one it pushes over the WebSocket in French.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import Page, expect

from .helpers import LIVE_TIMEOUT, ROOT, answer_replied, console_errors_except_favicon, open_live_page, question_id, submit_answer, unique

pytestmark = pytest.mark.browser

PO = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
# English words that are not also French words (so no "on", "a", "or", "an", "page", "date" ...).
ENGLISH_WORDS = {
    "the", "and", "of", "your", "you", "has", "have", "been", "was", "were", "with", "this", "that", "yet",
    "not", "by", "for", "from", "to", "is", "will", "can", "into", "only", "each", "no", "who", "what",
    "when", "which", "there", "their", "its", "it", "be", "all", "any", "here", "at",
}
_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")

# Everything a person sees or hears in the page's own language, with where it is.
VISIBLE_TEXT_JS = """() => {
  const pageLang = document.documentElement.lang;
  const outside = (el) => !el.closest('script, style, template, noscript, textarea, select[hidden], [translate="no"]')
      && (el.closest('[lang]') || document.documentElement).lang === pageLang;
  const where = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const found = [{where: 'title', text: document.title}];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    const text = node.textContent.replace(/\\s+/g, ' ').trim();
    if (text && outside(el)) found.push({where: where(el), text});
  }
  for (const el of document.body.querySelectorAll('*')) {
    if (!outside(el)) continue;
    for (const attr of el.attributes) {
      const seen = ['aria-label', 'title', 'placeholder', 'alt'].includes(attr.name)
        || (attr.name.startsWith('data-') && /\\p{L}{2,}\\s+\\p{L}/u.test(attr.value))
        || (attr.name === 'value' && el.matches('input[type=submit], input[type=button]'));
      if (seen && attr.value.trim()) found.push({where: where(el) + '[' + attr.name + ']', text: attr.value.trim()});
    }
  }
  return found;
}"""


@dataclass(frozen=True)
class EnglishMessage:
    msgid: str
    pattern: re.Pattern


def english_messages(path: Path = PO) -> list[EnglishMessage]:
    """The catalogue's msgids whose French is different, each as a pattern that finds it in a text."""
    with path.open("rb") as fh:
        catalog = read_po(fh, locale="fr")
    messages = []
    for message in catalog:
        if not message.id:
            continue
        pairs = zip(message.id, message.string) if message.pluralizable else [(message.id, message.string)]
        for msgid, msgstr in pairs:
            msgid = msgid.replace("%%", "%")
            if msgstr.replace("%%", "%") == msgid:
                continue  # the same in both languages ("CSV", "Notes", "Question %(number)s")
            parts = _PLACEHOLDER.split(msgid)
            if not any(re.search(r"[A-Za-z]{2}", part) for part in parts):
                continue  # nothing but placeholders and punctuation
            fills = [_fill(placeholder) for placeholder in _PLACEHOLDER.findall(msgid)] + [""]
            pattern = "".join(r"\s+".join(map(re.escape, part.split(" "))) + fill for part, fill in zip(parts, fills))
            pattern = (r"\b" if msgid[:1].isalnum() else "") + pattern + (r"\b" if msgid[-1:].isalnum() else "")
            messages.append(EnglishMessage(msgid, re.compile(pattern)))
    return messages


def _fill(placeholder: str) -> str:
    """What a placeholder stands for in a page: a number for counts, else any text."""
    if placeholder.endswith("d)") or placeholder.endswith("d") or re.match(r"%\((counter|count|number|position)\)", placeholder):
        return r"\d+"
    return r".+?"


def english_in(texts: list[dict], *, data: list[str]) -> list[str]:
    """What in `texts` is English: '<where>: <text>  <- <msgids and words found>' lines.

    `data` are strings that are no interface text (people's names; the session's title in the window
    title, where no lang attribute can mark it) and are taken out first."""
    messages = english_messages()
    found = []
    for item in texts:
        text = item["text"]
        for value in data:
            text = text.replace(value, " ")
        reasons = [f"msgid {message.msgid!r}" for message in messages if message.pattern.search(text)]
        words = {word.lower() for word in re.findall(r"[A-Za-z]+", text)} & ENGLISH_WORDS
        if words:
            reasons.append(f"English words {sorted(words)}")
        if reasons:
            found.append(f"{item['where']}: {item['text']!r}  <- {'; '.join(reasons)}")
    return found


def switch_language(page: Page, to: str) -> None:
    """The language switch of the top bar, as a person uses it."""
    button = page.locator(".lang-form button[name=language][value=%s]" % to)
    with page.expect_navigation():
        button.click()
    expect(page.locator("html")).to_have_attribute("lang", to)


def test_checker_names_english_interface_text():
    texts = [
        {"where": "p#ok", "text": "Enregistré par Delegate Finland à 10:42."},
        {"where": "span#same", "text": "Notes"},
        {"where": "button#submit", "text": "Submit the answer"},
        {"where": "p#saved", "text": "Saved by Ana at 10:42."},
        {"where": "p#mixed", "text": "Votre délégation has the floor."},
        {"where": "p#unmarked", "text": "Nothing to see in here"},
    ]
    found = english_in(texts, data=["Delegate Finland"])
    assert [line.split(":")[0] for line in found] == ["button#submit", "p#saved", "p#mixed", "p#unmarked"]
    assert "msgid 'Submit the answer'" in found[0]
    assert "msgid 'Saved by %(who)s at %(when)s.'" in found[1]
    assert "msgid '%(name)s has the floor'" in found[2]
    assert "English words ['here', 'to']" in found[3]


def test_delegate_session_page_in_french_shows_no_english_interface_text(new_context, meeting_slug):
    context = new_context(user="delegate-fi")
    page = open_live_page(context, f"/meetings/{meeting_slug}/sessions/1/")
    qid = question_id(page, 3)
    submit_answer(page, qid, unique("Finland's Prime Minister's Office runs a foresight network"))
    name = page.locator(".account-name").inner_text().split("·")[0].strip()  # "Delegate Finland"

    switch_language(page, "fr")
    try:
        page = open_live_page(context, page.url)  # the live connection too, now in French
        expect(page.locator("#questions-title")).to_have_text("Questions clés pour la discussion")
        # An answer sent in French: its reply and the delegation's live status both come over the socket.
        page.locator(f"#answer-text-{qid}").fill(unique("Le bureau du Premier ministre anime un réseau de prospective"))
        with answer_replied(page, qid):
            page.locator(f"#question-{qid} form.answer-form button[type=submit]").click()
        expect(page.locator(f"#answer-status-q{qid}")).to_contain_text(f"Enregistré par {name}", timeout=LIVE_TIMEOUT)
        page.wait_for_timeout(500)  # the socket's copy of the status lands after the response

        texts = page.evaluate(VISIBLE_TEXT_JS)

        assert len(texts) > 50, texts  # the page was read, not just its title
        session_title = page.locator("main h1 [lang=en]").inner_text()
        found = english_in(texts, data=[name, session_title])
        assert found == [], "English interface text on the French page:\n  " + "\n  ".join(found)
        assert console_errors_except_favicon(context) == []
    finally:
        switch_language(page, "en")  # the choice is stored on the account; leave it as it was


@pytest.mark.parametrize("path", ["/meetings/{slug}/", "/meetings/{slug}/sessions/1/practices/new/"], ids=["agenda", "practice-form"])
def test_delegate_other_pages_in_french_show_no_english_interface_text(path, new_context, meeting_slug):
    context = new_context(user="delegate-fi")
    page = context.new_page()
    page.goto(path.format(slug=meeting_slug))
    name = page.locator(".account-name").inner_text().split("·")[0].strip()
    switch_language(page, "fr")
    try:
        texts = page.evaluate(VISIBLE_TEXT_JS)
        titles = page.locator("main h1[lang=en], main h1 [lang=en]").all_inner_texts()  # in the window title too
        found = english_in(texts, data=[name, *titles])
        assert found == [], "English interface text on the French page:\n  " + "\n  ".join(found)
    finally:
        switch_language(page, "en")
