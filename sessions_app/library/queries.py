"""Reads of the library: who sees which practices, search, facets with counts, related practices."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, F, QuerySet
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from ..access import is_secretariat, participant_of
from ..models import (
    country_name,
    name_key,
    Delegation,
    LibraryAccess,
    LibraryTheme,
    Practice,
    PracticeLevel,
    PracticeStatus,
    Session,
    Visibility,
)
from . import facets, search

FILTERS = ("country", "theme", "year", "meeting", "level", "status")


def is_member(user: User | AnonymousUser) -> bool:
    """A member of the network: anyone with an account in any meeting (or the secretariat)."""
    return bool(user.is_authenticated and (user.is_superuser or participant_of(user)))


def visible_practices(user: User | AnonymousUser) -> QuerySet[Practice]:
    """Published, live practices of meetings whose setting lets this user see them."""
    levels = [LibraryAccess.PUBLIC]
    if is_member(user) or is_secretariat(user):
        levels.append(LibraryAccess.MEMBERS)
    # The same rule as the kept facet values (facets.py), which the list pages read instead; this one
    # serves single practices (detail, related, peers) and is the truth the tests check those against.
    return Practice.objects.filter(
        visibility=Visibility.PUBLISHED,
        retired=False,
        merged_into__isnull=True,
        session_id__in=Session.objects.filter(meeting__library__in=levels).values("pk"),
    )


def parse_filters(params) -> dict[str, list[str]]:
    """The facet filters of a query string; unknown values simply match nothing."""
    return {name: [v for v in params.getlist(name) if v][:20] for name in FILTERS if params.getlist(name)}


def apply_filters(qs: QuerySet[Practice], filters: dict[str, list[str]]) -> QuerySet[Practice]:
    """The filters as an ORM condition, for the shell and the tests (the pages use facets.stored_filters)."""
    if "country" in filters:
        qs = qs.filter(delegation_id__in=Delegation.objects.filter(country__in=[c.upper() for c in filters["country"]]).values("pk"))
    if "theme" in filters:
        # Several themes combine as "all of them".
        links = Practice.library_themes.through.objects
        for slug in filters["theme"]:
            qs = qs.filter(pk__in=links.filter(librarytheme__slug=slug).values("practice_id"))
    if "year" in filters:
        qs = qs.filter(year_started__in=[int(y) for y in filters["year"] if y.isdigit() and len(y) <= 4])
    if "meeting" in filters:
        qs = qs.filter(session_id__in=Session.objects.filter(meeting__slug__in=filters["meeting"]).values("pk"))
    if "level" in filters:
        qs = qs.filter(level__in=filters["level"])
    if "status" in filters:
        qs = qs.filter(status__in=filters["status"])
    return qs


# Up to this many filtered practices are sorted at once for a page; past it, only the page's meetings.
SORTED_AT_ONCE = 1000


@dataclass
class Facet:
    name: str
    label: str
    options: list[dict] = field(default_factory=list)  # {"value", "label", "count", "selected"}


def access_levels(user: User | AnonymousUser) -> list[str]:
    """The meetings' library settings whose practices this user sees."""
    if is_member(user) or is_secretariat(user):
        return [LibraryAccess.PUBLIC, LibraryAccess.MEMBERS]
    return [LibraryAccess.PUBLIC]


class RankedIds:
    """The ids of a search, counted and sliced in SQL: what Django's Paginator needs (count() and
    slicing), so a page of 20 never lists every match. Without words, newest meeting first, read
    from the meetings the page falls in (their counts are known); with words, the engine ranks the
    candidates."""

    def __init__(self, search_: Search):
        self.search = search_

    def count(self) -> int:
        return self.search.total

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item):
        if not isinstance(item, slice):
            raise TypeError("RankedIds is read by pages only")
        offset = item.start or 0
        limit = (item.stop if item.stop is not None else self.count()) - offset
        if limit <= 0:
            return []
        return self.search.page(offset, limit)


