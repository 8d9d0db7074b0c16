"""OSV vulnerability records: loading, indexing and matching installed OS packages.

Django-free on purpose: the scan engine, the ``vulndb_import`` command and the
models all build on this module, and it is tested on records the tests write.

Records follow the OSV schema (1.6). What this module does with them:

* ``iter_records(path)`` streams records from a directory tree of ``*.json``
  files (and any ``*.zip`` archives in it), a single ``.json`` file, or an OSV
  zip archive such as the ``all.zip`` OSV publishes per ecosystem. Archive
  members are read one at a time, never extracted. A file that is not valid
  JSON or not an OSV record is reported (``errors`` list, else the log) and
  skipped.
* ``OsvIndex.from_records(records)`` keeps the newest version of each id,
  drops withdrawn records and indexes every ``affected`` entry by
  ``(ecosystem, package name)``; ``OsvIndex.match(packages)`` looks each
  package up by that key (a dict lookup, never a scan of all records) and
  evaluates the entry's ``ECOSYSTEM`` ranges and ``versions`` list with the
  ecosystem's own version rules.

Ecosystems (``InstalledPackage.ecosystem`` is written the way OSV names it;
``normalize_ecosystem`` also accepts the common spellings listed there):

============================  ==========  =====================================
ecosystem                     versions    package name matched
============================  ==========  =====================================
``Debian:12``                 dpkg        source package (binary if no source)
``Ubuntu:22.04`` (``:LTS``)   dpkg        source package (binary if no source)
``Alpine:v3.19``              apk         origin package (binary if no origin)
``Wolfi``, ``Chainguard``     apk         origin package (binary if no origin)
``AlmaLinux:9``               rpm         binary package
``Rocky Linux:9``             rpm         binary package
``Red Hat:enterprise_linux:9``  rpm       binary package
``SUSE:…``, ``openSUSE:…``,   rpm         binary package
``Mageia:9``, ``openEuler:…``
============================  ==========  =====================================

dpkg versions are compared by python-debian's native implementation of
dpkg's algorithm (epochs, ``~`` sorting before everything); rpm versions by a
port of rpm's ``rpmvercmp`` applied to epoch, version and release; apk
versions by a port of apk-tools' version comparison (``_rc``/``_alpha``
pre-releases, ``_p`` patches, ``-rN`` revisions). Records for any other
ecosystem are still indexed, but only their explicit ``versions`` lists can
match (ranges need version rules). A binNMU binary version (``1.2-3+b1``)
without a source version is compared as its source version (``1.2-3``).

A record whose ecosystem carries no release (``"Debian"``) applies to every
release of that distribution; otherwise the release must match exactly.

Severity (``severity_of``): the distribution's own rating first, then CVSS
base scores. A record that rates nothing (Debian's DSA/DLA advisories) takes
the rating of the records it names in ``aliases``/``upstream``/``related``
that are in the same index (``DEBIAN-CVE-…`` tracker records, CVE records).
The default policy (``blocking``) fails critical and high vulnerabilities
with a fix published.
"""

from __future__ import annotations

import json
import logging
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cmp_to_key, lru_cache
from pathlib import Path
from typing import Any

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError
from debian.debian_support import NativeVersion

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_FAILING_SEVERITIES",
    "SEVERITIES",
    "InstalledPackage",
    "OsvIndex",
    "RecordError",
    "VulnMatch",
    "affected_index_keys",
    "blocking",
    "compare_versions",
    "ecosystem_family",
    "iter_records",
    "normalize_ecosystem",
    "package_lookup_keys",
    "record_key",
    "severity_of",
]

#: Severity names, most severe first.
SEVERITIES = ("critical", "high", "medium", "low", "unknown")
_SEVERITY_RANK = {name: rank for rank, name in enumerate(reversed(SEVERITIES))}

#: The default policy: a vulnerability of these severities with a fix published fails the image.
DEFAULT_FAILING_SEVERITIES = frozenset({"critical", "high"})

