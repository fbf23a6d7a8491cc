"""The backup file: a gzipped tar of a manifest, the data and the uploaded files, each with its checksum.

Written to a temporary file beside the target and linked into place at the end, so that no
half-written backup ever carries the target's name. Read back member by member, never with
`extractall`: a name that climbs out of its folder or a member the manifest does not list is refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

FORMAT = "facilitation.backup"
VERSION = 1
MANIFEST = "manifest.json"
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup that cannot be written or read; the message says why and is shown as it is."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def safe_member_name(name: str) -> str:
    """The member name if it stays inside the archive's folder, else BackupError."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name or "\x00" in name:
        raise BackupError(f"the backup holds a file with an unsafe name: {name!r}")
    return str(path)


@dataclass
class ArchiveWriter:
    """Members added from files on disk or from bytes; the manifest lists each with its size and sha256."""

    tar: tarfile.TarFile
    files: dict[str, dict] = field(default_factory=dict)

    def add_file(self, name: str, path: Path) -> None:
        name = safe_member_name(name)
        self.files[name] = {"size": path.stat().st_size, "sha256": sha256_of(path)}
        self.tar.add(str(path), arcname=name, recursive=False)

    def add_bytes(self, name: str, data: bytes) -> None:
        name = safe_member_name(name)
        self.files[name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o600
        info.mtime = int(time.time())
        self.tar.addfile(info, io.BytesIO(data))


@contextmanager
def write_archive(target: Path, manifest: dict) -> Iterator[ArchiveWriter]:
    """Yield a writer; on success the archive appears at `target` whole, on any error nothing does.

    The manifest goes last (it carries every member's checksum), and a reader looks it up by name.
    """
    target = Path(target)
    if target.exists():
        raise BackupError(f"{target} already exists; choose another name or remove it first.")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist.")
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        with tarfile.open(temporary_path, "w:gz") as tar:
            writer = ArchiveWriter(tar)
            yield writer
            writer.add_bytes(MANIFEST, json.dumps({**manifest, "files": writer.files}, indent=1).encode())
        with temporary_path.open("rb") as written:
            os.fsync(written.fileno())
        try:
            os.link(temporary_path, target)  # unlike rename, refuses a target that appeared meanwhile
        except FileExistsError as error:
            raise BackupError(f"{target} appeared while the backup was written; it was left as it was.") from error
    finally:
        temporary_path.unlink(missing_ok=True)


@dataclass
class OpenedArchive:
    """A backup checked whole and unpacked into a temporary folder: its manifest and its members' paths."""

    manifest: dict
    folder: Path

    def path(self, name: str) -> Path:
        if name not in self.manifest["files"]:
            raise BackupError(f"the backup has no {name}.")
        return self.folder / name

    def names_under(self, prefix: str) -> list[str]:
        return sorted(name for name in self.manifest["files"] if name.startswith(prefix))


@contextmanager
def open_archive(source: Path) -> Iterator[OpenedArchive]:
    """Unpack a backup into a temporary folder after checking it is ours, whole and unaltered.

    Every member is checked against the manifest's size and sha256 before the caller sees any, so a
    truncated or altered file is refused before anything in the database or on disk is touched.
    """
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source} is not a file.")
    folder = Path(tempfile.mkdtemp(prefix="facilitation-restore-"))
    try:
        try:
            with tarfile.open(source, "r:gz") as tar:
                members = {member.name: member for member in tar.getmembers()}
                if MANIFEST not in members:
                    raise BackupError(f"{source} is not a facilitation backup (it has no manifest).")
                manifest = _read_manifest(tar.extractfile(members[MANIFEST]).read(), source)
                listed = manifest["files"]
                unlisted = sorted(set(members) - set(listed) - {MANIFEST})
                if unlisted:
                    raise BackupError(f"the backup holds files its manifest does not list: {', '.join(unlisted[:3])}")
                for name, expected in listed.items():
                    member = members.get(safe_member_name(name))
                    if member is None or not member.isfile():
                        raise BackupError(f"the backup is incomplete: {name} is missing.")
                    destination = folder / name
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    digest = hashlib.sha256()
                    with tar.extractfile(member) as data, destination.open("wb") as out:
                        while chunk := data.read(CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
                    if digest.hexdigest() != expected.get("sha256") or destination.stat().st_size != expected.get("size"):
                        raise BackupError(f"the backup is damaged: {name} does not match its checksum.")
        except (tarfile.TarError, EOFError, OSError, UnicodeDecodeError) as error:
            raise BackupError(f"{source} is not a readable backup ({error}).") from error
        yield OpenedArchive(manifest, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _read_manifest(data: bytes, source: Path) -> dict:
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BackupError(f"{source}: its manifest is not valid JSON.") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{source} is not a facilitation backup (its manifest's format is not “{FORMAT}”).")
    if manifest.get("version") != VERSION:
        raise BackupError(
            f"{source} is a version {manifest.get('version')} backup; this version of the application reads version {VERSION}."
        )
    if manifest.get("scope") not in {"instance", "meeting"} or not isinstance(manifest.get("files"), dict):
        raise BackupError(f"{source}: its manifest does not say what the backup holds.")
    return manifest
