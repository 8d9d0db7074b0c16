"""The vulnerability database Shelf holds: OSV records imported incrementally, looked up per image."""

import contextlib
import os
import tempfile
from datetime import timedelta
from pathlib import Path

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shelf.scanning import osv
from shelf.scanning.models import VulnDbImport, VulnRecord, VulnRecordKey

BATCH = 500


def vulndb_import(source: str) -> VulnDbImport:
    """Load OSV JSON from a directory, a file, an OSV zip archive or an http(s) URL of one.

    Idempotent: unchanged records are skipped.
    """
    if str(source).startswith(("http://", "https://")):
        with _downloaded(str(source)) as path:
            return _import_path(path, label=str(source))
    return _import_path(source, label=str(source))


@contextlib.contextmanager
def _downloaded(url: str):
    """Stream the URL to a private temporary file, bounded by SHELF_VULNDB_MAX_BYTES."""
    limit = settings.SHELF_VULNDB_MAX_BYTES
    tmp_dir = Path(settings.DATA_DIR) / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    suffix = ".zip" if url.split("?")[0].endswith(".zip") else ".json"
    fd, name = tempfile.mkstemp(dir=tmp_dir, suffix=suffix)
    try:
        written = 0
        with os.fdopen(fd, "wb") as fh, httpx.stream("GET", url, timeout=60, follow_redirects=True) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes(1024 * 1024):
                written += len(chunk)
                if written > limit:
                    raise ValueError(f"{url} is larger than SHELF_VULNDB_MAX_BYTES ({limit} bytes)")
                fh.write(chunk)
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def _import_path(source, *, label: str) -> VulnDbImport:
    run = VulnDbImport.objects.create(source=label[:500])
    errors: list[osv.RecordError] = []
    batch: list[dict] = []
    for record in osv.iter_records(source, errors=errors):
        batch.append(record)
        if len(batch) >= BATCH:
            _import_batch(run, batch)
            batch = []
    if batch:
        _import_batch(run, batch)
    run.errors = [{"source": e.source, "reason": e.reason} for e in errors[:200]]
    run.finished_at = timezone.now()
    run.save()
    return run


@transaction.atomic
def _import_batch(run: VulnDbImport, records: list[dict]) -> None:
    by_id = {}
    for record in records:
        osv_id, modified = osv.record_key(record)
        previous = by_id.get(osv_id)
        if previous is None or modified > osv.record_key(previous)[1]:
            by_id[osv_id] = record
    existing = {r.osv_id: r for r in VulnRecord.objects.filter(osv_id__in=by_id)}
    for osv_id, record in by_id.items():
        _id, modified = osv.record_key(record)
        current = existing.get(osv_id)
        if current is not None and current.modified >= modified:
            run.unchanged += 1
            continue
        if current is None:
            current = VulnRecord(osv_id=osv_id)
            run.added += 1
        else:
            run.updated += 1
        current.modified, current.data, current.withdrawn = modified, record, bool(record.get("withdrawn"))
        current.save()
        current.keys.all().delete()
        VulnRecordKey.objects.bulk_create(
            VulnRecordKey(record=current, ecosystem=ecosystem, name=name)
            for ecosystem, name in set(osv.affected_index_keys(record))
        )


def vulndb_updated_at():
    last = VulnDbImport.objects.filter(finished_at__isnull=False).order_by("-finished_at").first()
    return last.finished_at if last else None


def match_packages(packages: list[dict]) -> list[osv.VulnMatch]:
    """Match an image's package inventory against the records that name its packages."""
    installed = [
        osv.InstalledPackage(
            ecosystem=p.get("ecosystem", ""),
            name=p["name"],
            version=p.get("version", ""),
            source_name=p.get("source_name", ""),
            source_version=p.get("source_version", ""),
        )
        for p in packages
        if p.get("ecosystem")
    ]
    keys = {key for package in installed for key in osv.package_lookup_keys(package)}
    if not keys:
        return []
    record_ids = set()
    names_by_ecosystem: dict[str, set[str]] = {}
    for ecosystem, name in keys:
        names_by_ecosystem.setdefault(ecosystem, set()).add(name)
    for ecosystem, names in names_by_ecosystem.items():
        names = list(names)
        for start in range(0, len(names), 500):
            record_ids.update(
                VulnRecordKey.objects.filter(ecosystem=ecosystem, name__in=names[start : start + 500]).values_list(
                    "record_id", flat=True
                )
            )
    records = VulnRecord.objects.filter(pk__in=record_ids, withdrawn=False).values_list("data", flat=True).iterator()
    return osv.OsvIndex.from_records(records).match(installed)


def vulndb_sources_due() -> list[str]:
    """The configured OSV URLs (SHELF_VULNDB_URLS) whose last import is older than SHELF_VULNDB_REFRESH_HOURS."""
    cutoff = timezone.now() - timedelta(hours=settings.SHELF_VULNDB_REFRESH_HOURS)
    due = []
    for url in settings.SHELF_VULNDB_URLS:
        last = VulnDbImport.objects.filter(source=url[:500]).order_by("-started_at").first()
        if last is None or last.started_at < cutoff:
            due.append(url)
    return due


def uncovered_ecosystems(packages: list[dict]) -> list[str]:
    """The ecosystems of an inventory for which Shelf holds no vulnerability record at all."""
    missing = []
    for ecosystem in sorted({p.get("ecosystem", "") for p in packages if p.get("ecosystem")}):
        normalized = osv.normalize_ecosystem(ecosystem)
        candidates = {normalized, normalized.split(":", 1)[0]}
        if not VulnRecordKey.objects.filter(ecosystem__in=candidates).exists():
            missing.append(normalized)
    return missing
