"""The library's full-text index, one small module over two engines.

PostgreSQL: a tsvector table with a GIN index. Each practice's words are indexed twice, as they are
(the `simple` configuration) and stemmed by the configuration of the practice's language (`english`
or `french`), title and themes with weight A, the rest with weight B; ranked by `ts_rank`.
SQLite: an FTS5 table with the `porter unicode61 remove_diacritics 2` tokenizer, ranked by `bm25`
with per-column weights (set once as the table's `rank`).
A search ranks, pages and counts its candidates: its newest matches, at most a bounded number
(settings.LIBRARY_SEARCH_CANDIDATES), so its cost does not grow with the number of matches.
Both index accent-folded text (folded here, in Python, so both engines and both languages see the same
words; PostgreSQL's `unaccent` would only repeat it), so `desinformation` finds `désinformation`.
Ranking, paging and counting all run in SQL: a search never brings every match into Python.
"""

import re
import unicodedata

from django.db import connection
from django.utils import translation

from ..models import country_name

TABLE = "sessions_app_library_index"
MAX_QUERY_CHARS = 500
MAX_TERMS = 16
# Title and themes weigh most (bm25 weights per column, in column order).
BM25_WEIGHTS = "bm25(10.0, 6.0, 1.0)"
SQLITE_TOKENIZER = "porter unicode61 remove_diacritics 2"
# The PostgreSQL text-search configuration that stems a practice's language; `simple` for the others.
CONFIGS = {"en": "english", "fr": "french"}
QUERY_CONFIGS = ("simple", "english", "french")
_WORD = re.compile(r"\w+", re.UNICODE)


def fold(text: str) -> str:
    """Lower-case, accents removed: the form both engines index and search."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def terms(query: str) -> list[str]:
    """The words of a search, folded; punctuation and operators are dropped, never interpreted."""
    return _WORD.findall(fold(query[:MAX_QUERY_CHARS]))[:MAX_TERMS]


def create_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [
            f"CREATE TABLE IF NOT EXISTS {TABLE} (practice_id bigint PRIMARY KEY, document tsvector NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {TABLE}_gin ON {TABLE} USING gin (document)",
        ]
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5(title, themes, body, tokenize='{SQLITE_TOKENIZER}')",
        # The weights live in the table, so `ORDER BY rank` (FTS5's fast path) ranks with them.
        f"INSERT INTO {TABLE}({TABLE}, rank) VALUES ('rank', '{BM25_WEIGHTS}')",
    ]


def drop_sql(vendor: str) -> list[str]:
    return [f"DROP TABLE IF EXISTS {TABLE}"]


def config_for(practice) -> str:
    """The stemming configuration of a practice's text: its own language, else its meeting's."""
    language = (practice.language or practice.session.meeting.language or "").lower()[:2]
    return CONFIGS.get(language, "simple")


def _document(practice) -> tuple[str, str, str]:
    themes = " ".join(
        f"{t.name_en} {t.name_fr}" for t in practice.library_themes.all()
    ) + " " + " ".join(t.name for t in practice.themes.all())
    body = " ".join(
        [
            practice.description,
            practice.problem,
            practice.what_was_done,
            practice.results,
            practice.lessons,
            # The country in both languages, so "Allemagne" finds Germany's practices.
            *(_country_names(str(practice.delegation.country)) if practice.delegation_id else []),
            practice.session.title,
            practice.session.meeting.title,
        ]
    )
    return _words(practice.title), _words(themes), _words(body)


def _country_names(code: str) -> list[str]:
    names = []
    for language in ("en", "fr"):
        # country_name() names the active language; its cache key must say the truth.
        with translation.override(language):
            names.append(country_name(code, language))
    return names


def _words(text: str) -> str:
    """Folded words only: PostgreSQL's parser would otherwise drop `<tags>` and split URLs its own way,
    and both engines then see the same words as `terms()` makes of a search."""
    return " ".join(_WORD.findall(fold(text)))


def _vector(weight: str) -> str:
    # The words as they are (so a stop word or a foreign word still matches) and stemmed.
    return f"setweight(to_tsvector('simple', %s) || to_tsvector(%s::regconfig, %s), '{weight}')"


def _insert_sql() -> str:
    if connection.vendor == "postgresql":
        return (
            f"INSERT INTO {TABLE} (practice_id, document) VALUES (%s, "
            f"{_vector('A')} || {_vector('A')} || {_vector('B')})"
            " ON CONFLICT (practice_id) DO UPDATE SET document = EXCLUDED.document"
        )
    return f"INSERT INTO {TABLE} (rowid, title, themes, body) VALUES (%s, %s, %s, %s)"


def _row(practice) -> list:
    title, themes, body = _document(practice)
    if connection.vendor == "postgresql":
        config = config_for(practice)
        return [practice.pk, title, config, title, themes, config, themes, body, config, body]
    return [practice.pk, title, themes, body]


def index_practice(practice) -> None:
    """Write (or rewrite) one practice's row in the index."""
    index_practices([practice])


