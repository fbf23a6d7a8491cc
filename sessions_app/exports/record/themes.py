"""The themes of a question's answers in the JSON record (exports/record/): the chair's edits of them.

What the chair decided is kept: the names given to themes and the merges, each pointing at answers by
their natural key [session number, question position, delegation code]. The themes themselves are
not written: they are a pure function of the answers and these edits, computed again on restore (as a
round's analysis is), so they hold no database id. A theme the chair made a statement of, or a
paragraph of the draft conclusions, is in the record as that statement or conclusion.
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils import timezone

from ...models import Answer, AnswerSynthesis, Meeting, Question
from ...synthesis import compute, themes
from ...synthesis.services import NAME_MAX_CHARS


def export_themes(meeting: Meeting, *, answer_ref: dict) -> dict[int, dict]:
    """Per question id, the chair's edits of its themes (one query): {"names": [...], "merges": [...]}."""
    entries = {}
    for question_id, edits in AnswerSynthesis.objects.filter(question__session__meeting=meeting).values_list("question_id", "edits"):
        edits = edits or {}
        entries[question_id] = {
            "names": [
                {"members": sorted(answer_ref[pk] for pk in record.get("members", []) if pk in answer_ref), "name": record.get("name", "")}
                for record in edits.get("names", [])
            ],
            # Anchors sorted by reference, not by id: the same in the restored database.
            "merges": [sorted(answer_ref[pk] for pk in anchors if pk in answer_ref) for anchors in edits.get("merges", [])],
        }
    return entries


def restore_themes(question: Question, entry: dict | None, *, answer: Callable[[list], Answer]) -> None:
    """The question's themes from its record entry: the chair's edits mapped to the restored answers,
    the themes computed again with them. None (no themes, or a record written before they were kept): nothing."""
    if entry is None:
        return
    names = []
    for record in entry["names"]:
        name = record["name"]
        if not isinstance(name, str) or len(name) > NAME_MAX_CHARS:
            raise ValueError(f"a theme name of question {question.position} is not a text of at most {NAME_MAX_CHARS} characters")
        names.append({"members": [_answer(answer, ref, question) for ref in record["members"]], "name": name})
    merges = [sorted(_answer(answer, ref, question) for ref in anchors) for anchors in entry["merges"]]
    edits = {"names": names, "merges": merges} if names or merges else {}
    AnswerSynthesis.objects.create(question=question, edits=edits, version=1, computed_at=timezone.now(),
                                   result=themes.synthesise(compute.answer_texts(question), edits))


def _answer(answer: Callable[[list], Answer], ref, question: Question) -> int:
    if not isinstance(ref, list) or len(ref) != 3:
        raise ValueError(f"a theme of question {question.position} points at {ref!r}, which is not an answer reference")
    try:
        found = answer(ref)
    except KeyError:
        raise ValueError(f"a theme of question {question.position} points at the answer {ref!r}, which is not in the record") from None
    if found.question_id != question.pk:
        raise ValueError(f"a theme of question {question.position} points at the answer {ref!r} of another question")
    return found.pk