class Search:
    """One search of the library: the visible practices the filters keep, and the words' candidates
    among them; the counts, facets and pages of either are SQL of a bounded size."""

    def __init__(self, user, *, query: str, filters: dict[str, list[str]], candidates: int):
        self.levels = access_levels(user)
        self.names = facets.Names.load()
        self.conditions = facets.stored_filters(filters, self.names)
        self.query = query
        self.capped = False
        self.sizes = None
        self.filtered: list[int] | None = None  # the ids two filters or more keep
        if query:
            self.within = facets.within_sql(self.levels, self.conditions, outer=search.outer_id())
            # One more than ranked, to know whether more match.
            self.ids = search.candidates(query, self.within, limit=candidates + 1)
            self.capped = len(self.ids) > candidates
            self.ids = self.ids[:candidates]
            self.total = len(self.ids)
            self.counts = facets.counted_ids(self.levels, self.ids)
        else:
            counts = facets.kept_counts(self.levels, self.conditions)
            if counts is None:
                # Two filters or more: the practices they keep (found from the smallest filter, so no
                # more than it holds) are listed once, then counted and ordered by their ids.
                self.sizes = facets.kept_counts(self.levels, [])
                self.filtered = facets.listed(facets.ids_sql(self.levels, self.conditions, sizes=self.sizes))
                counts = facets.counted_ids(self.levels, self.filtered)
            self.counts = counts
            # Every practice has one meeting: the meetings' counts add up to the results.
            self.total = sum(counts["meeting"].values())

    def page(self, offset: int, limit: int) -> list[int]:
        if self.query:
            return search.ranked_page(self.query, self.within, self.ids, offset=offset, limit=limit)
        newest = F("session__meeting__start_date").desc(nulls_last=True)
        if self.filtered is not None and self.total <= SORTED_AT_ONCE:
            # What two filters or more keep, listed already: sorted at once.
            rows = Practice.objects.filter(pk__in=RawSQL(*facets.id_list_sql(self.filtered)))
            return list(rows.order_by(newest, "-created_at", "-pk").values_list("pk", flat=True)[offset : offset + limit])
        # Newest meeting first: only the meetings this page falls in are read (their counts say which),
        # meetings of the same day together, as the ordering mixes them.
        days: dict = {}
        for meeting_id, n in self.counts["meeting"].items():
            start = self.names.meetings[int(meeting_id)]["start_date"]
            days.setdefault(start, []).append((meeting_id, n))
        wanted, before, seen = [], 0, 0
        # Undated meetings last, on both databases (the SQL below says so too).
        for start in sorted(days, key=lambda day: (day is not None, day or 0), reverse=True):
            size = sum(n for _m, n in days[start])
            if seen + size > offset and seen < offset + limit:
                if not wanted:
                    before = seen
                wanted += [meeting_id for meeting_id, _n in days[start]]
            seen += size
        wanted = wanted or [facets.NOTHING]
        if self.conditions:
            # The filters' practices (an intersection no larger than the smallest filter), then their meetings.
            conditions = self.conditions
            if self.total > SORTED_AT_ONCE:
                # Many: the page's meetings as one more condition (read first), so fewer are sorted.
                conditions = [("meeting", wanted), *conditions]
            ids = facets.ids_sql(self.levels, conditions, sizes=self.sizes)
            rows = Practice.objects.filter(pk__in=RawSQL(*ids), session__meeting_id__in=[int(m) for m in wanted if m.isdigit()])
        else:
            # The whole library: only the practices of the page's meetings are read and sorted.
            rows = Practice.objects.filter(pk__in=RawSQL(*facets.ids_sql(self.levels, [("meeting", wanted)])))
        ordered = rows.order_by(newest, "-created_at", "-pk")
        skip = offset - before
        return list(ordered.values_list("pk", flat=True)[skip : skip + limit])


@dataclass
class Results:
    ids: RankedIds
    facets: list[Facet]
    query: str
    filters: dict[str, list[str]]
    capped: bool = False  # more practices match the words than are ranked and counted
    candidates: int = 0

    @property
    def total(self) -> int:
        return self.ids.count()

    @property
    def no_words(self) -> bool:
        """A search of punctuation or operators only: nothing to look for, so every practice is listed."""
        return bool(self.query.strip()) and not search.terms(self.query)


def search_library(
    user, *, query: str = "", filters: dict[str, list[str]] | None = None, candidates: int | None = None
) -> Results:
    """The search's ids (ranked by the engine among its `candidates` newest matches, by default
    settings.LIBRARY_SEARCH_CANDIDATES; newest meeting first without words; read by pages), with
    facet counts among the same practices."""
    filters = filters or {}
    candidates = candidates or settings.LIBRARY_SEARCH_CANDIDATES
    words = query if search.terms(query) else ""
    found = Search(user, query=words, filters=filters, candidates=candidates)
    return Results(
        ids=RankedIds(found), facets=facets_for(found, filters), query=query, filters=filters,
        capped=found.capped, candidates=candidates,
    )  # fmt: skip