#: Largest single record accepted from a file or an archive member (the biggest real records are a few MB).
MAX_RECORD_BYTES = 64 * 1024 * 1024


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class InstalledPackage:
    """A package installed in an image.

    ``ecosystem`` is the OSV ecosystem of the image's distribution release, e.g.
    ``"Debian:12"``, ``"Ubuntu:22.04"`` (``"Ubuntu:22.04:LTS"`` too),
    ``"Alpine:v3.19"``, ``"AlmaLinux:9"``, ``"Rocky Linux:9"``,
    ``"Red Hat:enterprise_linux:9"``; see ``normalize_ecosystem`` for the
    spellings accepted. ``name``/``version`` are the binary package's;
    ``source_name``/``source_version`` the source (Debian, Ubuntu) or origin
    (Alpine) package's, where they differ or are known. For RPM ecosystems
    ``version`` is ``[epoch:]version-release``.
    """

    ecosystem: str
    name: str
    version: str
    source_name: str = ""
    source_version: str = ""


@dataclass(frozen=True)
class VulnMatch:
    """One vulnerability affecting one installed package.

    ``package`` is the binary package; ``source`` the package name the record
    was matched on (the source package for Debian/Ubuntu, the origin for
    Alpine, the binary for RPM). ``installed_version`` is the version that was
    compared (the source version for Debian/Ubuntu), so it is directly
    comparable with ``fixed_version``; ``fixed_version`` is ``None`` when no
    fix is published yet.
    """

    vuln_id: str
    aliases: tuple[str, ...]
    package: str
    source: str
    installed_version: str
    fixed_version: str | None
    severity: str
    summary: str
    references: tuple[str, ...]
    modified: str

    @property
    def fix_available(self) -> bool:
        return self.fixed_version is not None


@dataclass(frozen=True)
class RecordError:
    """A file, archive member or record that was skipped, and why."""

    source: str
    reason: str


def blocking(matches: Iterable[VulnMatch], severities: Iterable[str] = DEFAULT_FAILING_SEVERITIES) -> list[VulnMatch]:
    """The matches that fail a policy: a fix is published and the severity is one of ``severities``."""
    wanted = frozenset(severities)
    return [m for m in matches if m.fix_available and m.severity in wanted]


# --------------------------------------------------------------------------- ecosystems

_ECOSYSTEM_NAMES = {
    "debian": "Debian",
    "ubuntu": "Ubuntu",
    "alpine": "Alpine",
    "wolfi": "Wolfi",
    "chainguard": "Chainguard",
    "almalinux": "AlmaLinux",
    "alma": "AlmaLinux",
    "rocky linux": "Rocky Linux",
    "rockylinux": "Rocky Linux",
    "rocky": "Rocky Linux",
    "red hat": "Red Hat",
    "redhat": "Red Hat",
    "rhel": "Red Hat",
    "suse": "SUSE",
    "opensuse": "openSUSE",
    "mageia": "Mageia",
    "openeuler": "openEuler",
}

_FAMILIES = {
    "Debian": "dpkg",
    "Ubuntu": "dpkg",
    "Alpine": "apk",
    "Wolfi": "apk",
    "Chainguard": "apk",
    "AlmaLinux": "rpm",
    "Rocky Linux": "rpm",
    "Red Hat": "rpm",
    "SUSE": "rpm",
    "openSUSE": "rpm",
    "Mageia": "rpm",
    "openEuler": "rpm",
}

# Ecosystems whose records name the source (origin) package rather than the binary one.
_SOURCE_KEYED = frozenset({"Debian", "Ubuntu", "Alpine", "Wolfi", "Chainguard"})

_DEBIAN_CODENAMES = {
    "jessie": "8",
    "stretch": "9",
    "buster": "10",
    "bullseye": "11",
    "bookworm": "12",
    "trixie": "13",
    "forky": "14",
}

_MAJOR = re.compile(r"(\d+)(?:\.\d+)*")
_MAJOR_MINOR = re.compile(r"(\d+)\.(\d+)(?:\.\d+)*")


