"""What the records are made of, gathered once for every format, and the text clean-up documents need.

`gather_summary` and `gather_compendium` read a meeting (or one session) in a fixed number of
queries, whatever the number of answers or practices, and return plain dataclasses holding model
instances. The Word builders, the printable HTML templates and the tests all read these, so the
rules of the record (hidden answers left out, Chatham House honoured) live here once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from ..models import (
    Answer,
    ConclusionRevision,
    Delegation,
    FloorRequest,
    Meeting,
    Poll,
    PollOption,
    Practice,
    Question,
    Session,
    Visibility,
    Vote,
)

# Characters XML 1.0 forbids (python-docx and openpyxl raise on them), plus C1 controls and
# non-characters that no document should carry. Tab and newline are kept.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Spreadsheets run a cell starting with one of these as a formula (OWASP "CSV injection"); a leading
# newline is included because a CR is normalised to one and some importers trim leading whitespace.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def clean_text(value: object) -> str:
    """The value as text safe to put in an XML document: newlines normalised, invalid characters gone."""
    if value is None:
        return ""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return _XML_INVALID.sub("", text)


def neutralise_formula(value: str) -> str:
    """Prefix a cell that a spreadsheet would evaluate with an apostrophe, so it stays text."""
    if value and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def split_paragraphs(text: str) -> list[str]:
    """Text split at blank lines; single newlines stay inside a paragraph as line breaks."""
    return [part.strip() for part in re.split(r"\n\s*\n", clean_text(text)) if part.strip()]


def sort_key(name: str) -> str:
    """Alphabetical order that puts Österreich next to Ostland, not after Zimbabwe."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def meeting_dates(meeting: Meeting) -> str:
    """The meeting's dates in the active language, or the dates as the notes wrote them."""
    if meeting.start_date:
        start = formats.date_format(meeting.start_date, "DATE_FORMAT")
        if meeting.end_date and meeting.end_date != meeting.start_date:
            return f"{start} – {formats.date_format(meeting.end_date, 'DATE_FORMAT')}"
        return start
    return meeting.dates_text


def local_time(value) -> str:
    return formats.time_format(timezone.localtime(value), "TIME_FORMAT") if value else ""


def local_datetime(value) -> str:
    return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT") if value else ""


def attribution_notice(meeting: Meeting) -> str:
    if meeting.is_chatham_house:
        return _(
            "This meeting was held under the Chatham House rule: contributions are not attributed "
            "and no delegation is named in this record."
        )
    return ""


# --- Summary record -----------------------------------------------------------------------------


@dataclass
class OptionResult:
    label: str
    count: int
    percent: float | None
    benchmark_percent: Decimal | None
    average_rank: float | None = None


@dataclass
class PollResult:
    poll: Poll
    votes: int
    options: list[OptionResult] = field(default_factory=list)
    average: float | None = None  # scale polls
    texts: list[str] = field(default_factory=list)  # short-text polls


@dataclass
class QuestionRecord:
    question: Question
    contributions: list[Answer]


@dataclass
class SessionRecord:
    session: Session
    questions: list[QuestionRecord]
    conclusions: str
    key_points: list[Answer]
    interventions: list[FloorRequest]
    polls: list[PollResult]


@dataclass
class SummaryRecord:
    meeting: Meeting
    attributed: bool
    delegations: list[Delegation]
    delegation_count: int
    sessions: list[SessionRecord]
    scope_session: Session | None = None

    @property
    def notice(self) -> str:
        return attribution_notice(self.meeting)


def _scope(meeting: Meeting, session: Session | None, path: str) -> Q:
    """Rows of the meeting, or of one session; `path` leads from the model to its Session ("" for Session)."""
    if not path:
        return Q(meeting=meeting) & (Q(pk=session.pk) if session is not None else Q())
    return Q(**{f"{path}__meeting": meeting}) & (Q(**{path: session}) if session is not None else Q())


