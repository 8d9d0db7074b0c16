"""OSV loading and matching, on records written here in the shape of the real feeds."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from shelf.scanning.osv import (
    InstalledPackage,
    OsvIndex,
    RecordError,
    VulnMatch,
    affected_index_keys,
    blocking,
    compare_versions,
    ecosystem_family,
    iter_records,
    normalize_ecosystem,
    package_lookup_keys,
    record_key,
    severity_of,
)

CRITICAL_V31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


def osv(
    vuln_id: str,
    ecosystem: str,
    name: str,
    events: list[dict] | None = None,
    *,
    versions: list[str] | None = None,
    modified: str = "2023-11-06T10:15:00Z",
    **extra,
) -> dict:
    """A one-package OSV record shaped like the distribution feeds."""
    entry: dict = {"package": {"ecosystem": ecosystem, "name": name}}
    if events is not None:
        entry["ranges"] = [{"type": "ECOSYSTEM", "events": events}]
    if versions is not None:
        entry["versions"] = versions
    record = {
        "schema_version": "1.6.0",
        "id": vuln_id,
        "modified": modified,
        "published": "2023-11-06T00:00:00Z",
        "affected": [entry],
    }
    record.update(extra)
    return record


# Modelled on Debian's DSA-5532-1 (openssl, bookworm).
DSA_OPENSSL = {
    "schema_version": "1.6.0",
    "id": "DSA-5532-1",
    "modified": "2023-10-25T14:20:03Z",
    "published": "2023-10-24T00:00:00Z",
    "upstream": ["CVE-2023-5363"],
    "summary": "openssl - security update",
    "details": "Incorrect cipher key and IV length processing was discovered in OpenSSL.",
    "affected": [
        {
            "package": {"ecosystem": "Debian:12", "name": "openssl", "purl": "pkg:deb/debian/openssl?arch=source"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u2"}]}],
        }
    ],
    "references": [{"type": "ADVISORY", "url": "https://www.debian.org/security/2023/dsa-5532"}],
}

# Modelled on the Debian tracker's CVE records: ecosystem_specific urgency, CVSS in severity.
DEBIAN_CVE_OPENSSL = {
    "schema_version": "1.6.0",
    "id": "DEBIAN-CVE-2023-5678",
    "aliases": ["CVE-2023-5678"],
    "modified": "2024-09-03T06:00:00Z",
    "published": "2023-11-06T16:15:00Z",
    "details": "Generating excessively long X9.42 DH keys or checking excessively long X9.42 DH keys or parameters may be very slow.",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L"}],
    "affected": [
        {
            "package": {"ecosystem": "Debian:12", "name": "openssl"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}]}],
            "ecosystem_specific": {"urgency": "low"},
        },
        {
            "package": {"ecosystem": "Debian:11", "name": "openssl"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.1.1w-0+deb11u2"}]}],
            "ecosystem_specific": {"urgency": "not yet assigned"},
        },
    ],
    "references": [{"type": "ADVISORY", "url": "https://security-tracker.debian.org/tracker/CVE-2023-5678"}],
}


def libssl3(source_version: str, version: str | None = None) -> InstalledPackage:
    return InstalledPackage("Debian:12", "libssl3", version or source_version, "openssl", source_version)


def ids(matches: list[VulnMatch]) -> list[str]:
    return [m.vuln_id for m in matches]


# --------------------------------------------------------------------------- Debian


def test_debian_binary_package_matched_through_its_source():
    index = OsvIndex.from_records([DSA_OPENSSL])
    [m] = index.match([libssl3("3.0.11-1~deb12u1")])
    assert m.vuln_id == "DSA-5532-1"
    assert m.package == "libssl3"
    assert m.source == "openssl"
    assert m.installed_version == "3.0.11-1~deb12u1"
    assert m.fixed_version == "3.0.11-1~deb12u2"
    assert m.fix_available
    assert m.summary == "openssl - security update"
    assert m.references == ("https://www.debian.org/security/2023/dsa-5532",)
    assert m.modified == "2023-10-25T14:20:03Z"


@pytest.mark.parametrize("version", ["3.0.11-1~deb12u2", "3.0.13-1~deb12u1", "3.1.0-1"])
def test_debian_fixed_or_newer_source_version_not_matched(version):
    index = OsvIndex.from_records([DSA_OPENSSL])
    assert index.match([libssl3(version)]) == []


def test_debian_binary_name_is_not_looked_up_when_the_source_is_known():
    record = osv("DSA-1-1", "Debian:12", "libssl3", [{"introduced": "0"}, {"fixed": "9"}])
    assert OsvIndex.from_records([record]).match([libssl3("3.0.11-1~deb12u1")]) == []


def test_debian_package_without_source_falls_back_to_binary_name():
    index = OsvIndex.from_records(
        [osv("DSA-9-1", "Debian:12", "curl", [{"introduced": "0"}, {"fixed": "7.88.1-10+deb12u5"}])]
    )
    [m] = index.match([InstalledPackage("Debian:12", "curl", "7.88.1-10+deb12u4")])
    assert (m.source, m.fixed_version) == ("curl", "7.88.1-10+deb12u5")


def test_binnmu_binary_matched_on_the_source_version():
    record = osv("DLA-3000-1", "Debian:12", "foo", [{"introduced": "0"}, {"fixed": "1.2-3"}])
    index = OsvIndex.from_records([record])
    # The binary 1.2-3+b1 sorts above 1.2-3, yet it is the fixed source rebuilt: not vulnerable.
    assert index.match([InstalledPackage("Debian:12", "libfoo1", "1.2-3+b1", "foo", "1.2-3")]) == []
    # Without the source version the binNMU suffix is dropped from the binary version.
    assert index.match([InstalledPackage("Debian:12", "libfoo1", "1.2-3+b1", "foo")]) == []
    [m] = index.match([InstalledPackage("Debian:12", "libfoo1", "1.2-2+b1", "foo", "1.2-2")])
    assert (m.installed_version, m.fixed_version) == ("1.2-2", "1.2-3")
    # A source version that is vulnerable is matched even when the binary version looks fixed.
    record2 = osv("DLA-3001-1", "Debian:12", "bar", [{"introduced": "0"}, {"fixed": "1.2-3+deb12u1"}])
    [m] = OsvIndex.from_records([record2]).match([InstalledPackage("Debian:12", "libbar1", "1.2-3+b1", "bar", "1.2-3")])
    assert m.fixed_version == "1.2-3+deb12u1"


def test_tilde_sorts_before_release():
    index = OsvIndex.from_records([osv("DSA-2-1", "Debian:12", "pkg", [{"introduced": "0"}, {"fixed": "1.0"}])])
    assert ids(index.match([InstalledPackage("Debian:12", "pkg", "1.0~rc1")])) == ["DSA-2-1"]
    assert index.match([InstalledPackage("Debian:12", "pkg", "1.0")]) == []
    assert compare_versions("Debian:12", "1.0~rc1", "1.0") == -1
    assert compare_versions("Debian:12", "1.0~~", "1.0~") == -1


def test_epoch_outranks_upstream_version():
    assert compare_versions("Debian:12", "1:1.0", "2.0") == 1
    assert compare_versions("Ubuntu:22.04", "2.0", "1:1.0") == -1
    assert compare_versions("Debian", "0:1.0-1", "1.0-1") == 0
    index = OsvIndex.from_records([osv("DSA-3-1", "Debian:12", "pkg", [{"introduced": "0"}, {"fixed": "1:1.0-1"}])])
    [m] = index.match([InstalledPackage("Debian:12", "pkg", "2.0-5")])
    assert m.fixed_version == "1:1.0-1"
    assert index.match([InstalledPackage("Debian:12", "pkg", "1:1.0-1")]) == []


def test_introduced_later_than_zero():
    record = osv("DSA-4-1", "Debian:12", "pkg", [{"introduced": "2.0-1"}, {"fixed": "2.5-1"}])
    index = OsvIndex.from_records([record])
    assert index.match([InstalledPackage("Debian:12", "pkg", "1.9-1")]) == []
    assert ids(index.match([InstalledPackage("Debian:12", "pkg", "2.0-1")])) == ["DSA-4-1"]
    assert index.match([InstalledPackage("Debian:12", "pkg", "2.5-1")]) == []


def test_events_are_evaluated_in_version_order_across_branches():
    # Two affected branches, events listed out of order: introduced 2.0 .. fixed 2.3 and 1.0 .. fixed 1.5.
    events = [{"introduced": "2.0"}, {"fixed": "2.3"}, {"fixed": "1.5"}, {"introduced": "1.0"}]
    index = OsvIndex.from_records([osv("DSA-5-1", "Debian:12", "pkg", events)])
    found = {
        v: index.match([InstalledPackage("Debian:12", "pkg", v)]) for v in ["0.9", "1.2", "1.5", "1.9", "2.1", "2.3"]
    }
    assert {v: [m.fixed_version for m in ms] for v, ms in found.items()} == {
        "0.9": [],
        "1.2": ["1.5"],
        "1.5": [],
        "1.9": [],
        "2.1": ["2.3"],
        "2.3": [],
    }


def test_last_affected_means_no_fix_yet():
    record = osv("DEBIAN-CVE-2024-1", "Debian:12", "pkg", [{"introduced": "0"}, {"last_affected": "1.4-2"}])
    index = OsvIndex.from_records([record])
    [m] = index.match([InstalledPackage("Debian:12", "pkg", "1.4-2")])
    assert m.fixed_version is None
    assert not m.fix_available
    assert index.match([InstalledPackage("Debian:12", "pkg", "1.4-3")]) == []


def test_limit_bounds_the_range():
    record = osv("DSA-6-1", "Debian:12", "pkg", [{"introduced": "0"}, {"limit": "2.0"}])
    index = OsvIndex.from_records([record])
    assert ids(index.match([InstalledPackage("Debian:12", "pkg", "1.9")])) == ["DSA-6-1"]
    assert index.match([InstalledPackage("Debian:12", "pkg", "2.0")]) == []


def test_explicit_versions_list():
    record = osv("DEBIAN-CVE-2024-2", "Debian:12", "pkg", versions=["1.1-1", "1.1-2", "1:2.0-1"])
    index = OsvIndex.from_records([record])
    [m] = index.match([InstalledPackage("Debian:12", "pkg", "1.1-2")])
    assert m.fixed_version is None
    assert ids(index.match([InstalledPackage("Debian:12", "pkg", "1:2.0-1")])) == ["DEBIAN-CVE-2024-2"]
    assert index.match([InstalledPackage("Debian:12", "pkg", "1.1-3")]) == []


def test_versions_list_match_reports_the_ranges_fix():
    record = osv("DSA-7-1", "Debian:12", "pkg", [{"introduced": "1.0"}, {"fixed": "1.5"}], versions=["0.9"])
    [m] = OsvIndex.from_records([record]).match([InstalledPackage("Debian:12", "pkg", "0.9")])
    assert m.fixed_version == "1.5"


def test_record_without_fixed_event_is_not_yet_fixed():
    record = osv("DEBIAN-CVE-2023-9", "Debian:12", "openssl", [{"introduced": "0"}])
    [m] = OsvIndex.from_records([record]).match([libssl3("3.0.15-1~deb12u1")])
    assert m.fixed_version is None
    assert blocking([m]) == []


def test_withdrawn_record_ignored():
    record = dict(DSA_OPENSSL, withdrawn="2023-10-30T00:00:00Z")
    index = OsvIndex.from_records([record])
    assert len(index) == 0
    assert index.match([libssl3("3.0.11-1~deb12u1")]) == []


def test_newest_modified_version_of_a_record_wins():
    old = osv("DSA-8-1", "Debian:12", "pkg", [{"introduced": "0"}, {"fixed": "1.0-2"}], modified="2023-01-01T00:00:00Z")
    new = osv(
        "DSA-8-1", "Debian:12", "pkg", [{"introduced": "0"}, {"fixed": "1.0-3"}], modified="2023-02-01T00:00:00.5Z"
    )
    withdrawn = dict(new, modified="2023-03-01T00:00:00Z", withdrawn="2023-03-01T00:00:00Z")
    package = InstalledPackage("Debian:12", "pkg", "1.0-1")
    for records in ([old, new], [new, old]):
        [m] = OsvIndex.from_records(records).match([package])
        assert m.fixed_version == "1.0-3"
    assert OsvIndex.from_records([old, withdrawn, new]).match([package]) == []


def test_record_for_another_release_not_applied():
    record = osv("DLA-3500-1", "Debian:11", "openssl", [{"introduced": "0"}, {"fixed": "1.1.1w-0+deb11u1"}])
    index = OsvIndex.from_records([record])
    assert index.match([libssl3("1.1.1n-0+deb11u5")]) == []
    assert ids(index.match([InstalledPackage("Debian:11", "libssl1.1", "1.1.1n-0+deb11u5", "openssl")])) == [
        "DLA-3500-1"
    ]


def test_record_without_release_applies_to_every_release():
    record = osv("CVE-2023-1111", "Debian", "openssl", [{"introduced": "0"}, {"fixed": "3.0.12-1"}])
    index = OsvIndex.from_records([record])
    assert ids(index.match([libssl3("3.0.11-1~deb12u1")])) == ["CVE-2023-1111"]
    assert ids(index.match([InstalledPackage("Debian:11", "libssl1.1", "1.1.1n-0+deb11u5", "openssl")])) == [
        "CVE-2023-1111"
    ]
    assert index.match([InstalledPackage("Ubuntu:22.04", "libssl3", "3.0.2-0ubuntu1.10", "openssl")]) == []


def test_one_record_with_several_releases_uses_the_matching_entry():
    index = OsvIndex.from_records([DEBIAN_CVE_OPENSSL])
    [m12] = index.match([libssl3("3.0.11-1~deb12u2")])
    [m11] = index.match([InstalledPackage("Debian:11", "libssl1.1", "1.1.1w-0+deb11u1", "openssl")])
    assert (m12.fixed_version, m12.severity) == ("3.0.13-1~deb12u1", "low")
    assert m11.fixed_version == "1.1.1w-0+deb11u2"
    # Debian 11 has no urgency yet: the record's CVSS vector decides.
    assert m11.severity == "medium"
    assert m12.aliases == ("CVE-2023-5678",)
    assert m12.summary.startswith("Generating excessively long X9.42 DH keys")


def test_all_binaries_of_a_source_are_reported_and_sorted():
    index = OsvIndex.from_records([DSA_OPENSSL, DEBIAN_CVE_OPENSSL])
    packages = [
        InstalledPackage("Debian:12", "openssl", "3.0.11-1~deb12u1", "openssl", "3.0.11-1~deb12u1"),
        libssl3("3.0.11-1~deb12u1"),
        InstalledPackage("Debian:12", "zlib1g", "1:1.2.13.dfsg-1", "zlib"),
    ]
    matches = index.match(packages)
    assert [(m.package, m.vuln_id) for m in matches] == [
        ("libssl3", "DEBIAN-CVE-2023-5678"),
        ("libssl3", "DSA-5532-1"),
        ("openssl", "DEBIAN-CVE-2023-5678"),
        ("openssl", "DSA-5532-1"),
    ]


def test_invalid_installed_version_does_not_break_matching():
    index = OsvIndex.from_records(
        [DSA_OPENSSL, osv("DSA-10-1", "Debian:12", "ok", [{"introduced": "0"}, {"fixed": "2"}])]
    )
    matches = index.match([libssl3("not a version!"), InstalledPackage("Debian:12", "ok", "1")])
    assert ids(matches) == ["DSA-10-1"]


def test_unparsable_event_versions_are_ignored():
    record = osv("DSA-11-1", "Debian:12", "pkg", [{"introduced": "0"}, {"fixed": "bad version!"}, {"fixed": "1.5"}])
    [m] = OsvIndex.from_records([record]).match([InstalledPackage("Debian:12", "pkg", "1.0")])
    assert m.fixed_version == "1.5"


# --------------------------------------------------------------------------- Ubuntu

USN_OPENSSL = {
    "schema_version": "1.6.0",
    "id": "USN-6477-1",
    "summary": "openssl vulnerabilities",
    "details": "It was discovered that OpenSSL incorrectly handled excessively large DH keys.",
    "aliases": [],
    "related": ["CVE-2023-5678"],
    "modified": "2023-11-14T12:00:00Z",
    "published": "2023-11-14T00:00:00Z",
    "severity": [{"type": "Ubuntu", "score": "medium"}],
    "affected": [
        {
            "package": {"ecosystem": "Ubuntu:22.04:LTS", "name": "openssl"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.2-0ubuntu1.12"}]}],
            "ecosystem_specific": {
                "availability": "No subscription required",
                "binaries": [{"binary_name": "libssl3", "binary_version": "3.0.2-0ubuntu1.12"}],
            },
        }
    ],
    "references": [{"type": "ADVISORY", "url": "https://ubuntu.com/security/notices/USN-6477-1"}],
}


@pytest.mark.parametrize("ecosystem", ["Ubuntu:22.04", "Ubuntu:22.04:LTS", "ubuntu:22.04"])
def test_ubuntu_matched_on_source_with_or_without_lts_marker(ecosystem):
    index = OsvIndex.from_records([USN_OPENSSL])
    [m] = index.match([InstalledPackage(ecosystem, "libssl3", "3.0.2-0ubuntu1.10", "openssl")])
    assert (m.vuln_id, m.fixed_version, m.severity) == ("USN-6477-1", "3.0.2-0ubuntu1.12", "medium")
    assert index.match([InstalledPackage(ecosystem, "libssl3", "3.0.2-0ubuntu1.12", "openssl")]) == []
    assert index.match([InstalledPackage("Ubuntu:24.04", "libssl3", "3.0.2-0ubuntu1.10", "openssl")]) == []


def test_ubuntu_pro_stream_is_separate():
    record = osv(
        "USN-7000-1",
        "Ubuntu:Pro:18.04:LTS",
        "openssl",
        [{"introduced": "0"}, {"fixed": "1.1.1-1ubuntu2.1~18.04.23+esm4"}],
    )
    index = OsvIndex.from_records([record])
    assert index.match([InstalledPackage("Ubuntu:18.04", "libssl1.1", "1.1.1-1ubuntu2.1~18.04.23", "openssl")]) == []
    assert ids(
        index.match([InstalledPackage("Ubuntu:Pro:18.04", "libssl1.1", "1.1.1-1ubuntu2.1~18.04.23", "openssl")])
    ) == ["USN-7000-1"]


# --------------------------------------------------------------------------- Alpine

ALPINE_OPENSSL = osv(
    "ALPINE-CVE-2023-5678",
    "Alpine:v3.19",
    "openssl",
    [{"introduced": "0"}, {"fixed": "3.1.4-r1"}],
    aliases=["CVE-2023-5678"],
    severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
)


@pytest.mark.parametrize("ecosystem", ["Alpine:v3.19", "Alpine:3.19", "Alpine:3.19.1", "alpine:v3.19"])
def test_alpine_origin_package_matched_with_apk_rules(ecosystem):
    index = OsvIndex.from_records([ALPINE_OPENSSL])
    [m] = index.match([InstalledPackage(ecosystem, "libcrypto3", "3.1.4-r0", "openssl")])
    assert (m.package, m.source, m.fixed_version, m.severity) == ("libcrypto3", "openssl", "3.1.4-r1", "high")
    for fixed in ("3.1.4-r1", "3.1.4-r10", "3.1.5-r0", "3.1.4_p1-r0"):
        assert index.match([InstalledPackage(ecosystem, "libcrypto3", fixed, "openssl")]) == [], fixed
    assert ids(index.match([InstalledPackage(ecosystem, "libcrypto3", "3.1.4_rc1-r5", "openssl")])) == [
        "ALPINE-CVE-2023-5678"
    ]
    assert index.match([InstalledPackage("Alpine:v3.18", "libcrypto3", "3.1.4-r0", "openssl")]) == []


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.2.3-r0", "1.2.3-r1", -1),
        ("1.2.3-r9", "1.2.3-r10", -1),
        ("1.2_rc1", "1.2", -1),
        ("1.2_alpha1", "1.2_beta1", -1),
        ("1.2_beta2", "1.2_pre1", -1),
        ("1.2_pre1", "1.2_rc1", -1),
        ("1.2", "1.2_p1", -1),
        ("1.2_p1", "1.2.1", -1),
        ("1.2", "1.2a", -1),
        ("1.2a", "1.2b", -1),
        ("1.2a", "1.2.1", -1),
        ("1.2", "1.2.0", -1),
        ("1.2.3", "1.2.3-r0", -1),
        ("1.10", "1.9", 1),
        ("1.01", "1.1", -1),
        ("2.0", "1.99999", 1),
        ("1.0_git20230101", "1.0", 1),
        ("1.0_cvs", "1.0_p1", -1),
        ("1.0~abc-r0", "1.0-r0", 1),
        ("3.1.4-r1", "3.1.4-r1", 0),
    ],
)
def test_apk_version_order(a, b, expected):
    assert compare_versions("Alpine:v3.19", a, b) == expected
    assert compare_versions("Alpine:v3.19", b, a) == -expected


# --------------------------------------------------------------------------- RPM

ALSA_OPENSSL = {
    "schema_version": "1.6.0",
    "id": "ALSA-2024:0310",
    "summary": "Moderate: openssl security update",
    "details": "OpenSSL is a toolkit that implements the Secure Sockets Layer and Transport Layer Security protocols.",
    "modified": "2024-01-25T09:00:00Z",
    "published": "2024-01-23T00:00:00Z",
    "related": ["CVE-2023-5678"],
    "affected": [
        {
            "package": {"ecosystem": "AlmaLinux:8", "name": name},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1:1.1.1k-12.el8_9"}]}],
        }
        for name in ("openssl", "openssl-devel", "openssl-libs", "openssl-perl")
    ],
    "references": [{"type": "ADVISORY", "url": "https://errata.almalinux.org/8/ALSA-2024-0310.html"}],
}


def test_almalinux_binary_rpm_matched_with_epoch_version_release():
    index = OsvIndex.from_records([ALSA_OPENSSL])
    [m] = index.match(
        [InstalledPackage("AlmaLinux:8.9", "openssl-libs", "1:1.1.1k-9.el8_7", "openssl", "1:1.1.1k-9.el8_7")]
    )
    assert (m.package, m.source, m.fixed_version, m.severity) == (
        "openssl-libs",
        "openssl-libs",
        "1:1.1.1k-12.el8_9",
        "medium",
    )
    assert index.match([InstalledPackage("AlmaLinux:8", "openssl-libs", "1:1.1.1k-12.el8_9")]) == []
    # Epoch 1 beats any epoch-0 version, however high.
    assert ids(index.match([InstalledPackage("AlmaLinux:8", "openssl-libs", "3.0.7-1.el8")])) == ["ALSA-2024:0310"]
    assert index.match([InstalledPackage("AlmaLinux:9", "openssl-libs", "1:1.1.1k-9.el8_7")]) == []


def test_rocky_and_red_hat_ecosystem_spellings():
    rocky = osv("RLSA-2024:0310", "Rocky Linux:9", "curl", [{"introduced": "0"}, {"fixed": "7.76.1-26.el9_3.3"}])
    rhsa = osv(
        "RHSA-2024:0001",
        "Red Hat:enterprise_linux:9::appstream",
        "curl",
        [{"introduced": "0"}, {"fixed": "0:7.76.1-26.el9_3.3"}],
        summary="Important: curl security update",
    )
    index = OsvIndex.from_records([rocky, rhsa])
    assert ids(index.match([InstalledPackage("Rocky Linux:9.3", "curl", "7.76.1-26.el9_3.2")])) == ["RLSA-2024:0310"]
    assert ids(index.match([InstalledPackage("Rocky:9", "curl", "7.76.1-26.el9_3.2")])) == ["RLSA-2024:0310"]
    [m] = index.match([InstalledPackage("Red Hat:enterprise_linux:9", "curl", "7.76.1-26.el9_3.2")])
    assert (m.vuln_id, m.severity, m.fixed_version) == ("RHSA-2024:0001", "high", "0:7.76.1-26.el9_3.3")
    assert ids(index.match([InstalledPackage("RHEL:9", "curl", "0:7.76.1-26.el9_3.2")])) == ["RHSA-2024:0001"]
    assert index.match([InstalledPackage("Red Hat:9", "curl", "7.76.1-26.el9_3.3")]) == []


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.0-1", "1.0-2", -1),
        ("1:0.9", "1.0", 1),
        ("1:0.9-1", "0:1.0-1", 1),
        ("1.0a", "1.0", 1),
        ("1.0", "1.0.1", -1),
        ("1.0", "1.0-1", -1),
        ("1.0~rc1", "1.0", -1),
        ("1.0^git1", "1.0", 1),
        ("1.0^git1", "1.0.1", -1),
        ("1.10", "1.9", 1),
        ("1.010", "1.10", 0),
        ("2.0", "2_0", 0),
        ("1.0a", "1.0.1", -1),
        ("1.1.1k-9.el8_7", "1.1.1k-12.el8_9", -1),
        ("7.76.1-26.el9_3.2", "7.76.1-26.el9_3.3", -1),
        ("5.14.0-362.el9", "5.14.0-362.8.1.el9_3", -1),
    ],
)
def test_rpm_version_order(a, b, expected):
    assert compare_versions("Rocky Linux:9", a, b) == expected
    assert compare_versions("AlmaLinux:9", b, a) == -expected


def test_compare_versions_rejects_unknown_ecosystems():
    with pytest.raises(ValueError, match="no version rules"):
        compare_versions("PyPI", "1.0", "2.0")
    assert ecosystem_family("Debian:12") == "dpkg"
    assert ecosystem_family("Ubuntu:Pro:18.04:LTS") == "dpkg"
    assert ecosystem_family("Alpine:v3.19") == "apk"
    assert ecosystem_family("Red Hat:enterprise_linux:8::baseos") == "rpm"
    assert ecosystem_family("npm") is None


def test_unknown_ecosystem_matches_explicit_versions_only():
    record = osv("GHSA-xxxx-yyyy-zzzz", "PyPI", "django", [{"introduced": "0"}, {"fixed": "4.2.7"}], versions=["4.2.6"])
    index = OsvIndex.from_records([record])
    [m] = index.match([InstalledPackage("PyPI", "django", "4.2.6")])
    assert m.fixed_version is None
    assert index.match([InstalledPackage("PyPI", "django", "4.2.5")]) == []


# --------------------------------------------------------------------------- ecosystems and keys


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("Debian:12", "Debian:12"),
        ("debian:12.5", "Debian:12"),
        ("Debian:bookworm", "Debian:12"),
        ("Debian", "Debian"),
        ("Ubuntu:22.04:LTS", "Ubuntu:22.04"),
        ("Ubuntu:23.10", "Ubuntu:23.10"),
        ("Ubuntu:Pro:18.04:LTS", "Ubuntu:Pro:18.04"),
        ("Alpine:v3.19", "Alpine:v3.19"),
        ("Alpine:3.19.1", "Alpine:v3.19"),
        ("AlmaLinux:9.3", "AlmaLinux:9"),
        ("Rocky Linux:8", "Rocky Linux:8"),
        ("rocky:8.9", "Rocky Linux:8"),
        ("Red Hat:enterprise_linux:8::appstream", "Red Hat:enterprise_linux:8"),
        ("Red Hat:rhel_eus:9.2::baseos", "Red Hat:rhel_eus:9.2"),
        ("RHEL:9.3", "Red Hat:enterprise_linux:9"),
        ("openSUSE:Leap 15.5", "openSUSE:Leap 15.5"),
        ("PyPI", "PyPI"),
    ],
)
def test_normalize_ecosystem(given, canonical):
    assert normalize_ecosystem(given) == canonical


def test_index_keys_and_lookup_keys_agree():
    assert record_key(DSA_OPENSSL) == ("DSA-5532-1", "2023-10-25T14:20:03Z")
    assert affected_index_keys(DEBIAN_CVE_OPENSSL) == [("Debian:12", "openssl"), ("Debian:11", "openssl")]
    assert affected_index_keys(USN_OPENSSL) == [("Ubuntu:22.04", "openssl")]
    assert affected_index_keys(ALSA_OPENSSL) == [
        ("AlmaLinux:8", "openssl"),
        ("AlmaLinux:8", "openssl-devel"),
        ("AlmaLinux:8", "openssl-libs"),
        ("AlmaLinux:8", "openssl-perl"),
    ]
    assert (
        affected_index_keys({"id": "X", "modified": "m", "affected": [{"package": {"ecosystem": "Debian:12"}}]}) == []
    )
    assert package_lookup_keys(libssl3("3.0.11-1~deb12u1")) == [("Debian:12", "openssl"), ("Debian", "openssl")]
    assert package_lookup_keys(InstalledPackage("Ubuntu:22.04:LTS", "libssl3", "3", "openssl")) == [
        ("Ubuntu:22.04", "openssl"),
        ("Ubuntu", "openssl"),
    ]
    assert package_lookup_keys(InstalledPackage("AlmaLinux:8", "openssl-libs", "1", "openssl")) == [
        ("AlmaLinux:8", "openssl-libs"),
        ("AlmaLinux", "openssl-libs"),
    ]
    # Every stored key of a record that affects a package is among that package's lookup keys.
    assert set(affected_index_keys(DSA_OPENSSL)) & set(package_lookup_keys(libssl3("1")))


# --------------------------------------------------------------------------- severity


def test_severity_from_debian_urgency():
    def with_urgency(urgency: str) -> dict:
        record = osv("DEBIAN-CVE-2024-3", "Debian:12", "pkg", [{"introduced": "0"}])
        record["affected"][0]["ecosystem_specific"] = {"urgency": urgency}
        return record

    assert severity_of(with_urgency("high")) == "high"
    assert severity_of(with_urgency("medium")) == "medium"
    assert severity_of(with_urgency("low")) == "low"
    assert severity_of(with_urgency("unimportant")) == "low"
    assert severity_of(with_urgency("not yet assigned")) == "unknown"
    record = with_urgency("not yet assigned")
    record["severity"] = [{"type": "CVSS_V3", "score": CRITICAL_V31}]
    assert severity_of(record) == "critical"
    # Debian's own rating wins over the CVSS score.
    record = with_urgency("low")
    record["severity"] = [{"type": "CVSS_V3", "score": CRITICAL_V31}]
    assert severity_of(record) == "low"


@pytest.mark.parametrize(
    ("vector", "expected"),
    [
        (CRITICAL_V31, "critical"),  # 9.8
        ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "high"),  # 7.5
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", "medium"),  # 6.1
        ("CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", "low"),  # 1.8
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", "critical"),  # 10.0
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", "low"),  # 0.0
        ("CVSS:3.1/garbage", "unknown"),
    ],
)
def test_severity_from_cvss_v3_vector(vector, expected):
    record = osv("CVE-2024-4", "Debian:12", "pkg", severity=[{"type": "CVSS_V3", "score": vector}])
    assert severity_of(record) == expected


def test_severity_from_cvss_v4_and_v2_and_other_sources():
    v4 = osv(
        "CVE-2024-5",
        "Debian:12",
        "pkg",
        severity=[{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}],
    )
    assert severity_of(v4) == "critical"
    v2 = osv("CVE-2014-1", "Debian:12", "pkg", severity=[{"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:P/I:P/A:P"}])
    assert severity_of(v2) == "high"
    assert severity_of(USN_OPENSSL) == "medium"
    assert severity_of(dict(USN_OPENSSL, severity=[{"type": "Ubuntu", "score": "negligible"}])) == "low"
    assert severity_of(ALSA_OPENSSL) == "medium"
    assert severity_of(osv("GHSA-1", "PyPI", "x", database_specific={"severity": "MODERATE"})) == "medium"
    assert severity_of(osv("X-1", "Debian:12", "pkg")) == "unknown"
    # The per-package CVSS of schema 1.6 counts too.
    record = osv("CVE-2024-6", "Debian:12", "pkg")
    record["affected"][0]["severity"] = [{"type": "CVSS_V3", "score": CRITICAL_V31}]
    assert severity_of(record) == "critical"


def test_default_policy_blocks_fixable_critical_and_high_only():
    critical_fixed = osv(
        "DSA-12-1",
        "Debian:12",
        "a",
        [{"introduced": "0"}, {"fixed": "2"}],
        severity=[{"type": "CVSS_V3", "score": CRITICAL_V31}],
    )
    critical_unfixed = osv(
        "DEBIAN-CVE-2024-7", "Debian:12", "a", [{"introduced": "0"}], severity=critical_fixed["severity"]
    )
    medium_fixed = osv("DSA-13-1", "Debian:12", "a", [{"introduced": "0"}, {"fixed": "2"}], summary="Moderate: update")
    matches = OsvIndex.from_records([critical_fixed, critical_unfixed, medium_fixed]).match(
        [InstalledPackage("Debian:12", "a", "1")]
    )
    assert {m.vuln_id: (m.severity, m.fix_available) for m in matches} == {
        "DSA-12-1": ("critical", True),
        "DEBIAN-CVE-2024-7": ("critical", False),
        "DSA-13-1": ("medium", True),
    }
    assert ids(blocking(matches)) == ["DSA-12-1"]
    assert ids(blocking(matches, {"critical", "high", "medium"})) == ["DSA-12-1", "DSA-13-1"]


def test_unrated_record_takes_the_rating_of_the_records_it_names():
    dsa = dict(DSA_OPENSSL, upstream=["CVE-2023-5363"])
    tracker = osv("DEBIAN-CVE-2023-5363", "Debian:12", "openssl", [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u2"}])
    tracker["aliases"] = ["CVE-2023-5363"]
    tracker["affected"][0]["ecosystem_specific"] = {"urgency": "not yet assigned"}
    # A CVE record without packages, as converted from the NVD, carries the CVSS vector.
    nvd = {
        "id": "CVE-2023-5363",
        "modified": "2024-01-01T00:00:00Z",
        "severity": [{"type": "CVSS_V3", "score": CRITICAL_V31}],
    }
    assert severity_of(dsa) == "unknown"
    index = OsvIndex.from_records([dsa, tracker, nvd])
    assert len(index) == 2
    matches = index.match([libssl3("3.0.11-1~deb12u1")])
    assert {m.vuln_id: m.severity for m in matches} == {"DSA-5532-1": "critical", "DEBIAN-CVE-2023-5363": "critical"}
    assert ids(blocking(matches)) == ["DEBIAN-CVE-2023-5363", "DSA-5532-1"]
    # The named record's own entry for the package is preferred to its other ratings.
    tracker["affected"][0]["ecosystem_specific"] = {"urgency": "medium"}
    matches = OsvIndex.from_records([dsa, tracker, nvd]).match([libssl3("3.0.11-1~deb12u1")])
    assert {m.vuln_id: m.severity for m in matches} == {"DSA-5532-1": "medium", "DEBIAN-CVE-2023-5363": "medium"}
    # Without the named records the rating stays unknown.
    [m] = OsvIndex.from_records([dsa]).match([libssl3("3.0.11-1~deb12u1")])
    assert m.severity == "unknown"


# --------------------------------------------------------------------------- loading


def test_iter_records_from_a_directory_tree(tmp_path: Path):
    (tmp_path / "Debian").mkdir()
    (tmp_path / "Debian" / "DSA-5532-1.json").write_text(json.dumps(DSA_OPENSSL))
    (tmp_path / "Alpine").mkdir()
    (tmp_path / "Alpine" / "ALPINE-CVE-2023-5678.json").write_text(json.dumps(ALPINE_OPENSSL))
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "not-a-record.json").write_text(json.dumps({"id": "X-1"}))
    (tmp_path / "list.json").write_text(json.dumps([USN_OPENSSL, 42]))
    (tmp_path / "README.txt").write_text("ignored")
    errors: list[RecordError] = []
    records = list(iter_records(tmp_path, errors))
    assert sorted(r["id"] for r in records) == ["ALPINE-CVE-2023-5678", "DSA-5532-1", "USN-6477-1"]
    reasons = {Path(e.source).name: e.reason for e in errors}
    assert reasons["broken.json"].startswith("not valid JSON")
    assert reasons["not-a-record.json"] == "no modified timestamp"
    assert reasons["list.json[1]"] == "not a JSON object"
    assert len(errors) == 3


def test_iter_records_from_a_single_file(tmp_path: Path):
    path = tmp_path / "DSA-5532-1.json"
    path.write_text(json.dumps(DSA_OPENSSL))
    assert [r["id"] for r in iter_records(path)] == ["DSA-5532-1"]
    assert [r["id"] for r in iter_records(str(path))] == ["DSA-5532-1"]
    with pytest.raises(FileNotFoundError):
        list(iter_records(tmp_path / "missing"))


def test_iter_records_streams_an_osv_zip_archive(tmp_path: Path, monkeypatch):
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("DSA-5532-1.json", json.dumps(DSA_OPENSSL))
        zf.writestr("DEBIAN-CVE-2023-5678.json", json.dumps(DEBIAN_CVE_OPENSSL))
        zf.writestr("DSA-0000-1.json", b'{"id": "DSA-0000-1", "modified": ')
        zf.writestr("nested/USN-6477-1.json", json.dumps(USN_OPENSSL))
        zf.writestr("notes.txt", "not a record")
        zf.writestr("__MACOSX/._DSA-5532-1.json", b"\x00\x05\x16\x07")
    # Streaming: nothing is extracted to disk.
    monkeypatch.setattr(zipfile.ZipFile, "extract", lambda *a, **k: pytest.fail("extracted"))
    monkeypatch.setattr(zipfile.ZipFile, "extractall", lambda *a, **k: pytest.fail("extracted"))
    before = sorted(tmp_path.iterdir())
    errors: list[RecordError] = []
    records = list(iter_records(archive, errors))
    assert [r["id"] for r in records] == ["DSA-5532-1", "DEBIAN-CVE-2023-5678", "USN-6477-1"]
    assert [(e.source, e.reason.split(":")[0]) for e in errors] == [(f"{archive}:DSA-0000-1.json", "not valid JSON")]
    assert sorted(tmp_path.iterdir()) == before
    # The records are usable as they come.
    index = OsvIndex.from_records(records)
    assert ids(index.match([libssl3("3.0.11-1~deb12u1")])) == ["DEBIAN-CVE-2023-5678", "DSA-5532-1"]


def test_iter_records_reports_oversized_members_and_bad_archives(tmp_path: Path):
    archive = tmp_path / "Debian.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("big.json", json.dumps(dict(DSA_OPENSSL, details="x" * 5000)))
        zf.writestr("small.json", json.dumps(ALPINE_OPENSSL))
    errors: list[RecordError] = []
    assert [r["id"] for r in iter_records(archive, errors, max_record_bytes=4096)] == ["ALPINE-CVE-2023-5678"]
    assert errors[0].source.endswith(":big.json") and "larger than" in errors[0].reason

    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "corrupt.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    (tree / "ok.json").write_text(json.dumps(DSA_OPENSSL))
    errors = []
    assert [r["id"] for r in iter_records(tree, errors)] == ["DSA-5532-1"]
    assert [Path(e.source).name for e in errors] == ["corrupt.zip"]


def test_iter_records_without_error_list_logs(tmp_path: Path, caplog):
    (tmp_path / "bad.json").write_text("[")
    assert list(iter_records(tmp_path)) == []
    assert "bad.json" in caplog.text


def test_from_records_skips_invalid_records():
    index = OsvIndex.from_records(
        [DSA_OPENSSL, {"modified": "x"}, "nonsense", {"id": "A", "modified": "m", "affected": {}}]
    )
    assert len(index) == 1
    assert [e.reason for e in index.skipped] == ["no id", "not a JSON object", "affected is not a list"]


# --------------------------------------------------------------------------- performance


def test_index_and_match_scale_by_key_lookup(monkeypatch):
    ecosystems = ["Debian:12", "Debian:11", "Ubuntu:22.04:LTS", "Alpine:v3.19", "AlmaLinux:9"]
    records = []
    for i in range(50_000):
        ecosystem = ecosystems[i % len(ecosystems)]
        fixed = {"Alpine:v3.19": f"1.{i % 7}-r2", "AlmaLinux:9": f"1.{i % 7}-2.el9"}.get(ecosystem, f"1.{i % 7}-2")
        records.append(osv(f"SYN-{i}", ecosystem, f"pkg{i % 10_000}", [{"introduced": "0"}, {"fixed": fixed}]))
    packages = []
    for i in range(2_000):
        ecosystem = ecosystems[i % len(ecosystems)]
        version = {"Alpine:v3.19": "1.3-r1", "AlmaLinux:9": "1.3-1.el9"}.get(ecosystem, "1.3-1")
        name = f"pkg{i * 5 + i % 5}"
        if ecosystem == "AlmaLinux:9":  # RPM records name binary packages
            packages.append(InstalledPackage(ecosystem, name, version))
        else:
            packages.append(InstalledPackage(ecosystem, f"bin{i}", version, name))
    index = OsvIndex.from_records(records)
    # Counted, not timed (the machine is shared): matching looks up each package's own records by key and
    # evaluates only those, never the 50,000.
    from shelf.scanning.osv import index as index_module

    evaluated = []
    evaluate = index_module._Entry.evaluate
    monkeypatch.setattr(index_module._Entry, "evaluate", lambda self, *a: evaluated.append(1) or evaluate(self, *a))
    matches = index.match(packages)
    assert len(index) == 50_000
    assert len(evaluated) == 2_000 * 5  # five records name each package
    # Package i is pkg{5i + i % 5} in ecosystem i % 5: records SYN-{j}, j = 5i + i % 5 + 10000k (k = 0..4),
    # all in that same ecosystem; each is vulnerable when its fix 1.{j % 7}-2 is above 1.3-1, i.e. j % 7 >= 3.
    expected = sum(1 for i in range(2_000) for k in range(5) if (i * 5 + i % 5 + 10_000 * k) % 7 >= 3)
    assert expected > 4_000
    assert len(matches) == expected