@lru_cache(maxsize=4096)
def normalize_ecosystem(ecosystem: str) -> str:
    """The canonical form of an OSV ecosystem string, used for index keys.

    * base names are matched case-insensitively (``debian:12`` -> ``Debian:12``,
      ``Rocky:9`` -> ``Rocky Linux:9``, ``RHEL:9`` -> ``Red Hat:enterprise_linux:9``);
    * Debian: the major release, codenames accepted (``Debian:12.5``,
      ``Debian:bookworm`` -> ``Debian:12``);
    * Ubuntu: the ``:LTS`` marker is dropped (``Ubuntu:22.04:LTS`` ->
      ``Ubuntu:22.04``; ``Ubuntu:Pro:18.04:LTS`` -> ``Ubuntu:Pro:18.04``, a
      separate stream);
    * Alpine: ``v`` + major.minor (``Alpine:3.19.1`` -> ``Alpine:v3.19``);
    * AlmaLinux, Rocky Linux: the major release (``AlmaLinux:9.3`` -> ``AlmaLinux:9``);
    * Red Hat: the repository after ``::`` is dropped
      (``Red Hat:enterprise_linux:9::appstream`` -> ``Red Hat:enterprise_linux:9``)
      and a bare release means RHEL (``Red Hat:9`` -> ``Red Hat:enterprise_linux:9``);
    * anything else is kept as written.
    """
    base, _, rest = ecosystem.strip().partition(":")
    base = _ECOSYSTEM_NAMES.get(base.strip().lower(), base.strip())
    rest = rest.strip()
    if not rest:
        return base
    if base == "Debian":
        release = _DEBIAN_CODENAMES.get(rest.lower(), rest)
        m = _MAJOR.fullmatch(release)
        rest = m.group(1) if m else release
    elif base == "Ubuntu":
        parts = [p for p in rest.split(":") if p]
        if parts and parts[-1].upper() == "LTS":
            parts.pop()
        rest = ":".join(parts)
    elif base == "Alpine":
        m = _MAJOR_MINOR.fullmatch(rest.lstrip("vV"))
        if m:
            rest = f"v{m.group(1)}.{m.group(2)}"
    elif base in ("AlmaLinux", "Rocky Linux"):
        m = _MAJOR.fullmatch(rest)
        if m:
            rest = m.group(1)
    elif base == "Red Hat":
        rest = rest.split("::", 1)[0]
        m = _MAJOR.fullmatch(rest)
        if m:
            rest = f"enterprise_linux:{m.group(1)}"
    return f"{base}:{rest}" if rest else base


def _base(ecosystem: str) -> str:
    return ecosystem.partition(":")[0]


def ecosystem_family(ecosystem: str) -> str | None:
    """``"dpkg"``, ``"rpm"``, ``"apk"``, or ``None`` when this module has no version rules for the ecosystem."""
    return _FAMILIES.get(_base(normalize_ecosystem(ecosystem)))


def _matched_name_version(package: InstalledPackage, base: str, family: str | None) -> tuple[str, str]:
    """The (name, version) a package is looked up and compared with in its ecosystem's records."""
    if base in _SOURCE_KEYED:
        name = package.source_name or package.name
        version = package.source_version or package.version
        if family == "dpkg" and not package.source_version:
            # A binNMU rebuilds the binary as "<source version>+bN"; the records speak of the source.
            version = _BINNMU.sub("", version)
        return name, version
    return package.name, package.version


_BINNMU = re.compile(r"\+b\d+$")


def package_lookup_keys(package: InstalledPackage) -> list[tuple[str, str]]:
    """The ``(ecosystem, name)`` keys under which records that may affect ``package`` are stored.

    The same form as ``affected_index_keys``: the Django side can select the
    candidate records with these and hand them to ``OsvIndex``.
    """
    ecosystem = normalize_ecosystem(package.ecosystem)
    base = _base(ecosystem)
    name, _ = _matched_name_version(package, base, _FAMILIES.get(base))
    if not name:
        return []
    keys = [(ecosystem, name)]
    if base != ecosystem:
        keys.append((base, name))
    return keys


