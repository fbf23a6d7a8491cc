"""The demo meeting's themes: computed at once for every question that has answers (the background
recompute after answers would fire after the demo command has ended)."""

from __future__ import annotations

from ..models import Answer, Meeting
from .compute import synthesise_question


def load_demo_themes(*, meeting: Meeting) -> int:
    """Compute the themes of the meeting's answered questions; the number of questions done."""
    questions = sorted(set(Answer.objects.filter(question__session__meeting=meeting).values_list("question_id", flat=True)))
    for question_id in questions:
        synthesise_question(question_id)
    return len(questions)
