"""Records of a meeting, one module per format; every builder is a pure function of the database.

`FORMATS` is the one list of downloadable formats, shared by the records page and the
`export_meeting` command: each builder takes (meeting, *, session=None) and returns bytes, or an
iterator of bytes for the streamed CSV.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..models import Meeting, Session
from . import docx_compendium, docx_summary, record, tabular

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
JSON = "application/json"


@dataclass(frozen=True)
class ExportFormat:
    name: str  # as in URLs and on the command line: "summary-docx"
    kind: str  # ExportLog.kind: summary, compendium, answers, practices, polls, votes, interventions, record
    extension: str  # ExportLog.format and the file name's extension
    content_type: str
    build: Callable[..., bytes | Iterator[bytes]]
    streamed: bool = False
    per_session: bool = True

    def filename(self, meeting: Meeting, session: Session | None = None) -> str:
        scope = f"-session-{session.number}" if session is not None else ""
        return f"{meeting.slug}{scope}-{self.kind}.{self.extension}"


FORMATS: dict[str, ExportFormat] = {
    export.name: export
    for export in (
        ExportFormat("summary-docx", "summary", "docx", DOCX, docx_summary.build),
        ExportFormat("compendium-docx", "compendium", "docx", DOCX, docx_compendium.build),
        ExportFormat("answers-csv", "answers", "csv", CSV, tabular.answers_csv, streamed=True),
        ExportFormat("answers-xlsx", "answers", "xlsx", XLSX, tabular.answers_xlsx),
        ExportFormat("practices-csv", "practices", "csv", CSV, tabular.practices_csv, streamed=True),
        ExportFormat("practices-xlsx", "practices", "xlsx", XLSX, tabular.practices_xlsx),
        ExportFormat("polls-csv", "polls", "csv", CSV, tabular.polls_csv, streamed=True),
        ExportFormat("votes-csv", "votes", "csv", CSV, tabular.votes_csv, streamed=True),
        ExportFormat("interventions-csv", "interventions", "csv", CSV, tabular.interventions_csv, streamed=True),
        # One workbook for the three: poll results, votes and interventions, a sheet each.
        ExportFormat("polls-xlsx", "polls", "xlsx", XLSX, tabular.polls_xlsx),
        ExportFormat("json", "record", "json", JSON, record.build, per_session=False),
    )
}
