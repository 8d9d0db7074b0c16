"""Package inventories (dpkg, rpm sqlite, apk) with source packages, purls, ecosystems and the CycloneDX SBOM."""

from __future__ import annotations

import shutil
import sqlite3
import struct
import subprocess
from pathlib import Path

import pytest

from shelf.scanning.engine.packages import parse_rpm_header, split_sourcerpm
from tests.images.builders import write


def test_dpkg_packages_with_source(benign):
    pkgs = {p.name: p for p in benign.packages}
    assert set(pkgs) == {"base-files", "libssl3", "openssl", "libc6", "openssh-server", "cloud-init", "nftables"}
    ssl = pkgs["libssl3"]
    assert (ssl.version, ssl.source_name, ssl.source_version) == ("3.0.11-1~deb12u2", "openssl", "3.0.11-1~deb12u2")
    assert ssl.ecosystem == "Debian:12" and ssl.arch == "amd64"
    assert ssl.purl == "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"
    libc = pkgs["libc6"]
    assert (libc.source_name, libc.source_version) == ("glibc", "2.36-9+deb12u4")
    assert (pkgs["openssl"].source_name, pkgs["openssl"].source_version) == ("openssl", "3.0.11-1~deb12u2")
    ssh = pkgs["openssh-server"]
    assert ssh.version == "1:9.2p1-2+deb12u2"
    assert ssh.purl == "pkg:deb/debian/openssh-server@1:9.2p1-2%2Bdeb12u2?arch=amd64&distro=debian-12"
    assert benign.stats["package_db"] == "/var/lib/dpkg/status"


def test_cyclonedx_sbom(benign):
    bom = benign.sbom()
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.5"
    assert bom["serialNumber"].startswith("urn:uuid:")
    assert bom["metadata"]["component"]["type"] == "operating-system"
    comps = {c["name"]: c for c in bom["components"]}
    assert len(comps) == len(benign.packages)
    props = {p["name"]: p["value"] for p in comps["libssl3"]["properties"]}
    assert props["shelf:source_name"] == "openssl" and props["shelf:ecosystem"] == "Debian:12"
    assert comps["libssl3"]["purl"] == comps["libssl3"]["bom-ref"]
    assert len({c["bom-ref"] for c in bom["components"]}) == len(bom["components"])


def test_missing_dpkg_database_is_incomplete(image_factory):
    def remove(tree: Path) -> None:
        (tree / "var/lib/dpkg/status").unlink()

    result = image_factory.scan("no-dpkg", remove)
    assert result.packages == []
    assert any(r.startswith("packages: no package database found") for r in result.incomplete)


# ---- rpm ------------------------------------------------------------------------------------------------


def rpm_header(tags: dict[int, str | int]) -> bytes:
    """An rpmdb header blob: index count, data length, (tag, type, offset, count) entries, data store."""
    entries, data = [], b""
    for tag, value in sorted(tags.items()):
        if isinstance(value, int):
            data += b"\x00" * (-len(data) % 4)
            entries.append(struct.pack(">iIiI", tag, 4, len(data), 1))
            data += struct.pack(">I", value)
        else:
            entries.append(struct.pack(">iIiI", tag, 6, len(data), 1))
            data += value.encode() + b"\x00"
    return struct.pack(">II", len(entries), len(data)) + b"".join(entries) + data


RPMS = [
    {
        1000: "openssl-libs",
        1001: "3.0.7",
        1002: "27.el9",
        1003: 1,
        1022: "x86_64",
        1044: "openssl-3.0.7-27.el9.src.rpm",
    },
    {1000: "bash", 1001: "5.1.8", 1002: "9.el9", 1022: "x86_64", 1044: "bash-5.1.8-9.el9.src.rpm"},
    {1000: "gpg-pubkey", 1001: "8483c65d", 1002: "5ccc5b19"},
]


def test_rpm_header_parser():
    tags = parse_rpm_header(rpm_header(RPMS[0]))
    assert tags[1000] == "openssl-libs" and tags[1003] == 1 and tags[1044] == "openssl-3.0.7-27.el9.src.rpm"
    assert split_sourcerpm("openssl-3.0.7-27.el9.src.rpm") == ("openssl", "3.0.7-27.el9")


def rocky9(with_wal: bool):
    def mutate(tree: Path) -> None:
        shutil.rmtree(tree / "var/lib/dpkg")
        write(
            tree,
            "etc/os-release",
            'NAME="Rocky Linux"\nVERSION_ID="9.4"\nID="rocky"\nID_LIKE="rhel centos fedora"\nPRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\n',
        )
        db = tree / "var/lib/rpm/rpmdb.sqlite"
        db.parent.mkdir(parents=True)
        work = tree.parent / f"{tree.name}-rpmdb.sqlite"
        conn = sqlite3.connect(work)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
        for tags in RPMS:
            conn.execute("INSERT INTO Packages (blob) VALUES (?)", (rpm_header(tags),))
        conn.commit()
        if with_wal:
            # Committed but not checkpointed: the package is only in the write-ahead log.
            conn.execute(
                "INSERT INTO Packages (blob) VALUES (?)",
                (rpm_header({1000: "curl", 1001: "7.76.1", 1002: "29.el9", 1022: "x86_64"}),),
            )
            conn.commit()
            shutil.copy(work, db)
            shutil.copy(f"{work}-wal", f"{db}-wal")
            conn.close()
        else:
            conn.close()
            shutil.copy(work, db)

    return mutate


