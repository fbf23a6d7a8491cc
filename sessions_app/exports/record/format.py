"""What the export and the restore of a meeting's record share: the format's name and version (docs/record-format.md)
and the error a record that cannot be read gives."""

from __future__ import annotations

from datetime import datetime

FORMAT = "facilitation.meeting-record"
VERSION = 1
BATCH = 500
JOIN_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


class RecordError(Exception):
    """A record that cannot be read or restored; the message says why and is shown as it is."""


# The practice's library fields, exported and restored as they are (all optional in older records).
LIBRARY_FIELDS = (
    "level", "year_started", "status", "problem", "what_was_done", "results", "lessons", "links", "contact",
    "contact_consent", "language", "verified", "retired",
)  # fmt: skip


def parse_time(value: str | None) -> datetime | None:
    """A time as the record writes it (ISO 8601 with its offset); ValueError for one without a zone."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"time without a time zone: {value}")
    return parsed
