"""Loading OSV records: directory trees of JSON files, single files and zip archives, streamed; their index keys."""

from __future__ import annotations

import json
import logging
import zipfile
import zlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from shelf.scanning.osv.ecosystems import normalize_ecosystem
from shelf.scanning.osv.model import RecordError

logger = logging.getLogger(__name__)

#: Largest single record accepted from a file or an archive member (the biggest real records are a few MB).
MAX_RECORD_BYTES = 64 * 1024 * 1024


def _report(errors: list[RecordError] | None, source: str, reason: str) -> None:
    if errors is None:
        logger.warning("skipped OSV data %s: %s", source, reason)
    else:
        errors.append(RecordError(source, reason))


def invalid_reason(record: Any) -> str | None:
    """Why ``record`` is not a usable OSV record, or ``None``."""
    if not isinstance(record, dict):
        return "not a JSON object"
    if not isinstance(record.get("id"), str) or not record["id"].strip():
        return "no id"
    if not isinstance(record.get("modified"), str) or not record["modified"].strip():
        return "no modified timestamp"
    affected = record.get("affected", [])
    if not isinstance(affected, list):
        return "affected is not a list"
    for i, entry in enumerate(affected):
        if not isinstance(entry, dict):
            return f"affected[{i}] is not an object"
        if "package" in entry and not isinstance(entry["package"], dict):
            return f"affected[{i}].package is not an object"
        for field in ("ranges", "versions"):
            if field in entry and not isinstance(entry[field], list):
                return f"affected[{i}].{field} is not a list"
    return None


def _records_from_bytes(data: bytes, source: str, errors: list[RecordError] | None) -> Iterator[dict]:
    try:
        payload = json.loads(data)
    except (ValueError, RecursionError) as exc:
        _report(errors, source, f"not valid JSON: {exc}")
        return
    items = payload if isinstance(payload, list) else [payload]
    for i, record in enumerate(items):
        where = f"{source}[{i}]" if isinstance(payload, list) else source
        reason = invalid_reason(record)
        if reason:
            _report(errors, where, reason)
        else:
            yield record


def _iter_json_file(path: Path, errors: list[RecordError] | None, max_bytes: int) -> Iterator[dict]:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            _report(errors, str(path), f"larger than {max_bytes} bytes")
            return
        data = path.read_bytes()
    except OSError as exc:
        _report(errors, str(path), f"unreadable: {exc}")
        return
    yield from _records_from_bytes(data, str(path), errors)


def _iter_zip(path: Path, errors: list[RecordError] | None, max_bytes: int) -> Iterator[dict]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        _report(errors, str(path), f"not a readable zip archive: {exc}")
        return
    with archive:
        for info in archive.infolist():
            if info.is_dir() or not info.filename.lower().endswith(".json"):
                continue
            if info.filename.startswith("__MACOSX/") or Path(info.filename).name.startswith("._"):
                continue
            source = f"{path}:{info.filename}"
            if info.file_size > max_bytes:
                _report(errors, source, f"larger than {max_bytes} bytes")
                continue
            try:
                with archive.open(info) as member:
                    data = member.read(max_bytes + 1)
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError, RuntimeError) as exc:
                _report(errors, source, f"unreadable archive member: {exc}")
                continue
            if len(data) > max_bytes:
                _report(errors, source, f"larger than {max_bytes} bytes")
                continue
            yield from _records_from_bytes(data, source, errors)


def iter_records(
    path: str | Path,
    errors: list[RecordError] | None = None,
    *,
    max_record_bytes: int = MAX_RECORD_BYTES,
) -> Iterator[dict]:
    """Yield the OSV records under ``path``.

    ``path`` is a directory (walked recursively, in sorted order, for ``*.json``
    files and ``*.zip`` archives), a single ``.json`` file (one record, or a
    JSON list of records), or a zip archive of ``.json`` members (OSV's
    per-ecosystem ``all.zip``), streamed member by member. Invalid data is
    skipped and reported as ``RecordError`` in ``errors`` when a list is
    given, else logged. Withdrawn records are yielded too (an import must
    learn of the withdrawal); ``OsvIndex`` ignores them. A missing ``path``
    raises ``FileNotFoundError``.
    """
    path = Path(path)
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            if not child.is_file():
                continue
            suffix = child.suffix.lower()
            if suffix == ".json":
                yield from _iter_json_file(child, errors, max_record_bytes)
            elif suffix == ".zip":
                yield from _iter_zip(child, errors, max_record_bytes)
    elif path.is_file():
        if path.suffix.lower() == ".json":
            yield from _iter_json_file(path, errors, max_record_bytes)
        elif zipfile.is_zipfile(path):
            yield from _iter_zip(path, errors, max_record_bytes)
        else:
            yield from _iter_json_file(path, errors, max_record_bytes)
    else:
        raise FileNotFoundError(f"no OSV data at {path}")


def record_key(record: dict) -> tuple[str, str]:
    """``(id, modified)``: an import stores a record when this pair is new."""
    return record["id"], record["modified"]


def modified_sort_key(value: str) -> tuple[int, Any]:
    try:
        return (1, datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except (ValueError, TypeError):
        return (0, value)


def affected_index_keys(record: dict) -> list[tuple[str, str]]:
    """The ``(normalized ecosystem, package name)`` pairs ``record`` affects, in order, without repeats.

    Looked up with ``package_lookup_keys``. Withdrawn records have keys too;
    ``OsvIndex`` ignores them.
    """
    keys: list[tuple[str, str]] = []
    for entry in record.get("affected") or ():
        key = entry_key(entry)
        if key and key not in keys:
            keys.append(key)
    return keys


def entry_key(entry: Any) -> tuple[str, str] | None:
    if not isinstance(entry, dict):
        return None
    package = entry.get("package")
    if not isinstance(package, dict):
        return None
    ecosystem, name = package.get("ecosystem"), package.get("name")
    if not isinstance(ecosystem, str) or not isinstance(name, str) or not ecosystem.strip() or not name.strip():
        return None
    return normalize_ecosystem(ecosystem), name.strip()