def facets_for(found: Search, filters: dict[str, list[str]]) -> list[Facet]:
    """Each facet's values with their counts among the results, named from the small tables."""
    selected = {name: set(values) for name, values in filters.items()}
    counts, names = found.counts, found.names
    facets_ = []

    country = Facet("country", _("Country"))
    by_code: dict[str, int] = {}
    for delegation_id, n in counts["country"].items():
        code = names.countries[int(delegation_id)]
        by_code[code] = by_code.get(code, 0) + n
    language = get_language()
    for code, n in by_code.items():
        country.options.append({"value": code, "label": country_name(code, language), "count": n})
    # In the order of the names as the reader reads them (Allemagne before Autriche), not of ISO codes.
    country.options.sort(key=lambda option: name_key(option["label"]))
    facets_.append(country)

    theme = Facet("theme", _("Theme"))
    rows = [(names.themes[int(pk)], n) for pk, n in counts["theme"].items()]
    for option, n in sorted(rows, key=lambda row: (-row[1], row[0].slug)):
        theme.options.append({"value": option.slug, "label": option.name, "count": n})
    facets_.append(theme)

    year = Facet("year", _("Year started"))
    for value, n in sorted(counts["year"].items(), key=lambda item: -int(item[0])):
        year.options.append({"value": value, "label": value, "count": n})
    facets_.append(year)

    meeting = Facet("meeting", _("Meeting"))
    rows = [(names.meetings[int(pk)], n) for pk, n in counts["meeting"].items()]
    for row, n in sorted(rows, key=lambda item: (-item[1], item[0]["slug"])):
        meeting.options.append({"value": row["slug"], "label": row["title"], "count": n})
    facets_.append(meeting)

    for name, label, choices in (("level", _("Level of government"), PracticeLevel), ("status", _("Status"), PracticeStatus)):
        facet = Facet(name, label)
        labels = dict(choices.choices)
        for value, n in sorted(counts[name].items(), key=lambda item: (-item[1], item[0])):
            facet.options.append({"value": value, "label": labels.get(value, value), "count": n})
        facets_.append(facet)

    for facet in facets_:
        for option in facet.options:
            option["selected"] = option["value"] in selected.get(facet.name, set())
    return facets_


@dataclass(frozen=True)
class Card:
    """What the library's list shows of one practice, its labels in the active language."""

    pk: int
    url: str
    title: str
    country: str
    meeting: str
    since: str  # "since 2019", or ""
    status: str  # the status's label, or ""
    verified: bool
    themes: list[str]
    summary: str  # the description's first 40 words


def load_cards(ids: list[int]) -> list[Card]:
    """The list page's practices, in the given order: the shown fields only, as plain values, each
    label looked up once (two queries). A page of 20 cost 2.5 ms as model instances with their
    related rows and 2.7 ms to render (most of it `get_status_display` and country names per card)."""
    language = get_language()
    french = (language or "en").startswith("fr")
    themes: dict[int, list[str]] = {pk: [] for pk in ids}
    through = Practice.library_themes.through.objects.filter(practice_id__in=ids)
    for practice_id, name_en, name_fr in through.order_by("librarytheme__name_en").values_list(
        "practice_id", "librarytheme__name_en", "librarytheme__name_fr"
    ):
        themes[practice_id].append(name_fr if french and name_fr else name_en)
    statuses = {value: str(label) for value, label in PracticeStatus.choices}
    rows = Practice.objects.filter(pk__in=ids).values_list(
        "pk", "title", "delegation__country", "session__meeting__title", "year_started", "status", "verified", "description"
    )
    since = _("since %(year)s")
    by_id = {
        pk: Card(pk, reverse("library_practice", args=[pk]), title, country_name(code, language), meeting,
                 since % {"year": year} if year else "", statuses.get(status, status or ""), verified, themes[pk],
                 Truncator(text).words(40, truncate=" …"))
        for pk, title, code, meeting, year, status, verified, text in rows
    }  # fmt: skip
    return [by_id[pk] for pk in ids if pk in by_id]


def load_page(ids: list[int]) -> list[Practice]:
    """The practices of one page, in the given order, with what the list shows: a fixed number of queries."""
    rows = (
        Practice.objects.filter(pk__in=ids)
        .select_related("delegation", "session__meeting")
        .prefetch_related("library_themes")
    )
    by_id = {p.pk: p for p in rows}
    return [by_id[pk] for pk in ids if pk in by_id]


