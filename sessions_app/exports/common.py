"""What the records are made of, gathered once for every format, and the text clean-up documents need.

`gather_summary`, `gather_compendium` and `gather_polls` read a meeting (or one session) in a fixed
number of queries, whatever the number of answers, practices, votes or interventions, and return
plain dataclasses holding model instances. The Word builders, the printable HTML templates, the
data exports and the tests all read these, so the rules of the record (hidden answers left out,
Chatham House honoured, polls counted as the console counts them) live here once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from django.db.models import Count, OuterRef, Q, Subquery
from django.template.defaultfilters import floatformat
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from .. import floor
from ..models import (
    Answer,
    Block,
    ConclusionRevision,
    Delegation,
    FigureImage,
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
from ..polls import OptionResult, PollResults, tally
from .summary_rounds import gather_rounds

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


def number(value, places: int = 1) -> str:
    """A figure as the active language writes it (7.5, 7,5), as the console does: `places` decimals, none
    for a whole number; "—" if unknown."""
    return "—" if value is None else str(floatformat(value, -places))


def percent(value) -> str:
    return "—" if value is None else pgettext("percentage", "%(number)s%%") % {"number": number(value)}


def duration(start, end) -> str:
    """How long an intervention lasted, "3 min 05 s"; "" while it goes on."""
    if not start or not end:
        return ""
    minutes, seconds = divmod(max(0, round((end - start).total_seconds())), 60)
    return _("%(minutes)s min %(seconds)02d s") % {"minutes": minutes, "seconds": seconds}


@dataclass
class PollRecord:
    """A launched poll with its results (the figures the console shows) and how the record prints them."""

    poll: Poll
    results: PollResults
    by_option: list[tuple[PollOption, OptionResult]]  # choice and ranking polls, in the options' order
    delegation_count: int  # delegations taking part in the meeting
    delegations_voted: int
    answers: list[tuple[str, int]]  # short-text polls: each answer and how often it was given, most frequent first

    @property
    def facts(self) -> list[str]:
        """What the poll was and who voted, one line each."""
        poll, results = self.poll, self.results
        voted = {"counter": self.delegations_voted, "eligible": self.delegation_count}
        # counted by voters: French agrees with them ("1 délégation sur 38 a voté")
        turnout = ngettext("%(counter)s of %(eligible)s delegations voted", "%(counter)s of %(eligible)s delegations voted",
                           self.delegations_voted) % voted
        if results.voters != self.delegations_voted:  # one vote per delegate, or observers voted too
            votes = ngettext("%(count)s vote in all", "%(count)s votes in all", results.voters) % {"count": results.voters}
            turnout = f"{turnout} · {votes}"
        facts = [f"{poll.get_kind_display()} · {poll.get_scope_display()}", turnout]
        if poll.kind == Poll.Kind.SCALE and results.scale_mean is not None:
            facts.append(
                _("Average %(mean)s · median %(median)s (0 to 10)")
                % {"mean": number(results.scale_mean), "median": number(results.scale_median)}
            )
        if poll.kind == Poll.Kind.SCALE and results.scale_benchmark is not None:
            facts.append(
                _("%(label)s: %(value)s (0 to 10)")
                % {"label": poll.benchmark_label or _("Benchmark"), "value": number(results.scale_benchmark)}
            )
        if poll.kind == Poll.Kind.RANKING:
            facts.append(
                _("Average points: %(count)s for a first place, down to 1 for the last.") % {"count": len(self.by_option)}
            )
        if poll.status == Poll.Status.OPEN:
            facts.append(_("Voting was still open when this record was made."))
        return facts

    @property
    def headers(self) -> list[str]:
        kind = self.poll.kind
        if kind == Poll.Kind.RANKING:
            return [_("Option"), _("Average points"), _("First places")]
        if kind == Poll.Kind.SCALE:
            return [_("Value"), _("Votes"), _("Share of voters")]
        if kind == Poll.Kind.TEXT:
            return [_("Answer"), _("Votes")]
        headers = [_("Option"), _("Votes"), _("Share of voters")]
        if self.results.has_benchmark:
            label = self.poll.benchmark_label
            headers.append(_("Benchmark: %(source)s") % {"source": label} if label else _("Benchmark"))
        return headers

    @property
    def rows(self) -> list[list[str]]:
        """The results table, every figure as text; empty when there is nothing to tabulate."""
        results = self.results
        if self.poll.kind == Poll.Kind.RANKING:
            return [[option.label, number(option.score, 2), str(option.count)] for option in results.options]
        if self.poll.kind == Poll.Kind.SCALE:
            return [[value.label, str(value.count), percent(value.percent)] for value in results.scale] if results.voters else []
        if self.poll.kind == Poll.Kind.TEXT:
            return [[answer, str(count)] for answer, count in self.answers]
        return [
            [option.label, str(option.count), percent(option.percent)]
            + ([percent(option.benchmark) if option.benchmark is not None else ""] if results.has_benchmark else [])
            for option in results.options
        ]


@dataclass
class InterventionRecord:
    """One intervention from the floor as the record prints it (the delegation is "" under Chatham House)."""

    request: FloorRequest
    delegation: str
    question: str  # "Question 2", or "" when the delegation named none
    start: str
    end: str  # "" while the delegation still has the floor
    duration: str

    @property
    def time(self) -> str:
        return f"{self.start} – {self.end}" if self.end else f"{self.start} –"


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
    interventions: list[InterventionRecord]
    polls: list[PollRecord]
    # The briefing's figures that have images (Word notes), each with its images: see attach_figures.
    figures: list[tuple[Block, list[FigureImage]]] = field(default_factory=list)
    rounds: list = field(default_factory=list)  # summary_rounds.RoundRecord, each opinion round of the session

    @property
    def interventions_summary(self) -> str:
        count = len(self.interventions)
        return ngettext(
            "%(count)s intervention was made from the floor.", "%(count)s interventions were made from the floor.", count
        ) % {"count": count}


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


def figures_by_session(meeting: Meeting, sessions: list[Session]) -> dict[int, list[tuple[Block, list[FigureImage]]]]:
    """Per session (by id), its briefing's figures that have images (imported from Word), in document
    order, each with its images. Two queries, whatever the number of figures; apart from
    gather_summary because only the formats that show images need them (and their bytes)."""
    images: dict[int, list[FigureImage]] = {}
    for image in FigureImage.objects.filter(meeting=meeting, figure__isnull=False).order_by("position"):
        images.setdefault(image.figure, []).append(image)
    found: dict[int, list[tuple[Block, list[FigureImage]]]] = {}
    if images:
        for block in Block.objects.filter(session__in=sessions, language="", kind=Block.Kind.FIGURE,
                                          number__in=list(images)).order_by("position"):
            found.setdefault(block.session_id, []).append((block, images[block.number]))
    return found


def attach_figures(record: SummaryRecord) -> SummaryRecord:
    """Fill each session's `figures` (figures_by_session)."""
    found = figures_by_session(record.meeting, [item.session for item in record.sessions])
    for item in record.sessions:
        item.figures = found.get(item.session.pk, [])
    return record