def test_rpm_sqlite_database(image_factory):
    result = image_factory.scan("rocky9", rocky9(False))
    assert result.os.family == "rhel" and result.os.distro == "rocky"
    pkgs = {p.name: p for p in result.packages}
    assert set(pkgs) == {"openssl-libs", "bash"}  # gpg-pubkey is not a package
    ssl = pkgs["openssl-libs"]
    assert (ssl.version, ssl.arch, ssl.source_name, ssl.source_version) == (
        "1:3.0.7-27.el9",
        "x86_64",
        "openssl",
        "1:3.0.7-27.el9",
    )
    assert ssl.ecosystem == "Rocky Linux:9"
    assert ssl.purl == "pkg:rpm/rocky/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rocky-9.4&epoch=1"
    assert pkgs["bash"].version == "5.1.8-9.el9"
    assert result.stats["package_db"] == "/var/lib/rpm/rpmdb.sqlite"
    assert not [r for r in result.incomplete if r.startswith("packages")]


def test_rpm_sqlite_write_ahead_log_is_replayed(image_factory):
    result = image_factory.scan("rocky9-wal", rocky9(True))
    assert {p.name for p in result.packages} == {"openssl-libs", "bash", "curl"}


def test_corrupt_rpm_headers_are_incomplete(image_factory):
    def corrupt(tree: Path) -> None:
        rocky9(False)(tree)
        conn = sqlite3.connect(tree / "var/lib/rpm/rpmdb.sqlite")
        conn.execute("INSERT INTO Packages (blob) VALUES (?)", (b"\x00\x00\x00\x05\x00\x00\x10\x00garbage",))
        conn.commit()
        conn.close()

    result = image_factory.scan("rocky9-corrupt", corrupt)
    assert {p.name for p in result.packages} == {"openssl-libs", "bash"}
    assert any("1 package headers could not be parsed" in r for r in result.incomplete)


DB_LOAD = shutil.which("db5.3_load") or shutil.which("db_load")


@pytest.mark.skipif(DB_LOAD is None, reason="Berkeley DB tools (Debian db5.3-util) not installed")
def test_rpm_berkeley_db_packages(image_factory):
    """CentOS 7 / RHEL 8 keep /var/lib/rpm/Packages as a Berkeley DB hash: key = instance, value = header."""

    def centos7(tree: Path) -> None:
        shutil.rmtree(tree / "var/lib/dpkg")
        write(
            tree,
            "etc/os-release",
            'NAME="CentOS Linux"\nVERSION_ID="7"\nID="centos"\nID_LIKE="rhel fedora"\nPRETTY_NAME="CentOS Linux 7 (Core)"\n',
        )
        dump = ["VERSION=3", "format=bytevalue", "type=hash", "HEADER=END"]
        for n, tags in enumerate(RPMS, start=1):
            tags = {**tags, 1002: tags.get(1002, "").replace("el9", "el7")}
            dump += [" " + struct.pack("<I", n).hex(), " " + rpm_header(tags).hex()]
        dump.append("DATA=END")
        db = tree / "var/lib/rpm/Packages"
        db.parent.mkdir(parents=True)
        subprocess.run([DB_LOAD, str(db)], input="\n".join(dump) + "\n", text=True, check=True)

    result = image_factory.scan("centos7", centos7)
    assert result.stats["package_db"] == "/var/lib/rpm/Packages"
    pkgs = {p.name: p for p in result.packages}
    assert set(pkgs) == {"openssl-libs", "bash"}
    assert pkgs["openssl-libs"].version == "1:3.0.7-27.el7" and pkgs["bash"].ecosystem == "CentOS:7"
    assert result.os.eol is True


# ---- apk ------------------------------------------------------------------------------------------------

APK_INSTALLED = """\
C:Q1abc=
P:musl
V:1.2.4-r2
A:x86_64
S:383152
o:musl
t:1700000000

C:Q1def=
P:libcrypto3
V:3.1.4-r5
A:x86_64
o:openssl

"""


def test_apk_installed_database(image_factory):
    def alpine(tree: Path) -> None:
        shutil.rmtree(tree / "var/lib/dpkg")
        write(
            tree,
            "etc/os-release",
            'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n',
        )
        write(tree, "lib/apk/db/installed", APK_INSTALLED)

    result = image_factory.scan("alpine319", alpine)
    pkgs = {p.name: p for p in result.packages}
    assert set(pkgs) == {"musl", "libcrypto3"}
    crypto = pkgs["libcrypto3"]
    assert (crypto.source_name, crypto.source_version, crypto.ecosystem) == ("openssl", "3.1.4-r5", "Alpine:v3.19")
    assert crypto.purl == "pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&distro=alpine-3.19"
    assert result.os.eol is True  # 3.19 ended 2025-11-01
