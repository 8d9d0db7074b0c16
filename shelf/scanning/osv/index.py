"""`OsvIndex`: records indexed by (ecosystem, package name), and matching installed packages against them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import cmp_to_key

from shelf.scanning.engine.severity import UNKNOWN
from shelf.scanning.osv.ecosystems import (
    FAMILIES,
    ecosystem_base,
    matched_name_version,
    normalize_ecosystem,
    package_lookup_keys,
)
from shelf.scanning.osv.model import InstalledPackage, RecordError, VulnMatch
from shelf.scanning.osv.records import entry_key, invalid_reason, modified_sort_key
from shelf.scanning.osv.severity import entry_severity, most_severe
from shelf.scanning.osv.versions import COMPARATORS, VALIDATORS, canonical_version

logger = logging.getLogger(__name__)

_EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")


class _Record:
    __slots__ = ("record", "id", "aliases", "related", "entries", "summary", "references", "modified", "_severities")

    def __init__(self, record: dict) -> None:
        self.record = record
        self.id: str = record["id"].strip()
        self.aliases = tuple(a for a in record.get("aliases") or () if isinstance(a, str))
        # Ids of the same vulnerability elsewhere: aliases, and Debian's "upstream" / OSV's "related" CVE ids.
        named = [*self.aliases]
        for field in ("upstream", "related"):
            named.extend(r for r in record.get(field) or () if isinstance(r, str))
        self.related = tuple(dict.fromkeys(r.strip() for r in named if r.strip() and r.strip() != self.id))
        self.entries: dict[tuple[str, str], dict] = {}
        for entry in record.get("affected") or ():
            key = entry_key(entry)
            if key:
                self.entries.setdefault(key, entry)
        summary = record.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            details = record.get("details")
            summary = details.strip().splitlines()[0] if isinstance(details, str) and details.strip() else ""
        self.summary = summary.strip()[:500]
        self.references = tuple(
            r["url"] for r in record.get("references") or () if isinstance(r, dict) and isinstance(r.get("url"), str)
        )
        self.modified: str = record["modified"]
        self._severities: dict[int, str] = {}

    def severity(self, entry: dict | None) -> str:
        key = id(entry)
        if key not in self._severities:
            self._severities[key] = entry_severity(self.record, entry)
        return self._severities[key]


class _Entry:
    """One ``affected`` entry of one record, with its ranges sorted lazily by the ecosystem's rules."""

    __slots__ = ("info", "entry", "_ranges", "_versions")

    def __init__(self, info: _Record, entry: dict) -> None:
        self.info = info
        self.entry = entry
        self._ranges: list[list[tuple[str, str]]] | None = None
        self._versions: frozenset[str] | None = None

    def _prepare(self, family: str | None) -> tuple[list[list[tuple[str, str]]], frozenset[str]]:
        # Built in locals and published at the end, so concurrent matching never sees half a preparation.
        versions = frozenset(
            canonical_version(family, v) for v in self.entry.get("versions") or () if isinstance(v, str)
        )
        ranges: list[list[tuple[str, str]]] = []
        if family is None:
            self._versions, self._ranges = versions, ranges
            return ranges, versions
        compare, validate = COMPARATORS[family], VALIDATORS[family]
        for rng in self.entry.get("ranges") or ():
            if not isinstance(rng, dict) or rng.get("type") != "ECOSYSTEM":
                continue  # SEMVER and GIT ranges say nothing about distribution package versions
            events: list[tuple[str, str]] = []
            for event in rng.get("events") or ():
                if not isinstance(event, dict):
                    continue
                for kind in _EVENT_KINDS:
                    value = event.get(kind)
                    if isinstance(value, str) and value.strip():
                        value = value.strip()
                        if (kind == "introduced" and value == "0") or (kind == "limit" and value == "*"):
                            events.append((kind, value))
                        else:
                            try:
                                validate(value)
                            except ValueError:
                                logger.debug("%s: ignoring unparsable %s version %r", self.info.id, kind, value)
                            else:
                                events.append((kind, value))
                        break
            if len(events) > 1:
                events.sort(key=cmp_to_key(_event_order(compare)))
            if events:
                ranges.append(events)
        self._versions, self._ranges = versions, ranges
        return ranges, versions

    def evaluate(self, family: str | None, version: str) -> tuple[bool, str | None]:
        """(affected, fixed version) for an installed ``version``."""
        ranges, versions = self._ranges, self._versions
        if ranges is None or versions is None:
            ranges, versions = self._prepare(family)
        compare = COMPARATORS[family] if family else None
        fixes: list[str] = []
        affected = False
        if compare is not None:
            for events in ranges:
                hit, fixed = _range_affects(compare, events, version)
                if hit:
                    affected = True
                    if fixed is not None:
                        fixes.append(fixed)
        if not affected and canonical_version(family, version) in versions:
            affected = True
            if compare is not None:
                # Listed explicitly: the fix is the first fixed event above the installed version, if any.
                fixes.extend(v for events in ranges for k, v in events if k == "fixed" and compare(version, v) < 0)
        if not affected:
            return False, None
        if not fixes:
            return True, None
        if compare is None:
            return True, fixes[0]
        return True, min(fixes, key=cmp_to_key(compare))


def _event_order(compare: Callable[[str, str], int]) -> Callable[[tuple[str, str], tuple[str, str]], int]:
    def order(a: tuple[str, str], b: tuple[str, str]) -> int:
        return _event_rank(compare, a, b)

    return order


