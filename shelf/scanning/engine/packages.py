"""Installed-package inventories read from the package managers' own databases.

- dpkg: /var/lib/dpkg/status (and status.d/ for distroless), with each package's source package and version;
- rpm: rpmdb.sqlite (RHEL 9+, Fedora) or the Berkeley DB `Packages` (RHEL/CentOS 7 and 8), header blobs parsed here;
- apk: /lib/apk/db/installed.
"""

from __future__ import annotations

import re
import sqlite3
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from shelf.scanning.engine.model import OsInfo, Package
from shelf.scanning.engine.osdetect import ecosystem, purl_distro

if TYPE_CHECKING:
    from shelf.scanning.engine.context import ScanContext

MiB = 1024 * 1024
DPKG_STATUS_LIMIT = 256 * MiB
RPMDB_LIMIT = 1024 * MiB
APK_LIMIT = 256 * MiB

# dpkg states whose files are on disk (see dpkg-query(1)); config-files / not-installed / half-installed are not.
DPKG_PRESENT = {"installed", "half-configured", "unpacked", "triggers-awaited", "triggers-pending"}


def deb822(text: str) -> Iterator[dict[str, str]]:
    """Stanzas of a deb822 file: `Field: value` with continuation lines; field names case-insensitive."""
    stanza: dict[str, str] = {}
    last = None
    for line in text.splitlines():
        if not line.strip():
            if stanza:
                yield stanza
            stanza, last = {}, None
            continue
        if line[0] in " \t":
            if last:
                stanza[last] += "\n" + line.strip()
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue
        last = key.strip().lower()
        stanza[last] = value.strip()
    if stanza:
        yield stanza


def _q(value: str) -> str:
    return quote(value, safe=":")


def purl(kind: str, namespace: str, name: str, version: str, qualifiers: dict[str, str]) -> str:
    quals = "&".join(f"{k}={_q(v)}" for k, v in sorted(qualifiers.items()) if v)
    text = f"pkg:{kind}/{namespace}/{_q(name)}@{_q(version)}"
    return f"{text}?{quals}" if quals else text


def parse_dpkg_status(text: str, os_info: OsInfo | None) -> list[Package]:
    eco = ecosystem(os_info)
    namespace = os_info.distro if os_info and os_info.distro in ("debian", "ubuntu") else "debian"
    distro = purl_distro(os_info)
    result = []
    for stanza in deb822(text):
        name = stanza.get("package", "")
        version = stanza.get("version", "")
        status = stanza.get("status", "").split()
        if not name or not version or len(status) < 3 or status[2] not in DPKG_PRESENT:
            continue
        arch = stanza.get("architecture", "")
        source_name, source_version = name, version
        if source := stanza.get("source"):
            m = re.fullmatch(r"(\S+)(?:\s+\((\S+)\))?", source.strip())
            if m:
                source_name = m.group(1)
                source_version = m.group(2) or version
        result.append(
            Package(
                name=name,
                version=version,
                arch=arch,
                ecosystem=eco,
                source_name=source_name,
                source_version=source_version,
                purl=purl("deb", namespace, name, version, {"arch": arch, "distro": distro}),
            )
        )
    return result


def parse_apk_installed(text: str, os_info: OsInfo | None) -> list[Package]:
    eco = ecosystem(os_info)
    distro = purl_distro(os_info)
    result = []
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if len(line) > 2 and line[1] == ":" and line[0] not in fields:
                fields[line[0]] = line[2:].strip()
        name, version = fields.get("P"), fields.get("V")
        if not name or not version:
            continue
        arch = fields.get("A", "")
        result.append(
            Package(
                name=name,
                version=version,
                arch=arch,
                ecosystem=eco,
                source_name=fields.get("o") or name,
                source_version=version,
                purl=purl("apk", "alpine", name, version, {"arch": arch, "distro": distro}),
            )
        )
    return result


# ---- rpm -------------------------------------------------------------------------------------------------
RPMTAG_NAME, RPMTAG_VERSION, RPMTAG_RELEASE, RPMTAG_EPOCH = 1000, 1001, 1002, 1003
RPMTAG_ARCH, RPMTAG_SOURCERPM = 1022, 1044
RPM_INT32, RPM_STRING, RPM_STRING_ARRAY, RPM_I18NSTRING = 4, 6, 8, 9


class RpmHeaderError(ValueError):
    pass


