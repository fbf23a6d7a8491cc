"""Reads of the themes for the console: the stored result joined with answers and (unless Chatham House) names."""

from __future__ import annotations

from ..models import Answer, AnswerSynthesis, Delegation, Meeting, Question


def theme_panel(question: Question, meeting: Meeting, synthesis: AnswerSynthesis | None = None) -> dict:
    """What the themes panel of one question shows; never computes (the result is stored)."""
    if synthesis is None:
        synthesis = AnswerSynthesis.objects.filter(question=question).first()
    result = synthesis.result if synthesis else {}
    named = not meeting.is_chatham_house
    themes_ = result.get("themes", [])
    wanted = {t["central"] for t in themes_} | set(result.get("outliers", []))
    answers = {a.pk: a for a in Answer.objects.filter(pk__in=wanted).select_related("delegation")} if wanted else {}
    delegation_ids = {d for t in themes_ for d in t["delegations"]}
    delegations = {d.pk: d for d in Delegation.objects.filter(pk__in=delegation_ids)} if named and delegation_ids else {}
    rows = []
    for index, theme in enumerate(themes_):
        central = answers.get(theme["central"])
        rows.append({
            "index": index, "name": theme.get("name", ""), "terms": theme["terms"],
            "label": theme.get("name") or ", ".join(theme["terms"]),
            "size": len(theme["members"]), "quote": central.text if central else "",
            "delegations": sorted((delegations[d].name for d in theme["delegations"] if d in delegations)) if named else [],
        })
    outliers = [{"text": answers[pk].text, "delegation": answers[pk].delegation.name if named else ""}
                for pk in result.get("outliers", []) if pk in answers]
    return {"question": question, "meeting": meeting, "synthesis": synthesis, "computed": bool(synthesis and synthesis.computed_at),
            "version": synthesis.version if synthesis else 0, "themes": rows, "outliers": outliers, "named": named,
            "answers": result.get("answers", 0), "reason": result.get("reason", "")}