def _scope(meeting: Meeting, session: Session | None, path: str) -> Q:
    """Rows of the meeting, or of one session; `path` leads from the model to its Session ("" for Session)."""
    if not path:
        return Q(meeting=meeting) & (Q(pk=session.pk) if session is not None else Q())
    return Q(**{f"{path}__meeting": meeting}) & (Q(**{path: session}) if session is not None else Q())


def gather_summary(meeting: Meeting, *, session: Session | None = None) -> SummaryRecord:
    """The summary record of the meeting, or of one session, in a fixed number of queries (eleven with the opinion rounds).

    Hidden answers are left out. Under Chatham House the answers are ordered by time, not by
    delegation, so that their order does not give away who spoke, and interventions name nobody.
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
    interventions_by_session: dict[int, list[InterventionRecord]] = {}
    for request in session_interventions(meeting, session=session):
        interventions_by_session.setdefault(request.session_id, []).append(_intervention(request, attributed))
    polls_by_session = gather_polls(meeting, session=session, delegation_count=len(participating))
    rounds_by_session = gather_rounds(meeting, session=session, attributed=attributed)

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
                interventions=interventions_by_session.get(row.pk, []),
                polls=polls_by_session.get(row.pk, []),
                rounds=rounds_by_session.get(row.pk, []),
            )
        )
    return SummaryRecord(meeting, attributed, delegations, len(participating), records, scope_session=session)


def session_interventions(meeting: Meeting, *, session: Session | None = None) -> list[FloorRequest]:
    """The interventions of the meeting, or of one session, in the order given (one query)."""
    requests = floor.interventions(meeting)
    return requests if session is None else [request for request in requests if request.session_id == session.pk]


def _intervention(request: FloorRequest, attributed: bool) -> InterventionRecord:
    return InterventionRecord(
        request=request,
        delegation=request.delegation.name if attributed else "",
        question=_("Question %(number)s") % {"number": request.question.position} if request.question_id else "",
        start=local_time(request.started_at),
        end=local_time(request.ended_at),
        duration=duration(request.started_at, request.ended_at),
    )


def gather_polls(
    meeting: Meeting, *, session: Session | None = None, delegation_count: int, launched_only: bool = True
) -> dict[int, list[PollRecord]]:
    """The polls of the meeting, or of one session, with their results, by session id (three queries).

    The figures are those `polls.poll_results` gives the console; it reads one poll at a time, so
    they are counted here from the votes of every poll read at once. Prepared polls that were
    never launched are left out unless `launched_only` is False.
    """
    launched = ~Q(status=Poll.Status.DRAFT) if launched_only else Q()
    poll_list = list(
        Poll.objects.filter(_scope(meeting, session, "session"), launched)
        .select_related("session")
        .order_by("session__number", "created_at", "id")
    )
    of_polls = _scope(meeting, session, "poll__session") & (~Q(poll__status=Poll.Status.DRAFT) if launched_only else Q())
    options = PollOption.objects.filter(of_polls).annotate(vote_count=Count("votes")).order_by("poll_id", "position")
    votes = Vote.objects.filter(of_polls).order_by("id").values_list(
        "poll_id", "delegation_id", "scale_value", "text", "ranking", named=True
    )

    options_by_poll: dict[int, list[PollOption]] = {}
    for option in options:
        options_by_poll.setdefault(option.poll_id, []).append(option)
    votes_by_poll: dict[int, list] = {}
    for vote in votes:
        votes_by_poll.setdefault(vote.poll_id, []).append(vote)

    result: dict[int, list[PollRecord]] = {}
    for poll in poll_list:
        poll_votes = votes_by_poll.get(poll.pk, [])
        results, by_option = _count_votes(poll, options_by_poll.get(poll.pk, []), poll_votes, delegation_count)
        record = PollRecord(
            poll=poll,
            results=results,
            by_option=by_option,
            delegation_count=delegation_count,
            delegations_voted=len({vote.delegation_id for vote in poll_votes if vote.delegation_id is not None}),
            answers=_answers_by_frequency([vote.text for vote in poll_votes]) if poll.kind == Poll.Kind.TEXT else [],
        )
        result.setdefault(poll.session_id, []).append(record)
    return result


def _count_votes(
    poll: Poll, options: list[PollOption], votes: list, delegation_count: int
) -> tuple[PollResults, list[tuple[PollOption, OptionResult]]]:
    """`polls.tally` on rows already read (options annotated with their vote_count)."""
    eligible = delegation_count if poll.scope == Poll.Scope.DELEGATION else len(votes)
    choices = {option.pk: option.vote_count for option in options}
    return tally(poll, options, votes, eligible=eligible, choices=choices)


def _answers_by_frequency(texts: list[str]) -> list[tuple[str, int]]:
    """Short answers counted alike whatever their case and spacing, most frequent first, then alphabetical."""
    counted: dict[str, list] = {}
    for text in texts:
        shown = " ".join(text.split())
        if shown:
            counted.setdefault(shown.casefold(), [shown, 0])[1] += 1
    return sorted(((shown, count) for shown, count in counted.values()), key=lambda item: (-item[1], sort_key(item[0])))


def contribution_label(answer: Answer, attributed: bool) -> str:
    """Who said it, or nothing under Chatham House."""
    return answer.delegation.name if attributed else ""


def contribution_text(answer: Answer) -> str:
    """An answer's text, or what its kind means when there is no text."""
    if answer.kind == Answer.Kind.ANSWER:
        return answer.text
    return str(Answer.Kind(answer.kind).label)


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