def parse_rpm_header(blob: bytes) -> dict[int, str | int]:
    """The tags Shelf needs from an rpmdb header blob (index count, data length, 16-byte entries, data store)."""
    if len(blob) < 8:
        raise RpmHeaderError("header blob too short")
    il, dl = struct.unpack(">II", blob[:8])
    start = 8 + 16 * il
    if il > 0x10000 or dl > 256 * MiB or start + dl > len(blob):
        raise RpmHeaderError("header blob sizes out of range")
    data = blob[start : start + dl]
    wanted = {RPMTAG_NAME, RPMTAG_VERSION, RPMTAG_RELEASE, RPMTAG_EPOCH, RPMTAG_ARCH, RPMTAG_SOURCERPM}
    tags: dict[int, str | int] = {}
    for i in range(il):
        tag, kind, offset, count = struct.unpack(">iIiI", blob[8 + 16 * i : 24 + 16 * i])
        if tag not in wanted or offset < 0 or offset >= dl:
            continue
        if kind == RPM_INT32:
            if count < 1 or offset + 4 > dl:
                raise RpmHeaderError(f"tag {tag}: int32 out of range")
            tags[tag] = struct.unpack(">I", data[offset : offset + 4])[0]
        elif kind in (RPM_STRING, RPM_I18NSTRING, RPM_STRING_ARRAY):
            end = data.find(b"\x00", offset)
            if end < 0:
                raise RpmHeaderError(f"tag {tag}: unterminated string")
            tags[tag] = data[offset:end].decode("utf-8", errors="replace")
    return tags


def split_sourcerpm(sourcerpm: str) -> tuple[str, str]:
    """`openssl-3.0.7-24.el9.src.rpm` -> (`openssl`, `3.0.7-24.el9`)."""
    base = re.sub(r"\.(no)?src\.rpm$", "", sourcerpm)
    pieces = base.rsplit("-", 2)
    if len(pieces) != 3:
        return base, ""
    return pieces[0], f"{pieces[1]}-{pieces[2]}"


RPM_NAMESPACES = {"rhel": "redhat", "ol": "oracle", "amzn": "amazonlinux"}


def rpm_package(tags: dict[int, str | int], os_info: OsInfo | None) -> Package | None:
    name = str(tags.get(RPMTAG_NAME, ""))
    if not name or name == "gpg-pubkey":
        return None
    version, release = str(tags.get(RPMTAG_VERSION, "")), str(tags.get(RPMTAG_RELEASE, ""))
    epoch = tags.get(RPMTAG_EPOCH)
    arch = str(tags.get(RPMTAG_ARCH, ""))
    evr = f"{version}-{release}" if release else version
    full = f"{epoch}:{evr}" if epoch not in (None, "") else evr
    source_name, source_version = name, evr
    if srpm := tags.get(RPMTAG_SOURCERPM):
        source_name, source_version = split_sourcerpm(str(srpm))
        if epoch not in (None, "") and source_version:
            source_version = f"{epoch}:{source_version}"
    distro = os_info.distro if os_info else ""
    namespace = RPM_NAMESPACES.get(distro, distro or "rpm")
    quals = {"arch": arch, "distro": purl_distro(os_info)}
    if epoch not in (None, ""):
        quals["epoch"] = str(epoch)
    return Package(
        name=name,
        version=full,
        arch=arch,
        ecosystem=ecosystem(os_info),
        source_name=source_name,
        source_version=source_version,
        purl=purl("rpm", namespace, name, evr, quals),
    )


def _sqlite_blobs(db_bytes: bytes, wal: bytes | None) -> list[bytes]:
    def query(conn: sqlite3.Connection) -> list[bytes]:
        conn.execute("PRAGMA trusted_schema=OFF")
        kinds = dict(conn.execute("SELECT name, type FROM sqlite_master WHERE name = 'Packages'").fetchall())
        if kinds.get("Packages") != "table":
            raise RpmHeaderError("rpmdb.sqlite has no Packages table")
        return [bytes(row[0]) for row in conn.execute("SELECT blob FROM Packages")]

    if not wal:
        if db_bytes[18:20] == b"\x02\x02":
            # WAL-mode header (rpm uses WAL): an in-memory copy must read as a rollback-journal database.
            db_bytes = db_bytes[:18] + b"\x01\x01" + db_bytes[20:]
        conn = sqlite3.connect(":memory:")
        try:
            conn.deserialize(db_bytes)
            return query(conn)
        finally:
            conn.close()
    # A write-ahead log with committed transactions: let SQLite replay it on a private copy.
    with tempfile.TemporaryDirectory(prefix="shelf-rpmdb-") as tmp:
        db_path = Path(tmp) / "rpmdb.sqlite"
        db_path.write_bytes(db_bytes)
        (Path(tmp) / "rpmdb.sqlite-wal").write_bytes(wal)
        conn = sqlite3.connect(db_path)
        try:
            return query(conn)
        finally:
            conn.close()


