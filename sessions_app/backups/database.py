"""Copies of the whole database: SQLite's online backup API, PostgreSQL's pg_dump and pg_restore.

Both copies are consistent while the server keeps serving: SQLite copies every page in one step
under one read transaction (WAL lets writers go on meanwhile), pg_dump reads one snapshot.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from django.db import connections
from django.db.migrations.loader import MigrationLoader

from .archive import BackupError

SQLITE_MEMBER = "database.sqlite3"
POSTGRESQL_MEMBER = "database.pgdump"


def engine_of(alias: str = "default") -> str:
    """'sqlite' or 'postgresql': the two databases the application runs on."""
    vendor = connections[alias].vendor
    if vendor not in {"sqlite", "postgresql"}:
        raise BackupError(f"backups cover SQLite and PostgreSQL; this database is {vendor}.")
    return vendor


def applied_migrations(alias: str = "default") -> list[str]:
    """"app.name" of every migration applied to the database, sorted: the schema the copy has."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations")
        return sorted(f"{app}.{name}" for app, name in cursor.fetchall())


def unknown_migrations(names: list[str]) -> list[str]:
    """Migrations a backup was taken with that this code does not have (a newer or foreign schema)."""
    known = {f"{app}.{name}" for app, name in MigrationLoader(None, ignore_no_migrations=True).disk_migrations}
    return sorted(set(names) - known)


# --- SQLite --------------------------------------------------------------------------------------


def _sqlite_path(alias: str) -> Path:
    name = str(connections[alias].settings_dict["NAME"])
    if name == ":memory:" or name.startswith("file:") and "mode=memory" in name:
        raise BackupError("an in-memory SQLite database cannot be backed up.")
    return Path(name)


def _read_only(path: Path) -> str:
    return f"{Path(path).resolve().as_uri()}?mode=ro"  # as_uri quotes what a URI cannot hold as it is


def dump_sqlite(target: Path, alias: str = "default") -> None:
    """Copy the live database to `target` with the online backup API, then check the copy."""
    try:
        source = sqlite3.connect(_read_only(_sqlite_path(alias)), uri=True, timeout=20)
    except sqlite3.Error as error:
        raise BackupError(f"the SQLite database cannot be opened: {error}") from error
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # every page in one step: one snapshot, writers go on in the WAL meanwhile
        copy.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file, no -wal beside it
        check_sqlite(copy)
    except sqlite3.Error as error:
        raise BackupError(f"the SQLite backup failed: {error}") from error
    finally:
        copy.close()
        source.close()


def check_sqlite(copy: sqlite3.Connection) -> list[str]:
    """The copy's applied migrations, after SQLite's own integrity check; BackupError if either fails."""
    try:
        (result,) = copy.execute("PRAGMA integrity_check").fetchone()
        if result != "ok":
            raise BackupError(f"the SQLite copy is damaged: {result}")
        rows = copy.execute("SELECT app, name FROM django_migrations").fetchall()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"the database in the backup cannot be read: {error}") from error
    return sorted(f"{app}.{name}" for app, name in rows)


def restore_sqlite(copy_path: Path, alias: str = "default") -> None:
    """Replace the database's content with the copy's, in one step (the backup API, in reverse)."""
    copy = sqlite3.connect(_read_only(copy_path), uri=True)
    try:
        check_sqlite(copy)
        connections[alias].close()
        target = sqlite3.connect(_sqlite_path(alias), timeout=20)
        try:
            copy.backup(target)  # one write transaction on the target: all of the copy, or nothing
        finally:
            target.close()
    except sqlite3.Error as error:
        raise BackupError(f"the SQLite restore failed, the database was left as it was: {error}") from error
    finally:
        copy.close()


# --- PostgreSQL ----------------------------------------------------------------------------------


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed (Debian: apt-get install postgresql-client); it is needed to back up PostgreSQL."
        )
    return path


def _pg_arguments(alias: str) -> tuple[list[str], dict[str, str]]:
    settings = connections[alias].settings_dict
    arguments = []
    for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if settings.get(key):
            arguments.append(f"{option}={settings[key]}")
    environment = {**os.environ}
    if settings.get("PASSWORD"):
        environment["PGPASSWORD"] = str(settings["PASSWORD"])  # not on the command line, where ps shows it
    return arguments, environment


def _run(command: list[str], environment: dict[str, str], what: str) -> None:
    completed = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        detail = completed.stderr.strip().splitlines()
        raise BackupError(f"{what} failed: {detail[-1] if detail else f'exit status {completed.returncode}'}")


def dump_postgresql(target: Path, alias: str = "default") -> None:
    """pg_dump in its custom format (compressed, restorable table by table) of the live database."""
    arguments, environment = _pg_arguments(alias)
    name = connections[alias].settings_dict["NAME"]
    _run([require_tool("pg_dump"), *arguments, "--format=custom", f"--file={target}", f"--dbname={name}"], environment, "pg_dump")


def check_postgresql_dump(dump: Path) -> None:
    """pg_restore reads the dump's table of contents: a damaged or foreign file is refused here."""
    _run([require_tool("pg_restore"), "--list", str(dump)], {**os.environ}, "Reading the PostgreSQL dump")


# Run before the dump's own script, in its transaction: the database then holds the backup's tables and
# nothing else, so a later `migrate` finds the schema the backup's django_migrations describes.
_EMPTY_SCHEMA = "BEGIN;\nSET client_min_messages = warning;\nDROP SCHEMA IF EXISTS public CASCADE;\nCREATE SCHEMA public;\n"


def _read_log(log) -> str:
    with log:
        log.seek(0)
        return log.read().decode(errors="replace").strip()


def restore_postgresql(dump: Path, alias: str = "default") -> None:
    """Replace the database's tables with the dump's, in one transaction: an error leaves it as it was."""
    check_postgresql_dump(dump)
    arguments, environment = _pg_arguments(alias)
    name = connections[alias].settings_dict["NAME"]
    connections[alias].close()
    # Messages go to files, not pipes: a pipe nobody reads until the end could fill and stall both.
    script_log, psql_log = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    script = subprocess.Popen(
        [require_tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-", str(dump)],
        stdout=subprocess.PIPE, stderr=script_log, env=environment,
    )  # fmt: skip
    psql = subprocess.Popen(
        [require_tool("psql"), *arguments, "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", f"--dbname={name}", "--file=-"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=psql_log, env=environment,
    )  # fmt: skip
    try:
        psql.stdin.write(_EMPTY_SCHEMA.encode())
        while chunk := script.stdout.read(1 << 16):
            psql.stdin.write(chunk)
        script.wait()
        # Committed only when pg_restore wrote its whole script: a script cut short is rolled back.
        psql.stdin.write(b"COMMIT;\n" if script.returncode == 0 else b"ROLLBACK;\n")
        psql.stdin.close()
    except BrokenPipeError:
        pass  # psql stopped on an error: its message is read below, and its transaction was rolled back
    script.stdout.close()
    script.wait()
    psql.wait()
    script_error, psql_error = (_read_log(log) for log in (script_log, psql_log))
    if script.returncode != 0 or psql.returncode != 0:
        lines = (psql_error or script_error).splitlines()
        first_error = next((line.split("ERROR:", 1)[1].strip() for line in lines if "ERROR:" in line), None)
        raise BackupError(f"the PostgreSQL restore failed, nothing was changed: {first_error or (lines[-1] if lines else 'no message')}")
