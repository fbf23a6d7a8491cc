"""Reads of the themes for the console: the stored results joined with answers and (unless Chatham House) names."""

from __future__ import annotations

from ..models import Answer, AnswerSynthesis, Delegation, Meeting, Question


def theme_panel(question: Question, meeting: Meeting) -> dict:
    """What the themes panel of one question shows; never computes (the result is stored)."""
    return theme_panels([question], meeting)[0]


def theme_panels(questions: list[Question], meeting: Meeting) -> list[dict]:
    """The panels of several questions in three queries however many questions, themes and answers."""
    stored = {s.question_id: s for s in AnswerSynthesis.objects.filter(question__in=questions)} if questions else {}
    named = not meeting.is_chatham_house
    results = {q.pk: stored[q.pk].result if q.pk in stored else {} for q in questions}
    wanted = {pk for r in results.values() for pk in [t["central"] for t in r.get("themes", [])] + r.get("outliers", [])}
    answers = {a.pk: a for a in Answer.objects.filter(pk__in=wanted).select_related("delegation")} if wanted else {}
    delegation_ids = {d for r in results.values() for t in r.get("themes", []) for d in t["delegations"]}
    delegations = {d.pk: d for d in Delegation.objects.filter(pk__in=delegation_ids)} if named and delegation_ids else {}
    panels = []
    for question in questions:
        synthesis, result = stored.get(question.pk), results[question.pk]
        rows = []
        for index, theme in enumerate(result.get("themes", [])):
            central = answers.get(theme["central"])
            rows.append({
                "index": index, "name": theme.get("name", ""), "terms": theme["terms"],
                "label": theme.get("name") or ", ".join(theme["terms"]),
                "size": len(theme["members"]), "quote": central.text if central else "",
                "delegations": sorted(delegations[d].name for d in theme["delegations"] if d in delegations) if named else [],
            })
        outliers = [{"text": answers[pk].text, "delegation": answers[pk].delegation.name if named else ""}
                    for pk in result.get("outliers", []) if pk in answers]
        last = (synthesis.edits.get("last") or {}) if synthesis else {}
        panels.append({"question": question, "meeting": meeting, "synthesis": synthesis,
                       "last_action": last.get("action", "") if synthesis and last.get("version") == synthesis.version else "",
                       "computed": bool(synthesis and synthesis.computed_at), "version": synthesis.version if synthesis else 0,
                       "themes": rows, "outliers": outliers, "named": named,
                       "answers": result.get("answers", 0), "reason": result.get("reason", "")})
    return panels
