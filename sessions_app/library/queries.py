"""Reads of the library: who sees which practices, search, facets with counts, related practices."""

from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, QuerySet
from django.db.models.expressions import RawSQL
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
from . import search

FILTERS = ("country", "theme", "year", "meeting", "level", "status")


def is_member(user: User | AnonymousUser) -> bool:
    """A member of the network: anyone with an account in any meeting (or the secretariat)."""
    return bool(user.is_authenticated and (user.is_superuser or participant_of(user)))


def visible_practices(user: User | AnonymousUser) -> QuerySet[Practice]:
    """Published, live practices of meetings whose setting lets this user see them."""
    levels = [LibraryAccess.PUBLIC]
    if is_member(user) or is_secretariat(user):
        levels.append(LibraryAccess.MEMBERS)
    # Subqueries rather than joins: the facet counts then group the practice table alone, read from
    # its covering index (practice_library), which keeps them fast at 50,000 practices.
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


@dataclass
class Facet:
    name: str
    label: str
    options: list[dict] = field(default_factory=list)  # {"value", "label", "count", "selected"}


class RankedIds:
    """The ids of a search, counted and sliced in SQL: what Django's Paginator needs (count() and
    slicing), so a page of 20 never lists every match."""

    def __init__(self, matching: QuerySet[Practice], query: str, *, filtered: QuerySet[Practice]):
        self.matching = matching  # filtered and matching the words
        self.filtered = filtered  # the visible practices the filters keep, before the words
        self.query = query
        self._count: int | None = None

    def count(self) -> int:
        if self._count is None:
            self._count = self.matching.count()
        return self._count

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item):
        if not isinstance(item, slice):
            raise TypeError("RankedIds is read by pages only")
        offset = item.start or 0
        limit = (item.stop if item.stop is not None else self.count()) - offset
        if limit <= 0:
            return []
        if not self.query:
            ordered = self.matching.order_by("-session__meeting__start_date", "-created_at", "-pk")
            return list(ordered.values_list("pk", flat=True)[offset : offset + limit])
        # The engine matches the words itself: the practices it may return are the filtered ones
        # (matching them again inside would make SQLite run the match once per row).
        within = self.filtered.order_by().values("pk").query.sql_with_params()
        return search.ranked_page(self.query, within, offset=offset, limit=limit)


@dataclass
class Results:
    ids: RankedIds
    facets: list[Facet]
    query: str
    filters: dict[str, list[str]]

    @property
    def total(self) -> int:
        return self.ids.count()

    @property
    def no_words(self) -> bool:
        """A search of punctuation or operators only: nothing to look for, so every practice is listed."""
        return bool(self.query.strip()) and not search.terms(self.query)


def matching_practices(user, *, query: str = "", filters: dict[str, list[str]] | None = None) -> QuerySet[Practice]:
    """The visible practices that match the search words and the filters (unordered, in SQL)."""
    qs = apply_filters(visible_practices(user), filters or {})
    subquery = search.match_subquery(query) if query.strip() else None
    if subquery is not None:
        qs = qs.filter(pk__in=RawSQL(*subquery))
    return qs


def search_library(user, *, query: str = "", filters: dict[str, list[str]] | None = None) -> Results:
    """The search's ids (ranked by the engine, newest first without words; read by pages), with facet counts."""
    filters = filters or {}
    qs = matching_practices(user, query=query, filters=filters)
    words = query if search.terms(query) else ""
    ids = RankedIds(qs, words, filtered=apply_filters(visible_practices(user), filters))
    return Results(ids=ids, facets=facets_for(qs, filters), query=query, filters=filters)


def facets_for(matching: QuerySet[Practice], filters: dict[str, list[str]]) -> list[Facet]:
    """Counts of each facet value among the results: one aggregate query per facet, whatever the size,
    grouped on the practice table's own columns (names are looked up afterwards, a few rows each)."""
    selected = {name: set(values) for name, values in filters.items()}
    matching = matching.order_by()
    facets = []

    def rows(column):
        return list(matching.values(column).annotate(n=Count("pk")).order_by())

    codes = dict(Delegation.objects.values_list("pk", "country"))
    country = Facet("country", _("Country"))
    language = get_language()
    for row in rows("delegation_id"):
        code = codes[row["delegation_id"]]
        country.options.append({"value": code, "label": country_name(code, language), "count": row["n"]})
    # In the order of the names as the reader reads them (Allemagne before Autriche), not of ISO codes.
    country.options.sort(key=lambda option: name_key(option["label"]))
    facets.append(country)

    theme = Facet("theme", _("Theme"))
    names = {t.pk: t for t in LibraryTheme.objects.all()}
    theme_rows = (
        Practice.library_themes.through.objects.filter(practice_id__in=matching.values("pk"))
        .values("librarytheme_id")
        .annotate(n=Count("practice_id"))
        .order_by()
    )
    for row in sorted(theme_rows, key=lambda row: (-row["n"], names[row["librarytheme_id"]].slug)):
        option = names[row["librarytheme_id"]]
        theme.options.append({"value": option.slug, "label": option.name, "count": row["n"]})
    facets.append(theme)

    year = Facet("year", _("Year started"))
    for row in sorted(rows("year_started"), key=lambda row: -(row["year_started"] or 0)):
        if row["year_started"]:
            year.options.append({"value": str(row["year_started"]), "label": str(row["year_started"]), "count": row["n"]})
    facets.append(year)

    meeting = Facet("meeting", _("Meeting"))
    by_session = rows("session_id")
    sessions = {
        row["pk"]: (row["meeting__slug"], row["meeting__title"])
        for row in Session.objects.filter(pk__in=[row["session_id"] for row in by_session]).values("pk", "meeting__slug", "meeting__title")
    }
    counts: dict[tuple[str, str], int] = {}
    for row in by_session:
        key = sessions[row["session_id"]]
        counts[key] = counts.get(key, 0) + row["n"]
    for (slug, title), n in sorted(counts.items(), key=lambda item: (-item[1], item[0][0])):
        meeting.options.append({"value": slug, "label": title, "count": n})
    facets.append(meeting)

    for name, label, choices in (("level", _("Level of government"), PracticeLevel), ("status", _("Status"), PracticeStatus)):
        facet = Facet(name, label)
        labels = dict(choices.choices)
        for row in sorted(rows(name), key=lambda row: (-row["n"], row[name])):
            if row[name]:
                facet.options.append({"value": row[name], "label": labels.get(row[name], row[name]), "count": row["n"]})
        facets.append(facet)

    for facet in facets:
        for option in facet.options:
            option["selected"] = option["value"] in selected.get(facet.name, set())
    return facets


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
        words = query if search.terms(query) else ""
        ranked = RankedIds(matching_practices(user, query=query), words, filtered=visible_practices(user))
        return load_page([pk for pk in ranked[: limit + 1] if pk != practice.pk][:limit])
    title = search.fold(practice.title)
    rows = others.filter(delegation_id=practice.delegation_id).values_list("pk", "title")[:2000]
    ranked = sorted(rows, key=lambda row: (-difflib.SequenceMatcher(None, title, search.fold(row[1])).ratio(), -row[0]))
    return load_page([pk for pk, _title in ranked[:limit]])
