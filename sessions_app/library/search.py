"""The library's full-text index, one small module over two engines.

PostgreSQL: a tsvector table with a GIN index, queried with websearch_to_tsquery (which accepts any
text, so hostile syntax never errors) and ranked by ts_rank with title and themes weighted A.
SQLite: an FTS5 table with the unicode61 tokenizer, ranked by bm25 with per-column weights.
Both index accent-folded text, so `desinformation` finds `désinformation` in either language.
"""

import re
import unicodedata

from django.db import connection

TABLE = "sessions_app_library_index"
MAX_QUERY_CHARS = 500
MAX_TERMS = 16
# Title and themes weigh most (bm25 weights per column, in column order).
_BM25 = "bm25(" + TABLE + ", 10.0, 6.0, 1.0)"
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
    return [f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5(title, themes, body, tokenize='unicode61')"]


def drop_sql(vendor: str) -> list[str]:
    return [f"DROP TABLE IF EXISTS {TABLE}"]


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
            practice.delegation.name if practice.delegation_id else "",
            practice.session.title,
            practice.session.meeting.title,
        ]
    )
    return _words(practice.title), _words(themes), _words(body)


def _words(text: str) -> str:
    """Folded words only: PostgreSQL's parser would otherwise drop `<tags>` and split URLs its own way,
    and both engines then see the same words as `terms()` makes of a search."""
    return " ".join(_WORD.findall(fold(text)))


def index_practice(practice) -> None:
    """Write (or rewrite) one practice's row in the index."""
    title, themes, body = _document(practice)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"INSERT INTO {TABLE} (practice_id, document) VALUES (%s, "
                "setweight(to_tsvector('simple', %s), 'A') || setweight(to_tsvector('simple', %s), 'A')"
                " || setweight(to_tsvector('simple', %s), 'C'))"
                " ON CONFLICT (practice_id) DO UPDATE SET document = EXCLUDED.document",
                [practice.pk, title, themes, body],
            )
        else:
            cursor.execute(f"DELETE FROM {TABLE} WHERE rowid = %s", [practice.pk])
            cursor.execute(
                f"INSERT INTO {TABLE} (rowid, title, themes, body) VALUES (%s, %s, %s, %s)",
                [practice.pk, title, themes, body],
            )


def unindex_practice(practice_id: int) -> None:
    with connection.cursor() as cursor:
        column = "practice_id" if connection.vendor == "postgresql" else "rowid"
        cursor.execute(f"DELETE FROM {TABLE} WHERE {column} = %s", [practice_id])


def clear() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")


def _match_sql(words: list[str]) -> tuple[str, str, list[str]]:
    """(FROM-and-WHERE clause, rank expression, params) of a search for every one of `words`."""
    if connection.vendor == "postgresql":
        # Each word becomes a quoted lexeme (so ':' or '&' in it mean nothing), ANDed with the rest.
        tsquery = " & ".join("'" + w.replace("'", "") + "'" for w in words)
        return (
            f"FROM {TABLE}, to_tsquery('simple', %s) q WHERE document @@ q",
            "ts_rank(document, q) DESC, practice_id",
            [tsquery],
        )
    # Every word a quoted FTS5 string: operators (NEAR, AND, -, *, parentheses) stay words.
    fts = " ".join('"' + w.replace('"', "") + '"' for w in words)
    return f"FROM {TABLE} WHERE {TABLE} MATCH %s", f"{_BM25}, rowid", [fts]


def _id_column() -> str:
    return "practice_id" if connection.vendor == "postgresql" else "rowid"


def match(query: str) -> list[int] | None:
    """Practice ids matching every word of `query`, best first; None when the query has no words."""
    words = terms(query)
    if not words:
        return None
    where, rank, params = _match_sql(words)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_id_column()} {where} ORDER BY {rank}", params)
        return [row[0] for row in cursor.fetchall()]


def match_subquery(query: str) -> tuple[str, list[str]] | None:
    """The same match as SQL for `pk__in=RawSQL(...)`, so filters and facets run in the database
    without passing thousands of ids as parameters (SQLite caps them)."""
    words = terms(query)
    if not words:
        return None
    where, _rank, params = _match_sql(words)
    return f"SELECT {_id_column()} {where}", params
