"""The complete record of a meeting as one JSON document (`export`), and its restore into another
database (`restore`); the format is described in docs/record-format.md.

The public names of both are importable from here, as they were from the single module this package
replaced: `record.build`, `record.parse`, `record.restore_record`, `record.RecordError`.
"""

from __future__ import annotations

from .export import build, dumps, export_record  # noqa: F401
from .format import BATCH, FORMAT, JOIN_CODE_ALPHABET, LIBRARY_FIELDS, VERSION, RecordError  # noqa: F401
from .restore import parse, restore_record  # noqa: F401