def gather_summary(meeting: Meeting, *, session: Session | None = None) -> SummaryRecord:
    """The summary record of the meeting, or of one session, in a fixed number of queries (eight).

    Hidden answers are left out. Under Chatham House the answers are ordered by time, not by
    delegation, so that their order does not give away who spoke.
    """
    attributed = not meeting.is_chatham_house
    latest_conclusions = ConclusionRevision.objects.filter(session=OuterRef("pk")).order_by("-created_at", "-id")
    sessions = list(
        Session.objects.filter(_scope(meeting, session, ""))
        .annotate(latest_conclusions=Subquery(latest_conclusions.values("text")[:1]))
        .order_by("number")
    )
    questions = Question.objects.filter(_scope(meeting, session, "session")).order_by("session_id", "position")
    answers = (
        Answer.objects.filter(_scope(meeting, session, "question__session"))
        .exclude(visibility=Visibility.HIDDEN)
        .select_related("delegation")
        .order_by("created_at", "id")
    )
    floor = (
        FloorRequest.objects.filter(_scope(meeting, session, "session"), status=FloorRequest.Status.DONE)
        .select_related("delegation")
        .order_by("started_at", "position", "requested_at", "id")
    )
    participating = list(meeting.delegations.all())
    # Under Chatham House only the number of delegations reaches the record, never their names.
    delegations = sorted(participating, key=lambda delegation: sort_key(delegation.name)) if attributed else []

    answers_by_question: dict[int, list[Answer]] = {}
    for answer in answers:
        answers_by_question.setdefault(answer.question_id, []).append(answer)
    questions_by_session: dict[int, list[QuestionRecord]] = {}
    for question in questions:
        contributions = answers_by_question.get(question.pk, [])
        for answer in contributions:
            answer.question = question  # spares a query per key point
        if attributed:
            contributions.sort(key=lambda answer: sort_key(answer.delegation.name))
        questions_by_session.setdefault(question.session_id, []).append(QuestionRecord(question, contributions))
    floor_by_session: dict[int, list[FloorRequest]] = {}
    for request in floor:
        floor_by_session.setdefault(request.session_id, []).append(request)
    polls_by_session = _poll_results(meeting, session)

    records = []
    for row in sessions:
        session_questions = questions_by_session.get(row.pk, [])
        key_points = [answer for record in session_questions for answer in record.contributions if answer.starred]
        records.append(
            SessionRecord(
                session=row,
                questions=session_questions,
                conclusions=row.latest_conclusions or "",
                key_points=key_points,
                interventions=floor_by_session.get(row.pk, []),
                polls=polls_by_session.get(row.pk, []),
            )
        )
    return SummaryRecord(meeting, attributed, delegations, len(participating), records, scope_session=session)


def _poll_results(meeting: Meeting, session: Session | None) -> dict[int, list[PollResult]]:
    """Results of every poll that was opened, by session id (three queries)."""
    polls = list(
        Poll.objects.filter(_scope(meeting, session, "session"))
        .exclude(status=Poll.Status.DRAFT)
        .order_by("session_id", "created_at", "id")
    )
    opened = Q(poll__status__in=[Poll.Status.OPEN, Poll.Status.CLOSED]) & _scope(meeting, session, "poll__session")
    options = PollOption.objects.filter(opened).annotate(vote_count=Count("votes")).order_by("poll_id", "position")
    votes = Vote.objects.filter(opened).order_by("created_at", "id").values_list("poll_id", "scale_value", "text", "ranking")

    options_by_poll: dict[int, list[PollOption]] = {}
    for option in options:
        options_by_poll.setdefault(option.poll_id, []).append(option)
    votes_by_poll: dict[int, list[tuple]] = {}
    for vote in votes:
        votes_by_poll.setdefault(vote[0], []).append(vote)

    results: dict[int, list[PollResult]] = {}
    for poll in polls:
        poll_votes = votes_by_poll.get(poll.pk, [])
        result = PollResult(poll=poll, votes=len(poll_votes))
        poll_options = options_by_poll.get(poll.pk, [])
        if poll.kind == Poll.Kind.SCALE:
            values = [vote[1] for vote in poll_votes if vote[1] is not None]
            result.average = round(sum(values) / len(values), 1) if values else None
        elif poll.kind == Poll.Kind.TEXT:
            result.texts = [vote[2] for vote in poll_votes if vote[2]]
        elif poll.kind == Poll.Kind.RANKING:
            result.options = _ranking_results(poll_options, [vote[3] for vote in poll_votes])
        else:
            for option in poll_options:
                percent = round(100 * option.vote_count / len(poll_votes), 1) if poll_votes else None
                result.options.append(OptionResult(option.label, option.vote_count, percent, option.benchmark_percent))
        results.setdefault(poll.session_id, []).append(result)
    return results