def provenances(practice: Practice) -> list[Practice]:
    """The practice and every duplicate merged into it: each keeps its meeting, session and question."""
    merged = list(
        Practice.objects.filter(merged_into=practice).select_related("session__meeting", "question", "delegation")
    )
    return [practice, *merged]


def related_practices(user, practice: Practice, *, limit: int = 5) -> list[Practice]:
    """Visible practices on the same themes, from other countries, best overlap first."""
    slugs = [t.slug for t in practice.library_themes.all()]
    if not slugs:
        return []
    ids = list(
        visible_practices(user)
        .filter(library_themes__slug__in=slugs)
        .exclude(delegation_id=practice.delegation_id)
        .exclude(pk=practice.pk)
        .values("pk")
        .annotate(overlap=Count("library_themes"))
        .order_by("-overlap", "-pk")
        .values_list("pk", flat=True)[:limit]
    )
    return load_page(ids)


def practices_for_session(user, session, *, limit: int = 5) -> list[Practice]:
    """Peer learning: practices from earlier meetings on this session's themes (the library themes
    whose English or French name appears in the session's title)."""
    title = search.fold(session.title)
    vocabulary = LibraryTheme.objects.values_list("slug", "name_en", "name_fr")
    slugs = [slug for slug, en, fr in vocabulary if search.fold(en) in title or (fr and search.fold(fr) in title)]
    if not slugs:
        return []
    ids = list(
        visible_practices(user)
        .filter(library_themes__slug__in=slugs)
        .exclude(session__meeting_id=session.meeting_id)
        .values("pk")
        .annotate(overlap=Count("library_themes"))
        .order_by("-overlap", "-pk")
        .values_list("pk", flat=True)[:limit]
    )
    return load_page(ids)


def free_theme_suggestions(limit: int = 200) -> list[dict]:
    """The delegations' free-text themes (across meetings, case folded) with how many practices use
    them, most used first, each with the vocabulary theme it most likely means (`suggested`, a slug,
    or None): the one sharing the most words with it, in English or French (first five letters of
    each word, accents and case aside, so "co-ordination" meets "coordination")."""
    from ..models import Theme

    rows = Theme.objects.values("name").annotate(n=Count("practices", distinct=True)).order_by("-n", "name")
    merged: dict[str, dict] = {}
    for row in rows:
        key = search.fold(row["name"]).strip()
        entry = merged.setdefault(key, {"name": row["name"], "count": 0})
        entry["count"] += row["n"]
    vocabulary = [(slug, _stems(f"{en} {fr}")) for slug, en, fr in LibraryTheme.objects.values_list("slug", "name_en", "name_fr")]
    suggestions = sorted(merged.values(), key=lambda e: (-e["count"], search.fold(e["name"])))[:limit]
    for entry in suggestions:
        stems = _stems(entry["name"])
        best = max(vocabulary, key=lambda theme: len(stems & theme[1]), default=None)
        entry["suggested"] = best[0] if best and stems & best[1] else None
    return suggestions


def _stems(text: str) -> set[str]:
    words = search.fold(text).replace("-", "").replace("’", " ").replace("'", " ").split()
    return {word[:5] for word in ("".join(c for c in w if c.isalnum()) for w in words) if len(word) >= 4}


def merge_candidates(user, practice: Practice, *, query: str = "", limit: int = 8) -> list[Practice]:
    """The practices the secretariat may merge `practice` into, to pick from rather than type a number:
    with `query`, those the library search finds (or the practice of that number); without, the same
    country's other practices, closest title first (a practice reported again, or imported twice)."""
    import difflib

    others = visible_practices(user).exclude(pk=practice.pk)
    query = query.strip()[:500]
    if query:
        number = query.lstrip("#")
        if number.isdigit():
            return load_page(list(others.filter(pk=int(number)).values_list("pk", flat=True)))
        ranked = search_library(user, query=query).ids
        return load_page([pk for pk in ranked[: limit + 1] if pk != practice.pk][:limit])
    title = search.fold(practice.title)
    rows = others.filter(delegation_id=practice.delegation_id).values_list("pk", "title")[:2000]
    ranked = sorted(rows, key=lambda row: (-difflib.SequenceMatcher(None, title, search.fold(row[1])).ratio(), -row[0]))
    return load_page([pk for pk, _title in ranked[:limit]])