# --------------------------------------------------------------------------- versions


@lru_cache(maxsize=65536)
def _dpkg_version(value: str) -> NativeVersion:
    return NativeVersion(value)


@lru_cache(maxsize=262144)
def _dpkg_compare(a: str, b: str) -> int:
    va, vb = _dpkg_version(a.strip()), _dpkg_version(b.strip())
    if va < vb:
        return -1
    return 0 if va == vb else 1


def _is_digit(c: str) -> bool:
    return "0" <= c <= "9"


def _is_alpha(c: str) -> bool:
    return "a" <= c <= "z" or "A" <= c <= "Z"


def _rpmvercmp(a: str, b: str) -> int:
    """rpm's ``rpmvercmp``: alternating numeric and alphabetic segments; ``~`` sorts first, ``^`` after the end."""
    if a == b:
        return 0
    i = j = 0
    la, lb = len(a), len(b)
    while i < la or j < lb:
        while i < la and not (_is_digit(a[i]) or _is_alpha(a[i])) and a[i] not in "~^":
            i += 1
        while j < lb and not (_is_digit(b[j]) or _is_alpha(b[j])) and b[j] not in "~^":
            j += 1
        ca = a[i] if i < la else ""
        cb = b[j] if j < lb else ""
        if ca == "~" or cb == "~":
            if ca != "~":
                return 1
            if cb != "~":
                return -1
            i, j = i + 1, j + 1
            continue
        if ca == "^" or cb == "^":
            if not ca:
                return -1
            if not cb:
                return 1
            if ca != "^":
                return 1
            if cb != "^":
                return -1
            i, j = i + 1, j + 1
            continue
        if not (ca and cb):
            break
        kind = _is_digit if _is_digit(ca) else _is_alpha
        si, sj = i, j
        while i < la and kind(a[i]):
            i += 1
        while j < lb and kind(b[j]):
            j += 1
        seg_a, seg_b = a[si:i], b[sj:j]
        if not seg_b:
            # A numeric segment is newer than an alphabetic one.
            return 1 if kind is _is_digit else -1
        if kind is _is_digit:
            seg_a, seg_b = seg_a.lstrip("0"), seg_b.lstrip("0")
            if len(seg_a) != len(seg_b):
                return 1 if len(seg_a) > len(seg_b) else -1
        if seg_a != seg_b:
            return 1 if seg_a > seg_b else -1
    if i >= la and j >= lb:
        return 0
    return -1 if i >= la else 1


@lru_cache(maxsize=65536)
def _rpm_evr(value: str) -> tuple[int, str, str]:
    value = value.strip()
    epoch = 0
    head, sep, tail = value.partition(":")
    if sep and (head.isdigit() or head == ""):
        epoch = int(head or 0)
        value = tail
    version, sep, release = value.rpartition("-")
    if not sep:
        version, release = value, ""
    return epoch, version, release


def _rpm_compare(a: str, b: str) -> int:
    ea, va, ra = _rpm_evr(a)
    eb, vb, rb = _rpm_evr(b)
    if ea != eb:
        return 1 if ea > eb else -1
    # As rpm's labelCompare: a missing release sorts before any release.
    return _rpmvercmp(va, vb) or _rpmvercmp(ra, rb)


# apk-tools: digit{.digit}...{letter}{_suf{#}}...{~hash}{-r#}
_T_INITIAL, _T_DIGIT, _T_LETTER, _T_SUFFIX, _T_SUFFIX_NO, _T_HASH, _T_REVISION, _T_END, _T_INVALID = range(9)
# Pre-release suffixes sort below the bare version ("_none"), post-release ones above.
_APK_SUFFIXES = {"alpha": 1, "beta": 2, "pre": 3, "rc": 4, "cvs": 6, "svn": 7, "git": 8, "hg": 9, "p": 10}
_APK_SUFFIX_NONE = 5
_DIGITS = re.compile(r"[0-9]*")
_LOWER = re.compile(r"[a-z]*")
_HEX = re.compile(r"[0-9a-fA-F]*")