def _ranking_results(options: list[PollOption], rankings: list[list]) -> list[OptionResult]:
    """Options by average rank (1 = first). A ranking is a list of PollOption ids, best first."""
    places: dict[int, list[int]] = {option.pk: [] for option in options}
    for ranking in rankings:
        for place, option_id in enumerate(ranking if isinstance(ranking, list) else [], start=1):
            if option_id in places:
                places[option_id].append(place)
    results = [
        OptionResult(
            option.label,
            len(places[option.pk]),
            None,
            option.benchmark_percent,
            round(sum(places[option.pk]) / len(places[option.pk]), 2) if places[option.pk] else None,
        )
        for option in options
    ]
    return sorted(results, key=lambda result: (result.average_rank is None, result.average_rank or 0))


def contribution_label(answer: Answer, attributed: bool) -> str:
    """Who said it, or nothing under Chatham House."""
    return answer.delegation.name if attributed else ""


def contribution_text(answer: Answer) -> str:
    """An answer's text, or what its kind means when there is no text."""
    if answer.kind == Answer.Kind.ANSWER:
        return answer.text
    return str(Answer.Kind(answer.kind).label)


def intervention_label(request: FloorRequest, index: int, attributed: bool) -> str:
    return request.delegation.name if attributed else _("Intervention %(number)s") % {"number": index}


# --- Compendium of country practices -------------------------------------------------------------


@dataclass
class CountryGroup:
    delegation: Delegation | None  # None under Chatham House: one group, no country named
    practices: list[Practice]


@dataclass
class ThemeGroup:
    name: str
    is_other: bool
    countries: list[CountryGroup]


@dataclass
class CompendiumSession:
    session: Session
    themes: list[ThemeGroup]
    count: int


@dataclass
class Compendium:
    meeting: Meeting
    attributed: bool
    sessions: list[CompendiumSession]
    scope_session: Session | None = None

    @property
    def notice(self) -> str:
        return attribution_notice(self.meeting)


def gather_compendium(meeting: Meeting, *, session: Session | None = None) -> Compendium:
    """Practices not hidden, by session, theme ("Other" last) and country, in three queries.

    A practice with several themes appears under each. Under Chatham House the country level is
    dropped and practices are ordered by title.
    """
    attributed = not meeting.is_chatham_house
    sessions = list(Session.objects.filter(_scope(meeting, session, "")).order_by("number"))
    practices = (
        Practice.objects.filter(_scope(meeting, session, "session"))
        .exclude(visibility=Visibility.HIDDEN)
        .select_related("delegation", "question", "paragraph")
        .prefetch_related("themes")
        .order_by("created_at", "id")
    )
    other = _("Other")
    by_session: dict[int, dict[str, list[Practice]]] = {}
    counts: dict[int, int] = {}
    for practice in practices:
        practice.web_link = web_link(practice.link)
        counts[practice.session_id] = counts.get(practice.session_id, 0) + 1
        themes = by_session.setdefault(practice.session_id, {})
        for name in sorted({theme.name for theme in practice.themes.all()}) or [None]:
            themes.setdefault(name, []).append(practice)

    result = []
    for row in sessions:
        themes = by_session.get(row.pk, {})
        names = sorted((name for name in themes if name is not None), key=sort_key)
        groups = [ThemeGroup(name, False, _country_groups(themes[name], attributed)) for name in names]
        if None in themes:
            groups.append(ThemeGroup(other, True, _country_groups(themes[None], attributed)))
        result.append(CompendiumSession(row, groups, counts.get(row.pk, 0)))
    return Compendium(meeting, attributed, result, scope_session=session)


def _country_groups(practices: list[Practice], attributed: bool) -> list[CountryGroup]:
    if not attributed:
        return [CountryGroup(None, sorted(practices, key=lambda practice: sort_key(practice.title)))]
    by_country: dict[int, CountryGroup] = {}
    for practice in practices:
        by_country.setdefault(practice.delegation_id, CountryGroup(practice.delegation, [])).practices.append(practice)
    return sorted(by_country.values(), key=lambda group: sort_key(group.delegation.name))


def web_link(url: str) -> str:
    """The address if it is a plain http(s) link, else "" (never a javascript: or data: link in a record)."""
    url = clean_text(url).strip()
    if url.lower().startswith(("http://", "https://")) and not any(ch.isspace() for ch in url):
        return url
    return ""


def practice_relates_to(practice: Practice) -> str:
    """The briefing paragraph and/or the question a practice relates to, in words."""
    parts = []
    if practice.paragraph_id:
        block = practice.paragraph
        parts.append(_("paragraph %(number)s") % {"number": block.number} if block.number else block.title or str(block))
    if practice.question_id:
        parts.append(
            _("question %(number)s: %(text)s") % {"number": practice.question.position, "text": practice.question.text}
        )
    return "; ".join(parts)