def index_practices(practices) -> None:
    """Write (or rewrite) the rows of many practices, in one statement per batch (the rebuild's way)."""
    rows = [_row(practice) for practice in practices]
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            # FTS5 has no upsert: delete the old rows first.
            cursor.executemany(f"DELETE FROM {TABLE} WHERE rowid = %s", [[row[0]] for row in rows])
        cursor.executemany(_insert_sql(), rows)


def unindex_practice(practice_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE {id_column()} = %s", [practice_id])


def clear() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")


def id_column() -> str:
    return "practice_id" if connection.vendor == "postgresql" else "rowid"


def outer_id() -> str:
    """The index's id column as the enclosing query names it (for conditions correlated to a match)."""
    return f"{TABLE}.{id_column()}"


def _match_sql(words: list[str]) -> tuple[str, str, str, list[str]]:
    """(FROM clause, match condition, ORDER BY expression, params) of a search for every one of `words`."""
    if connection.vendor == "postgresql":
        # Each word a quoted lexeme (so ':' or '&' in it mean nothing), as it is or stemmed in either
        # language (a stop word's stemmed form is empty, which `||` ignores); the words ANDed.
        one = "(" + " || ".join(f"to_tsquery('{config}', %s)" for config in QUERY_CONFIGS) + ")"
        tsquery = " && ".join([one] * len(words))
        params = [f"'{word}'" for word in words for _config in QUERY_CONFIGS]
        return (
            f"FROM {TABLE}, (SELECT {tsquery} AS q) AS search",
            "document @@ search.q",
            # ts_rank, not ts_rank_cd: weights alike (title and themes before the rest), and about
            # fifteen times cheaper per document (1.3 against 19 ms for 1,000 candidates here);
            # equal ranks go newest first, as on SQLite.
            f"ts_rank(document, search.q) DESC, {TABLE}.practice_id DESC",
            params,
        )
    # Every word a quoted FTS5 string: operators (NEAR, AND, -, *, parentheses) stay words.
    fts = " ".join('"' + w + '"' for w in words)
    return f"FROM {TABLE}", f"{TABLE} MATCH %s", f"rank, {TABLE}.rowid DESC", [fts]


def candidates(query: str, within: tuple[str, list], *, limit: int) -> list[int]:
    """The ids of the search's newest matches among the practices `within` selects (SQL correlated
    to `outer_id()`), newest first, at most `limit`: both engines read the newest matches first
    and stop there, so this does not grow with the number of matches."""
    tables, condition, _rank, params = _match_sql(terms(query))
    within_sql, within_params = within
    sql = f"SELECT {outer_id()} {tables} WHERE {condition} AND {within_sql} ORDER BY {outer_id()} DESC LIMIT %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *within_params, limit])
        return [row[0] for row in cursor.fetchall()]


def ranked_page(query: str, within: tuple[str, list], ids: list[int], *, offset: int, limit: int) -> list[int]:
    """One page of the candidates `ids` (from `candidates()`), best first: ranked, limited and offset
    by the engine, which ranks these only."""
    if not ids or not terms(query):
        return []
    tables, condition, rank, params = _match_sql(terms(query))
    if connection.vendor == "postgresql":
        # The ids are matching, visible practices already: only their rank is computed.
        sql = f"SELECT {outer_id()} {tables} WHERE {outer_id()} = ANY(%s) ORDER BY {rank} LIMIT %s OFFSET %s"
        params = [*params, ids, limit, offset]
    else:
        # FTS5 ranks the matches from the lowest candidate id up (a range it reads directly; a list
        # of ids would make it run the match once per id): the same practices as `ids`.
        within_sql, within_params = within
        sql = (
            f"SELECT {outer_id()} {tables} WHERE {condition} AND {outer_id()} >= %s AND {within_sql}"
            f" ORDER BY {rank} LIMIT %s OFFSET %s"
        )
        params = [*params, min(ids), *within_params, limit, offset]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def match(query: str) -> list[int] | None:
    """Every practice id matching `query`, best first (for the rebuild check and the shell); None without words."""
    words = terms(query)
    if not words:
        return None
    tables, condition, rank, params = _match_sql(words)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {outer_id()} {tables} WHERE {condition} ORDER BY {rank}", params)
        return [row[0] for row in cursor.fetchall()]
