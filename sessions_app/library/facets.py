"""The library's facet counts, kept in two tables by the index's signals, so that a page reads a few
rows whatever the number of practices.

`LibraryFacetValue`: each practice in the library has one row per facet value (its delegation, its
meeting, year started, level, status, each library theme), under its meeting's access level (public
or members); a practice outside the library (not published, retired, merged, or of a meeting not in
the library) has none. `LibraryFacetCount`: per access level, how many practices have each value
(the whole library) and each pair of values (the library under one filter). Both are rewritten in
the transaction that changes a practice, from the difference between its old and new values, so
they stay equal to counts made from the practices (tests/test_library_facets.py checks it after
every kind of change). `manage.py rebuild_library_index` rewrites them too.

Reads: the whole library or one filter (one facet, one or several values; one theme) reads the
kept counts; two facets or several themes list the practices the filters keep, read from the
smallest filter's range of the value index and checked against the others, then count them by id
(one query for every facet), as a search counts among its candidates (queries.Search). The ids of the visible, filtered
practices are SQL over the value rows.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection

from ..models import (
    Delegation,
    LibraryAccess,
    LibraryFacetCount,
    LibraryFacetValue,
    LibraryTheme,
    Meeting,
    Practice,
    Visibility,
)

FACETS = ("country", "theme", "year", "meeting", "level", "status")
IN_LIBRARY = (LibraryAccess.PUBLIC, LibraryAccess.MEMBERS)
VALUES = LibraryFacetValue._meta.db_table
COUNTS = LibraryFacetCount._meta.db_table
# Every practice in the library has exactly one meeting row: "is it visible" is "has it a meeting row".
ANCHOR = "meeting"
# A value never stored: a filter naming nothing known matches nothing (and still runs its query).
NOTHING = "-"
BATCH = 500


def _values(practice: Practice) -> set[tuple[str, str, str]]:
    """(access, facet, value) of a practice as the library sees it; empty outside the library."""
    # The practice's own fields first: a pending practice (most saves during a meeting) costs no query.
    if practice.visibility != Visibility.PUBLISHED or practice.retired or practice.merged_into_id:
        return set()
    meeting = practice.session.meeting
    if meeting.library not in IN_LIBRARY:
        return set()
    values = [("country", str(practice.delegation_id)), ("meeting", str(meeting.pk))]
    if practice.year_started:
        values.append(("year", str(practice.year_started)))
    for name in ("level", "status"):
        if getattr(practice, name):
            values.append((name, getattr(practice, name)))
    values += [("theme", str(theme.pk)) for theme in practice.library_themes.all()]
    return {(meeting.library, facet, value) for facet, value in values}


def _pairs(values: Iterable[tuple[str, str, str]]) -> Iterable[tuple[str, str, str, str, str]]:
    """The count keys one practice adds to: each value alone, and each value under each value."""
    values = list(values)
    for access, facet, value in values:
        yield ("", "", access, facet, value)
        for _access, filter_facet, filter_value in values:
            yield (filter_facet, filter_value, access, facet, value)


def refresh(practices: Iterable[Practice]) -> None:
    """Bring the value rows and the counts of these practices up to date (a no-op when nothing the
    facets show has changed, as for an edit of the text)."""
    practices = list(practices)
    for start in range(0, len(practices), BATCH):
        _refresh(practices[start : start + BATCH])


def _refresh(practices: list[Practice]) -> None:
    if not practices:
        return
    new = {practice.pk: _values(practice) for practice in practices}
    old: dict[int, set] = defaultdict(set)
    for practice_id, *value in LibraryFacetValue.objects.filter(practice_id__in=list(new)).values_list(
        "practice_id", "access", "facet", "value"
    ):
        old[practice_id].add(tuple(value))
    changed = [pk for pk in new if new[pk] != old.get(pk, set())]
    if not changed:
        return
    delta: Counter = Counter()
    for pk in changed:
        delta.subtract(_pairs(old.get(pk, ())))
        delta.update(_pairs(new[pk]))
    LibraryFacetValue.objects.filter(practice_id__in=changed).delete()
    LibraryFacetValue.objects.bulk_create(
        [LibraryFacetValue(practice_id=pk, access=a, facet=f, value=v) for pk in changed for a, f, v in new[pk]]
    )
    _add(delta)


def forget(practice_id: int) -> None:
    """Take a deleted practice out of the counts."""
    old = set(LibraryFacetValue.objects.filter(practice_id=practice_id).values_list("access", "facet", "value"))
    if not old:
        return
    delta: Counter = Counter()
    delta.subtract(_pairs(old))
    LibraryFacetValue.objects.filter(practice_id=practice_id).delete()
    _add(delta)


def _add(delta: Counter) -> None:
    # Sorted, so two transactions touching the same counts lock them in the same order (no deadlock).
    rows = [[*key, n] for key, n in sorted(delta.items()) if n]
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {COUNTS} (filter_facet, filter_value, access, facet, value, n) VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (filter_facet, filter_value, access, facet, value)"
            f" DO UPDATE SET n = {COUNTS}.n + excluded.n",
            rows,
        )


def rebuild(practices: Iterable[Practice]) -> None:
    """Rewrite both tables from these practices (all of them: the index's rebuild)."""
    LibraryFacetValue.objects.all().delete()
    LibraryFacetCount.objects.all().delete()
    delta: Counter = Counter()
    batch = []
    for practice in practices:
        values = _values(practice)
        delta.update(_pairs(values))
        batch += [LibraryFacetValue(practice_id=practice.pk, access=a, facet=f, value=v) for a, f, v in values]
        if len(batch) >= 5000:
            LibraryFacetValue.objects.bulk_create(batch, batch_size=1000)
            batch = []
    LibraryFacetValue.objects.bulk_create(batch, batch_size=1000)
    _add(delta)


def practices_of_meeting(meeting_id: int):
    return Practice.objects.filter(session__meeting_id=meeting_id).select_related("session__meeting").prefetch_related(
        "library_themes"
    )


def refresh_meeting(meeting_id: int) -> None:
    """After a meeting's library setting changed: its practices enter, leave or change access level."""
    refresh(practices_of_meeting(meeting_id).iterator(chunk_size=BATCH))


def refresh_session(session_id: int) -> None:
    """After a session moved to another meeting."""
    rows = Practice.objects.filter(session_id=session_id).select_related("session__meeting")
    refresh(rows.prefetch_related("library_themes").iterator(chunk_size=BATCH))


# Reads ------------------------------------------------------------------------------------------


@dataclass
class Names:
    """The small tables facets are named from, read once per page (a fixed number of queries)."""

    countries: dict[int, str]  # delegation id -> country code
    themes: dict[int, LibraryTheme]
    meetings: dict[int, dict]  # id -> {"slug", "title", "start_date"}

    @classmethod
    def load(cls) -> Names:
        return cls(
            countries=dict(Delegation.objects.values_list("pk", "country")),
            themes={theme.pk: theme for theme in LibraryTheme.objects.all()},
            meetings={row["pk"]: row for row in Meeting.objects.values("pk", "slug", "title", "start_date")},
        )


def stored_filters(filters: dict[str, list[str]], names: Names) -> list[tuple[str, list[str]]]:
    """The page's filters as stored values, one (facet, values) per condition: values of one facet
    are any of them, except themes, each its own condition (all of them)."""
    conditions = []
    for facet in FACETS:
        wanted = filters.get(facet)
        if not wanted:
            continue
        if facet == "country":
            codes = {code.upper() for code in wanted}
            values = [str(pk) for pk, code in names.countries.items() if code in codes]
        elif facet == "meeting":
            values = [str(pk) for pk, row in names.meetings.items() if row["slug"] in wanted]
        elif facet == "theme":
            by_slug = {theme.slug: str(pk) for pk, theme in names.themes.items()}
            conditions += [("theme", [by_slug.get(slug, NOTHING)]) for slug in dict.fromkeys(wanted)]
            continue
        elif facet == "year":
            values = [str(int(y)) for y in wanted if y.isdigit() and len(y) <= 4]
        else:
            values = list(wanted)
        conditions.append((facet, values or [NOTHING]))
    return conditions


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


def ids_sql(
    levels: list[str], conditions: list[tuple[str, list[str]]], *, sizes: dict[str, Counter] | None = None
) -> tuple[str, list]:
    """SQL of the ids of the visible practices that meet every condition. The two smallest conditions
    (by the whole library's counts `sizes`, else the first two) are ranges of the value index read
    in order and intersected; each other condition is one index lookup per id they leave. So the
    cost is that of the two smallest filters: at 50,000 practices a country and a year (about 1,300
    and 1,900 rows) intersect in 0.6 ms on SQLite, where looking each of the country's ids up in the
    year took 1.5 ms."""
    conditions = list(conditions) or [(ANCHOR, None)]
    if sizes is not None:
        conditions.sort(key=lambda condition: sum(sizes[condition[0]][value] for value in condition[1] or ()))
    first, params = _range_sql(levels, *conditions[0])
    if len(conditions) == 1:
        return first, params
    second, second_params = _range_sql(levels, *conditions[1])
    sql = f"SELECT kept.practice_id FROM ({first} INTERSECT {second}) kept"
    params += second_params
    if conditions[2:]:
        checks, check_params = within_sql(levels, conditions[2:], outer="kept.practice_id")
        sql += f" WHERE {checks}"
        params += check_params
    return sql, params


def _range_sql(levels: list[str], facet: str, values: list[str] | None) -> tuple[str, list]:
    """The ids of the practices with one of these values of a facet (any value: None)."""
    sql = f"SELECT practice_id FROM {VALUES} WHERE facet = %s AND access IN ({_placeholders(levels)})"
    params = [facet, *levels]
    if values is not None:
        sql += f" AND value IN ({_placeholders(values)})"
        params += values
    return sql, params


def within_sql(levels: list[str], conditions: list[tuple[str, list[str]]], *, outer: str) -> tuple[str, list]:
    """The same as a condition on one id (`outer`, a column of the enclosing query): one index lookup
    per condition, so a search checks its candidates without listing every visible practice."""
    parts, params = [], []
    for facet, values in conditions or [(ANCHOR, None)]:
        sql = (
            f"EXISTS (SELECT 1 FROM {VALUES} WHERE {VALUES}.practice_id = {outer} AND facet = %s"
            f" AND access IN ({_placeholders(levels)})"
        )
        params += [facet, *levels]
        if values is not None:
            sql += f" AND value IN ({_placeholders(values)})"
            params += values
        parts.append(sql + ")")
    return " AND ".join(parts), params


def kept_counts(levels: list[str], conditions: list[tuple[str, list[str]]]) -> dict[str, Counter] | None:
    """Counts per facet value read from the kept counts: the whole library, or one condition (values
    of one facet exclude each other, so their counts add up); None for two conditions or more."""
    if len(conditions) > 1:
        return None
    facet, values = conditions[0] if conditions else ("", [""])
    sql = (
        f"SELECT facet, value, SUM(n) FROM {COUNTS} WHERE filter_facet = %s AND filter_value IN ({_placeholders(values)})"
        f" AND access IN ({_placeholders(levels)}) AND n > 0 GROUP BY facet, value"
    )
    return _grouped(sql, [facet, *values, *levels])


def listed(ids: tuple[str, list]) -> list[int]:
    """The ids an `ids_sql` selects."""
    with connection.cursor() as cursor:
        cursor.execute(*ids)
        return [row[0] for row in cursor.fetchall()]


def id_list_sql(ids: list[int]) -> tuple[str, list]:
    """A subquery of these ids, the list one parameter (an array on PostgreSQL, JSON on SQLite)."""
    if connection.vendor == "postgresql":
        return "SELECT unnest(%s::bigint[])", [list(ids)]
    return "SELECT value FROM json_each(%s)", [json.dumps(list(ids))]


def counted_ids(levels: list[str], ids: list[int]) -> dict[str, Counter]:
    """Counts per facet value among the practices `ids` (a search's candidates, or what two filters
    keep), in one query, read through the practice index."""
    if connection.vendor == "postgresql":
        where, param = "practice_id = ANY(%s)", list(ids)
    else:
        where, param = "practice_id IN (SELECT value FROM json_each(%s))", json.dumps(list(ids))
    sql = (
        f"SELECT facet, value, COUNT(*) FROM {VALUES} WHERE {where}"
        f" AND access IN ({_placeholders(levels)}) GROUP BY facet, value"
    )
    return _grouped(sql, [param, *levels])


def _grouped(sql: str, params: list) -> dict[str, Counter]:
    counts: dict[str, Counter] = {facet: Counter() for facet in FACETS}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for facet, value, n in cursor.fetchall():
            if facet in counts:
                counts[facet][value] += int(n)
    return counts