@lru_cache(maxsize=65536)
def _apk_tokens(value: str) -> tuple[tuple[int, Any], ...]:
    """Tokenize an apk version the way apk-tools does; ends with an END or INVALID token."""
    tokens: list[tuple[int, Any]] = []
    pos, n = 0, len(value)

    def digits(kind: int) -> tuple[int, Any]:
        nonlocal pos
        text = _DIGITS.match(value, pos).group()  # type: ignore[union-attr]
        pos += len(text)
        if not text:
            return (_T_INVALID, None)
        return (kind, text)

    token = digits(_T_INITIAL)
    while True:
        tokens.append(token)
        kind = token[0]
        if kind >= _T_END:
            return tuple(tokens)
        if pos >= n:
            token = (_T_END, None)
            continue
        c = value[pos]
        if "a" <= c <= "z":
            token = (_T_INVALID, None) if kind > _T_DIGIT else (_T_LETTER, c)
            pos += 1
        elif c == "." or _is_digit(c):
            if c == "." and kind > _T_DIGIT:
                token = (_T_INVALID, None)
                continue
            if c == ".":
                pos += 1
            if kind in (_T_INITIAL, _T_DIGIT):
                token = digits(_T_DIGIT)
            elif kind == _T_SUFFIX:
                token = digits(_T_SUFFIX_NO)
            else:
                token = (_T_INVALID, None)
        elif c == "_":
            if kind > _T_SUFFIX_NO:
                token = (_T_INVALID, None)
                continue
            pos += 1
            name = _LOWER.match(value, pos).group()  # type: ignore[union-attr]
            pos += len(name)
            suffix = _APK_SUFFIXES.get(name)
            token = (_T_INVALID, None) if suffix is None else (_T_SUFFIX, suffix)
        elif c == "~":
            if kind >= _T_HASH:
                token = (_T_INVALID, None)
                continue
            pos += 1
            text = _HEX.match(value, pos).group()  # type: ignore[union-attr]
            pos += len(text)
            token = (_T_HASH, text) if text else (_T_INVALID, None)
        elif c == "-":
            if kind >= _T_REVISION or not value.startswith("-r", pos):
                token = (_T_INVALID, None)
                continue
            pos += 2
            token = digits(_T_REVISION)
        else:
            token = (_T_INVALID, None)


def _apk_token_cmp(kind: int, a: Any, b: Any) -> int:
    if kind in (_T_INITIAL, _T_SUFFIX_NO, _T_REVISION) or (kind == _T_DIGIT and a[0] != "0" and b[0] != "0"):
        a, b = int(a), int(b)
    # Otherwise (a leading zero, a letter, a commit hash) the text is compared; suffixes are ranks.
    return (a > b) - (a < b)


def _apk_compare(a: str, b: str) -> int:
    ta, tb = _apk_tokens(a.strip()), _apk_tokens(b.strip())
    for (ka, va), (kb, vb) in zip(ta, tb, strict=False):
        if ka != kb or ka >= _T_END:
            break
        r = _apk_token_cmp(ka, va, vb)
        if r:
            return r
    if ka == kb:
        return 0
    # Equal so far: the longer version is newer unless what it goes on with is a pre-release suffix.
    if ka == _T_SUFFIX and va < _APK_SUFFIX_NONE:
        return -1
    if kb == _T_SUFFIX and vb < _APK_SUFFIX_NONE:
        return 1
    return -1 if ka > kb else 1


_COMPARATORS: dict[str, Callable[[str, str], int]] = {
    "dpkg": _dpkg_compare,
    "rpm": _rpm_compare,
    "apk": _apk_compare,
}

# Parse a version or raise ValueError; rpm and apk accept any string (as rpm and apk-tools do).
_VALIDATORS: dict[str, Callable[[str], object]] = {
    "dpkg": lambda value: _dpkg_version(value),
    "rpm": lambda value: None,
    "apk": lambda value: None,
}


