"""Family `os`: distribution, version, architecture and end-of-life status."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from shelf.scanning.engine import eol
from tests.images.builders import write
from tests.scanning.conftest import ids, only


def release(os_release: str):
    def mutate(tree: Path) -> None:
        write(tree, "etc/os-release", os_release)

    return mutate


@pytest.mark.parametrize(
    ("distro", "version", "today", "expected"),
    [
        ("debian", "9", date(2026, 11, 28), True),
        ("debian", "10", date(2026, 11, 28), True),
        ("debian", "11", date(2026, 8, 31), False),
        ("debian", "11", date(2026, 11, 28), True),
        ("debian", "12", date(2026, 11, 28), False),
        ("debian", "13", date(2026, 11, 28), False),
        ("debian", "6", date(2026, 11, 28), True),
        ("ubuntu", "18.04", date(2026, 11, 28), True),
        ("ubuntu", "20.04", date(2026, 11, 28), True),
        ("ubuntu", "22.04", date(2026, 11, 28), False),
        ("ubuntu", "23.10", date(2026, 11, 28), True),
        ("ubuntu", "24.04", date(2026, 11, 28), False),
        ("centos", "7", date(2026, 11, 28), True),
        ("centos", "8", date(2026, 11, 28), True),
        ("rocky", "9.4", date(2026, 11, 28), False),
        ("alpine", "3.21.2", date(2026, 11, 28), True),
        ("alpine", "3.22.1", date(2026, 11, 28), False),
        ("alpine", "3.12.0", date(2026, 11, 28), True),
    ],
)
def test_eol_table(distro, version, today, expected):
    assert eol.lookup(distro, version, today)[0] is expected


def test_eol_unknown_distro():
    assert eol.lookup("gentoo", "2.15", date(2026, 11, 28)) == (None, None)


def test_debian_12_details(benign):
    assert (benign.os.family, benign.os.distro, benign.os.version, benign.os.arch) == (
        "debian",
        "debian",
        "12",
        "x86_64",
    )
    assert benign.os.eol is False and benign.os.eol_date == "2028-06-30"
    assert "os.eol" not in ids(benign)


def test_debian_11_is_eol_on_the_evaluation_date(image_factory):
    mutate = release(
        'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\nNAME="Debian GNU/Linux"\nVERSION_ID="11"\nID=debian\n'
    )
    before = image_factory.scan("debian11", mutate, today=date(2026, 8, 1))
    assert "os.eol" not in ids(before) and before.os.eol is False
    after = image_factory.scan("debian11", mutate, today=date(2026, 11, 28))
    finding = only(after, "os.eol")
    assert finding.severity == "high" and "2026-08-31" in finding.title
    assert (finding.evidence[0].path, finding.evidence[0].line) == ("/etc/os-release", 3)


def test_ubuntu_2004_is_eol(image_factory):
    result = image_factory.scan(
        "ubuntu2004",
        release('NAME="Ubuntu"\nVERSION_ID="20.04"\nID=ubuntu\nID_LIKE=debian\nPRETTY_NAME="Ubuntu 20.04.6 LTS"\n'),
    )
    assert result.os.family == "debian" and result.os.version == "20.04"
    assert only(result, "os.eol").data["eol_date"] == "2025-05-29"
    assert result.packages[0].ecosystem == "Ubuntu:20.04"
    assert "distro=ubuntu-20.04" in result.packages[0].purl


def test_unknown_distribution_is_incomplete(image_factory):
    result = image_factory.scan(
        "gentoo", release('NAME=Gentoo\nID=gentoo\nVERSION_ID=2.15\nPRETTY_NAME="Gentoo Linux"\n')
    )
    assert "os.eol" not in ids(result)
    assert any(r.startswith("os: no end-of-life data for gentoo") for r in result.incomplete)


def test_release_files_without_os_release(image_factory):
    def old_centos(tree: Path) -> None:
        (tree / "etc/os-release").unlink()
        write(tree, "etc/centos-release", "CentOS release 6.10 (Final)\n")

    result = image_factory.scan("centos6", old_centos)
    assert (result.os.distro, result.os.version, result.os.family) == ("centos", "6.10", "rhel")
    evidence = only(result, "os.eol").evidence[0]
    assert (evidence.path, evidence.line, evidence.text) == ("/etc/centos-release", 1, "centos 6.10")
