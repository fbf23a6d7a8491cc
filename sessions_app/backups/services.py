"""Back up the whole instance or one meeting, and restore either (docs/backups.md).

A whole-instance backup is the database as its own tools copy it (SQLite's online backup API,
PostgreSQL's pg_dump) plus every file under MEDIA_ROOT; it restores onto the same kind of database.
A meeting's backup is its JSON record (docs/record-format.md), which carries the images of its Word
notes; it restores into any instance, beside the meetings already there.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from ..exports import record
from ..models import FigureImage, Meeting
from ..oplog import log_event
from . import database
from .archive import FORMAT, VERSION, BackupError, OpenedArchive, open_archive, write_archive

RECORD_MEMBER = "record.json"
MEDIA_PREFIX = "media/"


@dataclass(frozen=True)
class BackupSummary:
    path: Path
    scope: str  # "instance" or "meeting"
    size: int
    files: int  # members besides the manifest


@dataclass(frozen=True)
class RestoreSummary:
    scope: str
    created_at: str
    meeting: str | None  # the restored meeting's slug, for a meeting's backup
    media_files: int


def default_filename(meeting: Meeting | None = None, *, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"facilitation-{meeting.slug}-{stamp}.tar.gz" if meeting else f"facilitation-{stamp}.tar.gz"


def _media_root() -> Path | None:
    root = getattr(settings, "MEDIA_ROOT", "")
    return Path(root) if root else None


def _manifest(scope: str, **extra) -> dict:
    return {
        "format": FORMAT,
        "version": VERSION,
        "scope": scope,
        "created_at": datetime.now(UTC).isoformat(),
        "engine": database.engine_of(),
        "migrations": database.applied_migrations(),
        **extra,
    }


def backup_instance(*, target: Path) -> BackupSummary:
    """The whole database and MEDIA_ROOT in one file at `target`; safe while the server is serving."""
    engine = database.engine_of()
    if engine == "postgresql":
        database.require_tool("pg_dump")  # say it is missing before anything is written
    manifest = _manifest("instance")
    with (
        write_archive(target, manifest) as archive,
        # Beside the target, not in /tmp: the database's copy is as large as the database.
        tempfile.TemporaryDirectory(prefix=".facilitation-backup-", dir=Path(target).parent) as folder,
    ):
        if engine == "sqlite":
            copy = Path(folder) / database.SQLITE_MEMBER
            database.dump_sqlite(copy)
            archive.add_file(database.SQLITE_MEMBER, copy)
        else:
            dump = Path(folder) / database.POSTGRESQL_MEMBER
            database.dump_postgresql(dump)
            archive.add_file(database.POSTGRESQL_MEMBER, dump)
        root = _media_root()
        if root is not None and root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    archive.add_file(MEDIA_PREFIX + path.relative_to(root).as_posix(), path)
        files = len(archive.files)
    log_event("backup.written", kind="instance", count=files)
    return BackupSummary(path=Path(target), scope="instance", size=Path(target).stat().st_size, files=files)


def backup_meeting(meeting: Meeting, *, target: Path) -> BackupSummary:
    """One meeting's JSON record (which carries its notes' images) in one file at `target`."""
    manifest = _manifest("meeting", meeting=meeting.slug)
    with write_archive(target, manifest) as archive:
        archive.add_bytes(RECORD_MEMBER, record.dumps(record.export_record(meeting)))
        files = len(archive.files)
    log_event("backup.written", kind="meeting", meeting_id=meeting.pk, count=files)
    return BackupSummary(path=Path(target), scope="meeting", size=Path(target).stat().st_size, files=files)


def database_is_empty() -> bool:
    """No meeting and no account: a database just made by `migrate`."""
    return not (Meeting.objects.exists() or User.objects.exists())


def restore_backup(source: Path, *, force: bool = False) -> RestoreSummary:
    """Restore a backup made by backup_instance or backup_meeting; BackupError, with nothing changed, if it cannot be.

    A whole-instance backup replaces the database's content and is refused over a database that holds
    a meeting or an account unless `force`; a meeting's backup is refused when the meeting exists
    unless `force`, which replaces that meeting (in the same transaction as the restore).
    """
    with open_archive(source) as archive:
        if archive.manifest["scope"] == "instance":
            return _restore_instance(archive, force=force)
        return _restore_meeting(archive, force=force)


def _restore_instance(archive: OpenedArchive, *, force: bool) -> RestoreSummary:
    manifest = archive.manifest
    engine = database.engine_of()
    if manifest.get("engine") != engine:
        raise BackupError(
            f"this backup is of a {manifest.get('engine')} database and this instance uses {engine}: "
            "restore it onto the same kind of database (a meeting's backup moves between both)."
        )
    newer = database.unknown_migrations(manifest.get("migrations") or [])
    if newer:
        raise BackupError(
            f"this backup was taken by a newer or different version of the application (unknown migrations: "
            f"{', '.join(newer[:3])}); install that version to restore it."
        )
    if not force and not database_is_empty():
        raise BackupError("this database is not empty (it holds meetings or accounts); add --force to replace everything in it.")
    media = archive.names_under(MEDIA_PREFIX)
    root = _media_root()
    if media and root is None:
        raise BackupError("the backup holds uploaded files but MEDIA_ROOT is not set here; set it and try again.")
    member = database.SQLITE_MEMBER if engine == "sqlite" else database.POSTGRESQL_MEMBER
    path = archive.path(member)
    if engine == "sqlite":
        database.restore_sqlite(path)
    else:
        database.restore_postgresql(path)
    for name in media:
        destination = root / name.removeprefix(MEDIA_PREFIX)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(archive.path(name).read_bytes())
    log_event("backup.restored", kind="instance", count=len(media))
    return RestoreSummary(scope="instance", created_at=manifest.get("created_at", ""), meeting=None, media_files=len(media))


def _restore_meeting(archive: OpenedArchive, *, force: bool) -> RestoreSummary:
    manifest = archive.manifest
    try:
        document = record.parse(archive.path(RECORD_MEMBER).read_bytes())
    except record.RecordError as error:
        raise BackupError(str(error)) from error
    slug = document["meeting"].get("slug")
    existing = Meeting.objects.filter(slug=slug).first()
    if existing is not None and not force:
        raise BackupError(f"the meeting “{slug}” exists here; add --force to replace it with the backup's.")
    try:
        with transaction.atomic():
            if existing is not None:
                existing.delete()
            meeting = record.restore_record(document)
    except record.RecordError as error:
        raise BackupError(str(error)) from error
    log_event("backup.restored", kind="meeting", meeting_id=meeting.pk, count=FigureImage.objects.filter(meeting=meeting).count())
    return RestoreSummary(scope="meeting", created_at=manifest.get("created_at", ""), meeting=meeting.slug, media_files=0)


def describe(source: Path) -> dict:
    """The manifest of a backup, after checking it whole (for `restore --check`)."""
    with open_archive(source) as archive:
        return dict(archive.manifest)