def _event_rank(compare: Callable[[str, str], int], a: tuple[str, str], b: tuple[str, str]) -> int:
    a_low = a == ("introduced", "0")
    b_low = b == ("introduced", "0")
    if a_low or b_low:
        return 0 if a_low and b_low else (-1 if a_low else 1)
    a_top = a == ("limit", "*")
    b_top = b == ("limit", "*")
    if a_top or b_top:
        return 0 if a_top and b_top else (1 if a_top else -1)
    return compare(a[1], b[1])


def _range_affects(
    compare: Callable[[str, str], int], events: list[tuple[str, str]], version: str
) -> tuple[bool, str | None]:
    """Evaluate sorted ECOSYSTEM events the OSV way: introduced <= v < fixed, or introduced <= v <= last_affected."""
    affected = False
    for kind, value in events:
        if kind == "introduced":
            if value == "0" or compare(version, value) >= 0:
                affected = True
        elif kind == "fixed":
            if compare(version, value) >= 0:
                affected = False
        elif kind == "last_affected" and compare(version, value) > 0:
            affected = False
    if not affected:
        return False, None
    limits = [value for kind, value in events if kind == "limit"]
    if limits and not any(value == "*" or compare(version, value) < 0 for value in limits):
        return False, None
    for kind, value in events:
        if kind == "fixed" and compare(version, value) < 0:
            return True, value
        if kind == "last_affected" and compare(version, value) <= 0:
            return True, None
    return True, None


class OsvIndex:
    """OSV records indexed by ``(ecosystem, package name)`` for matching installed packages."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], list[_Entry]] = {}
        self._named: dict[str, list[_Record]] = {}
        self._count = 0
        #: Records that were not indexed because they are not valid OSV records.
        self.skipped: list[RecordError] = []

    @classmethod
    def from_records(cls, records: Iterable[dict]) -> OsvIndex:
        """Index ``records``: the newest ``modified`` of each id wins; withdrawn records are left out."""
        index = cls()
        latest: dict[str, dict] = {}
        for n, record in enumerate(records):
            reason = invalid_reason(record)
            if reason:
                label = record.get("id") if isinstance(record, dict) else None
                index.skipped.append(RecordError(str(label) if label else f"record #{n}", reason))
                continue
            vuln_id = record["id"].strip()
            current = latest.get(vuln_id)
            if current is None or modified_sort_key(record["modified"]) >= modified_sort_key(current["modified"]):
                latest[vuln_id] = record
        for record in latest.values():
            if record.get("withdrawn"):
                continue
            info = _Record(record)
            for name in (info.id, *info.aliases):
                index._named.setdefault(name, []).append(info)
            indexed = False
            for entry in record.get("affected") or ():
                key = entry_key(entry)
                if key:
                    index._entries.setdefault(key, []).append(_Entry(info, entry))
                    indexed = True
            index._count += indexed
        return index

    def _severity(self, info: _Record, entry: dict, key: tuple[str, str]) -> str:
        """The entry's severity; when the record rates nothing, the most severe rating of the records it names.

        Debian's DSA/DLA records carry no rating but name their CVEs
        (``upstream``), whose Debian tracker records (``DEBIAN-CVE-…``,
        aliased to the CVE) or CVE records may carry one; an entry for the
        same package in a named record is preferred to records without one.
        """
        own = info.severity(entry)
        if own != UNKNOWN:
            return own
        same_package: list[str] = []
        others: list[str] = []
        for name in info.related:
            for other in self._named.get(name, ()):
                if other is not info:
                    entry_there = other.entries.get(key)
                    (same_package if entry_there is not None else others).append(other.severity(entry_there))
        for ratings in (same_package, others):
            rating = most_severe(r for r in ratings if r != UNKNOWN)
            if rating:
                return rating
        return UNKNOWN

    def __len__(self) -> int:
        """The number of records indexed."""
        return self._count

    def match(self, packages: Iterable[InstalledPackage]) -> list[VulnMatch]:
        """The vulnerabilities affecting ``packages``, one per (vulnerability, binary package, version).

        Sorted by package name, then vulnerability id.
        """
        found: dict[tuple[str, str, str], VulnMatch] = {}
        for package in packages:
            ecosystem = normalize_ecosystem(package.ecosystem)
            base = ecosystem_base(ecosystem)
            family = FAMILIES.get(base)
            name, version = matched_name_version(package, base, family)
            if not name or not version.strip():
                continue
            version = version.strip()
            for key in package_lookup_keys(package):
                for item in self._entries.get(key, ()):
                    try:
                        affected, fixed = item.evaluate(family, version)
                    except ValueError as exc:
                        logger.debug("cannot compare %s %s against %s: %s", name, version, item.info.id, exc)
                        continue
                    if not affected:
                        continue
                    slot = (item.info.id, package.name, version)
                    previous = found.get(slot)
                    if previous is not None and (fixed is None or previous.fixed_version is not None):
                        continue  # already reported; keep the entry that names a fix
                    found[slot] = VulnMatch(
                        vuln_id=item.info.id,
                        aliases=item.info.aliases,
                        package=package.name,
                        source=name,
                        installed_version=version,
                        fixed_version=fixed,
                        severity=self._severity(item.info, item.entry, key),
                        summary=item.info.summary,
                        references=item.info.references,
                        modified=item.info.modified,
                    )
        return sorted(found.values(), key=lambda m: (m.package, m.vuln_id, m.installed_version))
