"""What every live fragment is made of: the event numbers it carries, its partial template, and its
rendering once per language its group's sockets use (renderers.py, votes.py, screen.py build on these)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from ..models import Meeting
from ..zones import zone_of
from .fanout import Listeners

Fragments = list[tuple[str, str]]
Lazy = str | Callable[[], str]
LazyFragments = list[tuple[str, Lazy]]  # what renderers return: see render_event


def seq_marker(seq: int, *, covers: list[int] | None = None, through: bool = False) -> str:
    """Carried by every message: the client sends the last one it saw when it reconnects.

    A live message also says which event numbers it carries (`covers`, as ranges "4-6,9-9"), so that
    a console, which gets a fragment for every event, notices a number that never arrived (dropped
    by the channel layer, Redis or a process) and resyncs. A catch-up ends with a `through` marker:
    the page has everything up to `seq`.
    """
    extra = f' data-seqs="{seq_ranges(covers)}"' if covers else ""
    if through:
        extra += " data-through"
    return f'<span id="live-seq" data-seq="{int(seq)}"{extra} hidden hx-swap-oob="true"></span>'


def seq_ranges(seqs: list[int]) -> str:
    """Sorted event numbers as ranges: [4, 5, 6, 9] -> "4-6,9-9"."""
    ranges: list[list[int]] = []
    for seq in sorted(set(int(seq) for seq in seqs)):
        if ranges and seq == ranges[-1][1] + 1:
            ranges[-1][1] = seq
        else:
            ranges.append([seq, seq])
    return ",".join(f"{first}-{last}" for first, last in ranges)


def render(template: str, **context) -> str:
    """A partial of sessions_app/partials/ with this context, in the active language."""
    return render_to_string(f"sessions_app/partials/{template}.html", context)


def in_languages(fragments: LazyFragments, meeting: Meeting, listeners: Listeners | None, *, seq: int,
                  covers: list[int] | None = None) -> list[tuple[str, dict[str, str], int]]:
    """(group, {language: html}, seq): each fragment in the languages its group's sockets use."""
    languages = None if listeners is None or not fragments else listeners({group for group, _html in fragments})
    by_group: dict[str, dict[str, str]] = {}
    for language, _name in settings.LANGUAGES:
        groups = None if languages is None else {group for group, _html in fragments if language in languages.get(group, ())}
        if groups is not None and not groups:
            continue
        with translation.override(language), timezone.override(zone_of(meeting)):
            for group, html in evaluated(fragments, seq=seq, groups=groups, covers=covers):
                by_group.setdefault(group, {})[language] = html
    return [(group, html, seq) for group, html in by_group.items()]


def evaluated(fragments: LazyFragments, *, seq: int, groups: set[str] | None = None, covers: list[int] | None = None) -> Fragments:
    """(group, html) for the wanted groups, each fragment evaluated now and marked with its event numbers."""
    rendered = []
    for group, html in fragments:
        if groups is not None and group not in groups:
            continue
        html = html() if callable(html) else html
        if html or html is NUMBERS_ONLY:
            rendered.append((group, seq_marker(seq, covers=covers) + html))
    return rendered


# A fragment that is only the message's event numbers: a console counts every event it is sent (to
# notice one missing), also a vote whose counts follow in a later message (TallyThrottle). Its own
# object: every other empty fragment means "nothing for this group".
class _NumbersOnly(str):
    pass


NUMBERS_ONLY = _NumbersOnly("")


def later(template: str, **context) -> Callable[[], str]:
    """A fragment rendered only if some socket wants it (in the language active then)."""
    return lambda: render(template, **context)