def read_rpmdb(ctx: ScanContext, os_info: OsInfo | None) -> tuple[list[Package], str] | None:
    for directory in ("/var/lib/rpm", "/usr/lib/sysimage/rpm"):
        sqlite_path = f"{directory}/rpmdb.sqlite"
        if ctx.is_file(sqlite_path):
            size = ctx.size(sqlite_path) or 0
            if size > RPMDB_LIMIT:
                ctx.incomplete(f"{sqlite_path} is larger than {RPMDB_LIMIT // MiB} MiB")
                return [], sqlite_path
            data = ctx.read_bytes(sqlite_path, RPMDB_LIMIT) or b""
            wal = ctx.read_bytes(f"{sqlite_path}-wal", RPMDB_LIMIT)
            try:
                blobs = _sqlite_blobs(data, wal)
            except (sqlite3.Error, RpmHeaderError) as exc:
                ctx.incomplete(f"{sqlite_path} cannot be read: {exc}")
                return [], sqlite_path
            return _from_blobs(ctx, blobs, os_info, sqlite_path), sqlite_path
        bdb_path = f"{directory}/Packages"
        if ctx.is_file(bdb_path):
            from dissect.database.bsd.db import DB

            try:
                with ctx.open(bdb_path) as fh:
                    blobs = [value for _, value in DB(fh).records() if isinstance(value, bytes) and len(value) > 8]
            except Exception as exc:
                ctx.incomplete(f"{bdb_path} (Berkeley DB) cannot be read: {exc}")
                return [], bdb_path
            return _from_blobs(ctx, blobs, os_info, bdb_path), bdb_path
        if ctx.is_file(f"{directory}/Packages.db"):
            ctx.incomplete(f"{directory}/Packages.db (rpm ndb format) is not supported")
            return [], f"{directory}/Packages.db"
    return None


def _from_blobs(ctx: ScanContext, blobs: list[bytes], os_info: OsInfo | None, where: str) -> list[Package]:
    result = []
    bad = 0
    for blob in blobs:
        try:
            pkg = rpm_package(parse_rpm_header(blob), os_info)
        except RpmHeaderError:
            bad += 1
            continue
        if pkg:
            result.append(pkg)
    if bad:
        ctx.incomplete(f"{where}: {bad} package headers could not be parsed")
    return result


def collect(ctx: ScanContext, os_info: OsInfo | None) -> tuple[list[Package], str | None]:
    """All installed packages and the database they came from; incomplete when the expected one is unreadable."""
    status_path = "/var/lib/dpkg/status"
    if ctx.is_file(status_path):
        size = ctx.size(status_path) or 0
        if size > DPKG_STATUS_LIMIT:
            ctx.incomplete(f"{status_path} is larger than {DPKG_STATUS_LIMIT // MiB} MiB")
            return [], status_path
        packages = parse_dpkg_status(ctx.read_text(status_path, DPKG_STATUS_LIMIT) or "", os_info)
        return packages, status_path
    if ctx.is_dir("/var/lib/dpkg/status.d"):
        packages = []
        for name in ctx.listdir("/var/lib/dpkg/status.d"):
            if name.endswith(".md5sums"):
                continue
            packages += parse_dpkg_status(ctx.read_text(f"/var/lib/dpkg/status.d/{name}", 16 * MiB) or "", os_info)
        return packages, "/var/lib/dpkg/status.d"
    for apk_path in ("/lib/apk/db/installed", "/usr/lib/apk/db/installed"):
        if ctx.is_file(apk_path):
            return parse_apk_installed(ctx.read_text(apk_path, APK_LIMIT) or "", os_info), apk_path
    rpm = read_rpmdb(ctx, os_info)
    if rpm is not None:
        return rpm
    if os_info is not None and os_info.family in ("debian", "rhel", "alpine", "suse"):
        ctx.incomplete(f"no package database found for {os_info.pretty_name}")
    return [], None