def compare_versions(ecosystem: str, a: str, b: str) -> int:
    """-1, 0 or 1 as version ``a`` sorts before, with or after ``b`` under ``ecosystem``'s rules.

    Raises ``ValueError`` for an ecosystem without version rules here, or for
    a version dpkg would reject.
    """
    family = ecosystem_family(ecosystem)
    if family is None:
        raise ValueError(f"no version rules for ecosystem {ecosystem!r}")
    return _COMPARATORS[family](a, b)


def _canonical_version(family: str | None, value: str) -> str:
    value = value.strip()
    if family in ("dpkg", "rpm") and value.startswith("0:"):
        return value[2:]
    return value


# --------------------------------------------------------------------------- loading


def _report(errors: list[RecordError] | None, source: str, reason: str) -> None:
    if errors is None:
        logger.warning("skipped OSV data %s: %s", source, reason)
    else:
        errors.append(RecordError(source, reason))


def _invalid_reason(record: Any) -> str | None:
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
        reason = _invalid_reason(record)
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


def _modified_sort_key(value: str) -> tuple[int, Any]:
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
        key = _entry_key(entry)
        if key and key not in keys:
            keys.append(key)
    return keys


def _entry_key(entry: Any) -> tuple[str, str] | None:
    if not isinstance(entry, dict):
        return None
    package = entry.get("package")
    if not isinstance(package, dict):
        return None
    ecosystem, name = package.get("ecosystem"), package.get("name")
    if not isinstance(ecosystem, str) or not isinstance(name, str) or not ecosystem.strip() or not name.strip():
        return None
    return normalize_ecosystem(ecosystem), name.strip()


# --------------------------------------------------------------------------- severity

_RATING_WORDS = {
    "critical": "critical",
    "high": "high",
    "important": "high",
    "medium": "medium",
    "moderate": "medium",
    "low": "low",
    "negligible": "low",
    "unimportant": "low",
    "minor": "low",
}
_SUMMARY_RATING = re.compile(r"^\s*(critical|important|moderate|low)\s*:", re.IGNORECASE)


def _rating_word(value: Any) -> str | None:
    """A qualitative rating ('High', 'moderate', 'unimportant', Debian's 'medium*'); None for 'not yet assigned' etc."""
    if not isinstance(value, str):
        return None
    return _RATING_WORDS.get(re.sub(r"[^a-z]", "", value.lower()))


def _entry_rating(entry: dict) -> str | None:
    for field in ("ecosystem_specific", "database_specific"):
        specific = entry.get(field)
        if isinstance(specific, dict):
            for key in ("severity", "urgency"):
                rating = _rating_word(specific.get(key))
                if rating:
                    return rating
    return None


def _cvss_rating(kind: str, vector: str) -> str | None:
    try:
        if kind == "CVSS_V3":
            name = CVSS3(vector).severities()[0]
        elif kind == "CVSS_V4":
            name = CVSS4(vector).severity
        else:
            name = CVSS2(vector).severities()[0]
    except (CVSSError, ValueError, KeyError, IndexError, TypeError, ArithmeticError):
        return None
    name = name.lower()
    # CVSS "None" (score 0.0) is the bottom of the scale.
    return "low" if name == "none" else _RATING_WORDS.get(name)


def _most_severe(ratings: Iterable[str]) -> str | None:
    return max(ratings, key=_SEVERITY_RANK.__getitem__, default=None)


