"""The settings the meeting settings page offers, by section.

Another capability adds its own settings by appending a Section (or a Setting to a section) to SECTIONS
in its AppConfig.ready() or module import: the page, the audit log and the read-only view follow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ..models import Meeting


@dataclass(frozen=True)
class Choice:
    value: str
    label: str | Promise
    consequence: str | Promise  # what choosing it means, in plain words


@dataclass(frozen=True)
class Setting:
    """One field of Meeting offered as a choice of values, each with its consequence spelled out."""

    name: str
    label: str | Promise
    choices: tuple[Choice, ...]
    # True when the value changes what the records say (the summary record, the compendium, ...).
    affects_records: bool = False

    def choice(self, value: str) -> Choice | None:
        return next((c for c in self.choices if c.value == value), None)


@dataclass
class Section:
    key: str
    title: str | Promise
    settings: list[Setting] = field(default_factory=list)


SECTIONS: list[Section] = [
    Section(
        key="records",
        title=_("Attribution"),
        settings=[
            Setting(
                name="attribution",
                label=_("Attribution of contributions"),
                affects_records=True,
                choices=(
                    Choice(
                        Meeting.Attribution.ATTRIBUTED,
                        Meeting.Attribution.ATTRIBUTED.label,
                        _("Each answer and practice is shown with its delegation's name in the summary record, the compendium and on the room screen."),
                    ),
                    Choice(
                        Meeting.Attribution.CHATHAM_HOUSE,
                        Meeting.Attribution.CHATHAM_HOUSE.label,
                        _("No delegation will be named in any record, nor on the room screen; only the chair and the secretariat see who said what, in the console."),
                    ),
                ),
            ),
        ],
    ),
    Section(
        key="answers",
        title=_("Who sees answers"),
        settings=[
            Setting(
                name="answer_visibility",
                label=_("Answers seen by delegates"),
                choices=(
                    Choice(
                        Meeting.AnswerVisibility.CHAIR_ONLY,
                        Meeting.AnswerVisibility.CHAIR_ONLY.label,
                        _("Delegates see only their own delegation's answers; the chair and the secretariat see all of them."),
                    ),
                    Choice(
                        Meeting.AnswerVisibility.PUBLISHED,
                        Meeting.AnswerVisibility.PUBLISHED.label,
                        _("Every delegate sees the answers the chair publishes, on the session page, as they are published."),
                    ),
                ),
            ),
        ],
    ),
]


def all_settings() -> list[Setting]:
    return [setting for section in SECTIONS for setting in section.settings]
