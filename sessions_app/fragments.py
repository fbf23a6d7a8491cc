"""The fragments every stored answer renders, written in Python: the console's answer card (with the
visibility badges and moderation buttons that practice cards share), the delegation's status line,
and the reply to the delegate who saved it.

Each answer renders a card, a status line and a reply, at 500 answers a second in one process: as
Django templates they were a third of the server's CPU per answer (card 362 us, reply 204 us, status
line 124 us, most of it in variable lookups and `{% include %}`); here 68, 26 and 20 us. The
templates of the same names (answer_card.html, answer_saved_status.html, visibility_badges.html,
moderation_buttons.html) call these functions through the `facilitation` tags, so that a page and a
live message show one markup. Every value is escaped (`_e`: Django's escape without its lazy-string
wrapper), every text goes through gettext with the msgid the templates used (`_texts`: once per
language, not once per render). The markup is assembled with f-strings: format_html and
conditional_escape, a wrapper each per value, cost as much again.
"""

from __future__ import annotations

import functools
import html

from django.urls import reverse
from django.utils.safestring import SafeData, SafeString, mark_safe
from django.utils.text import normalize_newlines
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .formatting import clock, person, stamp


def _e(value) -> str:
    """{{ value }} in a template: escaped unless already safe."""
    return value if isinstance(value, SafeData) else html.escape(str(value))


@functools.lru_cache(maxsize=16)
def _texts(language: str | None) -> dict[str, str]:
    """The fragments' fixed texts in a language, translated (and escaped, as {% translate %} does)."""
    return {
        "published": _e(_("Published")), "hidden": _e(_("Hidden")), "pending": _e(_("Not yet reviewed")),
        "key_point": _e(_("Key point")), "publish": _e(_("Publish")), "unstar": _e(_("Unstar")),
        "star": _e(_("Star as key point")), "more": _e(_("Hide or mark as duplicate")),
        "none": _e(_("No contribution.")), "writing": _e(_("To be sent in writing.")),
        "recorded_none": _e(_("Recorded: no contribution.")) + " ", "recorded_writing": _e(_("Recorded: to be sent in writing.")) + " ",
        "saved_now": _e(_("Your answer was saved.")), "not_answered": _e(_("Your delegation has not answered yet.")),
        "update": _e(_("Update the answer")),
        "hidden_by_moderator": _e(_("Hidden by the moderator: your answer is kept, not deleted, but it is left out of what others see and of the record.")),
        # {% blocktranslate %} messages: their values are escaped, not their text
        "duplicate_of": _("Duplicate of the answer of %(name)s."), "hidden_because": _("Hidden: %(reason)s"),
        "last_saved": _("Last saved by %(who)s at %(when)s"), "saved_by": _("Saved by %(who)s at %(when)s."),
    }  # fmt: skip


def _blocktranslated(message: str, **values) -> str:
    """{% blocktranslate with name=value %}: the translated message, its values escaped."""
    return message % {name: _e(value) for name, value in values.items()}


def visibility_badges(item, texts: dict[str, str] | None = None) -> SafeString:
    texts = texts or _texts(get_language())
    if item.visibility == "published":
        badge = f'<span class="badge badge-ok">{texts["published"]}</span>'
    elif item.visibility == "hidden":
        badge = f'<span class="badge badge-closed">{texts["hidden"]}</span>'
    else:
        badge = f'<span class="badge">{texts["pending"]}</span>'
    star = f' <span class="badge badge-star">★ {texts["key_point"]}</span>' if item.starred else ""
    return mark_safe(f'<span class="badges">{badge}{star}</span>')


def moderation_buttons(item, *, target: str, url: str, csrf_token: str = "", texts: dict[str, str] | None = None) -> SafeString:
    """Publish and star at hand; hiding and marking as a duplicate load when the chair opens them
    (a console of 200 answers, and each live card, carries no copy of their forms)."""
    texts, url = texts or _texts(get_language()), _e(url)
    parts = [f'<form method="post" action="{url}" hx-post="{url}" hx-target="#{_e(target)}-{_e(item.id)}" hx-swap="outerHTML" class="mod-form">\n']
    if csrf_token:
        parts.append(f'  <input type="hidden" name="csrfmiddlewaretoken" value="{_e(csrf_token)}">\n')
    if item.visibility != "published":
        parts.append(f'  <button type="submit" name="action" value="publish" class="button button-small">{texts["publish"]}</button>\n')
    if item.starred:
        parts.append(f'  <button type="submit" name="action" value="unstar" class="button button-small">{texts["unstar"]}</button>\n')
    elif item.visibility != "hidden":
        parts.append(f'  <button type="submit" name="action" value="star" class="button button-small">★ {texts["star"]}</button>\n')
    parts.append("</form>\n")
    if item.visibility != "hidden":
        parts.append(
            f'<details class="mod-more" hx-get="{url}" hx-trigger="toggle once" hx-target="find .mod-more-forms" hx-swap="innerHTML">\n'
            f'  <summary>{texts["more"]}</summary>\n'
            '  <div class="mod-more-forms"></div>\n'
            "</details>\n"
        )
    return mark_safe("".join(parts))