def _severity(record: dict, entry: dict | None = None) -> str:
    affected = [e for e in record.get("affected") or () if isinstance(e, dict)]
    # 1. The distribution's own rating: the matched entry's, the record's, then any entry's.
    if entry is not None:
        rating = _entry_rating(entry)
        if rating:
            return rating
    specific = record.get("database_specific")
    if isinstance(specific, dict):
        rating = _rating_word(specific.get("severity"))
        if rating:
            return rating
    if entry is None:
        rating = _most_severe(r for e in affected if (r := _entry_rating(e)))
        if rating:
            return rating
    scores: list[dict] = []
    for owner in ([entry] if entry is not None else []) + [record] + [e for e in affected if e is not entry]:
        for item in owner.get("severity") or ():
            if isinstance(item, dict) and isinstance(item.get("type"), str) and isinstance(item.get("score"), str):
                scores.append(item)
    # 2. Ubuntu's qualitative priority.
    rating = _most_severe(r for s in scores if s["type"] == "Ubuntu" and (r := _rating_word(s["score"])))
    if rating:
        return rating
    # 3. Red Hat, AlmaLinux and Rocky advisories open their summary with the rating ("Important: ...").
    m = _SUMMARY_RATING.match(str(record.get("summary") or ""))
    if m:
        return _RATING_WORDS[m.group(1).lower()]
    # 4. CVSS base scores: v3.x, then v4, then v2.
    for kind in ("CVSS_V3", "CVSS_V4", "CVSS_V2"):
        rating = _most_severe(r for s in scores if s["type"] == kind and (r := _cvss_rating(kind, s["score"])))
        if rating:
            return rating
    return "unknown"


def severity_of(record: dict) -> str:
    """The record's severity: ``"critical"``, ``"high"``, ``"medium"``, ``"low"`` or ``"unknown"``.

    In order of preference: the distribution's rating (``ecosystem_specific``
    / ``database_specific`` ``severity`` or Debian's ``urgency``:
    ``unimportant`` counts as low, ``not yet assigned`` as no rating; GHSA's
    ``moderate`` and Red Hat's ``important`` map to medium and high), Ubuntu's
    priority (``severity`` of type ``Ubuntu``; ``negligible`` is low), the
    ``Important:``/``Moderate:`` prefix of a Red Hat-style summary, then the
    CVSS base score's rating (``CVSS_V3``, ``CVSS_V4``, ``CVSS_V2`` vectors;
    a 0.0 score is low). Several values of one kind: the most severe wins.
    """
    return _severity(record)


# --------------------------------------------------------------------------- index and matching

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
            key = _entry_key(entry)
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
            self._severities[key] = _severity(self.record, entry)
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
            _canonical_version(family, v) for v in self.entry.get("versions") or () if isinstance(v, str)
        )
        ranges: list[list[tuple[str, str]]] = []
        if family is None:
            self._versions, self._ranges = versions, ranges
            return ranges, versions
        compare, validate = _COMPARATORS[family], _VALIDATORS[family]
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
        compare = _COMPARATORS[family] if family else None
        fixes: list[str] = []
        affected = False
        if compare is not None:
            for events in ranges:
                hit, fixed = _range_affects(compare, events, version)
                if hit:
                    affected = True
                    if fixed is not None:
                        fixes.append(fixed)
        if not affected and _canonical_version(family, version) in versions:
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
            reason = _invalid_reason(record)
            if reason:
                label = record.get("id") if isinstance(record, dict) else None
                index.skipped.append(RecordError(str(label) if label else f"record #{n}", reason))
                continue
            vuln_id = record["id"].strip()
            current = latest.get(vuln_id)
            if current is None or _modified_sort_key(record["modified"]) >= _modified_sort_key(current["modified"]):
                latest[vuln_id] = record
        for record in latest.values():
            if record.get("withdrawn"):
                continue
            info = _Record(record)
            for name in (info.id, *info.aliases):
                index._named.setdefault(name, []).append(info)
            indexed = False
            for entry in record.get("affected") or ():
                key = _entry_key(entry)
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
        if own != "unknown":
            return own
        same_package: list[str] = []
        others: list[str] = []
        for name in info.related:
            for other in self._named.get(name, ()):
                if other is not info:
                    entry_there = other.entries.get(key)
                    (same_package if entry_there is not None else others).append(other.severity(entry_there))
        for ratings in (same_package, others):
            rating = _most_severe(r for r in ratings if r != "unknown")
            if rating:
                return rating
        return "unknown"

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
            base = _base(ecosystem)
            family = _FAMILIES.get(base)
            name, version = _matched_name_version(package, base, family)
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