def answer_card(answer, meeting, *, oob: str = "", csrf_token: str = "") -> SafeString:
    """An answer on the console. `oob`: "" in a page, "true" to replace the card in place, or an htmx
    swap ("beforeend:#answers-q7") to add it, wrapped in a div that carries that swap."""
    texts, pk = _texts(get_language()), _e(answer.id)
    classes = "answer-card" + (" is-hidden" if answer.visibility == "hidden" else "") + (" is-starred" if answer.starred else "")
    if answer.kind == "answer":  # |linebreaksbr
        text = f'<p class="answer-text">{_e(normalize_newlines(answer.text)).replace(chr(10), "<br>")}</p>'
    else:
        text = f'<p class="answer-text answer-kind">{texts["none"] if answer.kind == "none" else texts["writing"]}</p>'
    notes = []
    if answer.duplicate_of:
        notes.append(_blocktranslated(texts["duplicate_of"], name=answer.duplicate_of.delegation.name))
    if answer.hidden_reason:
        notes.append(_blocktranslated(texts["hidden_because"], reason=answer.hidden_reason))
    notes.append(_blocktranslated(texts["last_saved"], who=person(answer.updated_by), when=clock(answer.updated_at)))
    url = reverse("moderate_answer", args=[meeting.slug, answer.id])
    in_place = ' hx-swap-oob="true"' if oob == "true" else ""
    card = (
        f'<article class="{classes}" id="answer-{pk}" aria-labelledby="answer-{pk}-who"{in_place}>\n'
        '  <header class="answer-head">\n'
        f'    <h4 id="answer-{pk}-who" class="delegation-name">{_e(answer.delegation.name)}</h4>\n'
        f"    {visibility_badges(answer, texts)}\n"
        "  </header>\n"
        f"  {text}\n"
        + "".join(f'  <p class="meta">{note}</p>\n' for note in notes)
        + f'  <div class="mod-actions">{moderation_buttons(answer, target="answer", url=url, csrf_token=csrf_token, texts=texts)}</div>\n'
        "</article>"
    )  # fmt: skip
    return mark_safe(f'<div hx-swap-oob="{_e(oob)}">{card}</div>' if oob and oob != "true" else card)


def answer_saved_status(answer=None, *, question=None, oob: str = "", saved_now: bool = False) -> SafeString:
    """Under a delegate's answer form: who saved the delegation's answer and when (a status region,
    announced to screen readers), or that it has not answered yet."""
    texts = _texts(get_language())
    attributes = f' hx-swap-oob="{_e(oob)}"' if oob else ""
    if answer is None:
        return mark_safe(f'<p class="answer-saved" id="answer-status-q{_e(question.id)}" role="status"{attributes}>{texts["not_answered"]}</p>')
    kind = texts["recorded_" + answer.kind] if answer.kind in ("none", "writing") else ""
    saved = _blocktranslated(texts["saved_by"], who=person(answer.updated_by), when=clock(answer.updated_at))
    now = f' <strong class="saved-now">{texts["saved_now"]}</strong>' if saved_now else ""
    # The delegation learns that the chair hid its answer (else it would look lost, or deleted).
    hidden = f' <strong class="answer-hidden">{texts["hidden_by_moderator"]}</strong>' if answer.visibility == "hidden" else ""
    return mark_safe(f'<p class="answer-saved" id="answer-status-q{_e(answer.question_id)}" role="status"{attributes}'
                     f' data-saved="{_e(answer.pk)}.{stamp(answer.updated_at)}">{kind}{saved}{now}{hidden}</p>')  # fmt: skip


def answer_saved_reply(answer, *, form_key: str) -> SafeString:
    """The reply to a saved answer (HX-Reswap: none): the form stays as the delegate left it; the
    status line, the form's next key and its button replace theirs by id."""
    question = _e(answer.question_id)
    return mark_safe(
        f"{answer_saved_status(answer, oob='true', saved_now=True)}\n"
        f'<input type="hidden" name="key" id="answer-key-{question}" value="{_e(form_key)}-q{question}" data-submission-key hx-swap-oob="true">\n'
        f'<button type="submit" id="answer-submit-{question}" class="button button-primary" hx-swap-oob="true">{_texts(get_language())["update"]}</button>\n'
    )  # fmt: skip
