"""Family `eol_software`: end-of-life PHP, phpMyAdmin, MySQL and MariaDB, from packages and install paths."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from shelf.scanning.engine.checks.eol_software import distro_build, line_of, lookup
from tests.images.builders import write
from tests.scanning.conftest import ids


def package(name: str, version: str, arch: str = "amd64") -> str:
    return f"\nPackage: {name}\nStatus: install ok installed\nArchitecture: {arch}\nVersion: {version}\nDescription: {name}\n"


def add_packages(tree: Path, *stanzas: str) -> None:
    status = tree / "var/lib/dpkg/status"
    status.write_text(status.read_text().rstrip("\n") + "\n" + "".join(stanzas))


TRAP = "#!/bin/sh\ntouch /tmp/executed\n"  # the engine reads files; it never runs what it finds


def old_software(tree: Path) -> None:
    add_packages(
        tree,
        package("php7.4-fpm", "7.4.33-1+0~20221108.1+debian12~1.gbp1a2b3c"),  # sury build on Debian 12
        package("php7.4-cli", "7.4.33-1+0~20221108.1+debian12~1.gbp1a2b3c"),
        package("mysql-server-5.7", "5.7.42-1debian10"),
        package("phpmyadmin", "4:4.6.6-4", "all"),
    )
    write(tree, "www/server/php/56/bin/php", TRAP, 0o755)  # BT panel layout: the directory names the line
    write(tree, "usr/local/php/bin/php", TRAP, 0o755)
    write(
        tree,
        "usr/local/php/include/php/main/php_version.h",
        '#define PHP_MAJOR_VERSION 5\n#define PHP_VERSION "5.4.45"\n',
    )
    write(tree, "var/www/html/phpMyAdmin/README", "phpMyAdmin - Readme\n===================\n\nVersion 3.5.8.2\n")
    write(tree, "usr/local/mysql/bin/mysqld", TRAP, 0o755)
    write(tree, "usr/local/mysql/docs/INFO_SRC", "commit: 0123abc\nbranch: mysql-5.1\nMySQL source 5.1.73\n")


def current_software(tree: Path) -> None:
    add_packages(
        tree,
        package("php8.2-fpm", "8.2.7-1~deb12u1"),
        package("mariadb-server", "1:10.11.6-0+deb12u1"),
        package("phpmyadmin", "4:5.2.1+dfsg-1", "all"),
    )
    write(tree, "usr/local/php83/include/php/main/php_version.h", '#define PHP_VERSION "8.3.14"\n')
    write(tree, "usr/local/php83/bin/php", TRAP, 0o755)
    write(tree, "opt/tools/phpmyadmin/libraries/classes/Version.php",
          "<?php\nfinal class Version\n{\n    public const VERSION = '5.2.1' . VERSION_SUFFIX;\n}\n")  # fmt: skip
    write(tree, "www/server/mysql/docs/INFO_SRC", "MySQL source 8.4.3\n")


def by_id(result):
    return {f.check_id: f for f in result.findings if f.family == "eol_software"}


def test_end_of_life_software_fails(image_factory):
    result = image_factory.scan("eol-software", old_software)
    found = by_id(result)
    assert set(found) == {"eol_software.php", "eol_software.phpmyadmin", "eol_software.mysql"}
    titles = sorted(f.title for f in result.findings if f.family == "eol_software")
    assert titles == [
        "MySQL 5.1 is end-of-life since 2013-12-31: no more security fixes",
        "MySQL 5.7 is end-of-life since 2023-10-31: no more security fixes",
        "PHP 5.4 is end-of-life since 2015-09-03: no more security fixes",
        "PHP 5.6 is end-of-life since 2018-12-31: no more security fixes",
        "PHP 7.4 is end-of-life since 2022-11-28: no more security fixes",
        "phpMyAdmin 3.5 is end-of-life: no more security fixes",
        "phpMyAdmin 4.6 is end-of-life since 2017-04-01: no more security fixes",
    ]
    evidence = {(e.path, e.line, e.text) for f in result.findings if f.family == "eol_software" for e in f.evidence}
    assert ("/var/lib/dpkg/status", None, "package mysql-server-5.7 5.7.42-1debian10") in evidence
    assert ("/usr/local/php/include/php/main/php_version.h", 2, "PHP 5.4.45") in evidence
    assert ("/www/server/php/56", None, "BT panel PHP 5.6 (/www/server/php/56/bin/php)") in evidence
    assert ("/var/www/html/phpMyAdmin/README", 4, "phpMyAdmin 3.5.8.2") in evidence
    assert ("/usr/local/mysql/docs/INFO_SRC", 3, "MySQL 5.1.73") in evidence
    assert all(f.severity == "high" and f.fix for f in result.findings if f.family == "eol_software")
    assert not Path("/tmp/executed").exists()  # noqa: S108


def test_supported_software_is_fine(image_factory):
    result = image_factory.scan("eol-software-current", current_software)
    assert not [f.title for f in result.findings if f.family == "eol_software"]


def test_benign_image_has_no_eol_software(benign):
    assert not [i for i in ids(benign) if i.startswith("eol_software.")]


def test_dates_and_lines():
    today = date(2026, 11, 28)
    assert lookup("php", "7.4", today) == (True, "2022-11-28")
    assert lookup("php", "8.2", today) == (False, "2026-12-31")
    assert lookup("php", "8.2", date(2027, 1, 1))[0] is True
    assert lookup("php", "5.1", today) == (True, None)  # older than the table
    assert lookup("php", "9.0", today) == (False, None)  # newer than the table
    assert lookup("mysql", "5.7", date(2023, 10, 31))[0] is False and lookup("mysql", "5.7", date(2023, 11, 1))[0]
    assert lookup("phpmyadmin", "3.5", today) == (True, None)
    assert line_of("mariadb", "1:10.11.6-0+deb12u1") == "10.11"
    assert distro_build("8.2.7-1~deb12u1", "debian", "12") and distro_build("1:10.11.6-0+deb12u1", "debian", "12")
    assert distro_build("2:8.2+93", "debian", "12") and distro_build("5.4.16-48.el7", "centos", "7")
    assert not distro_build("7.4.33-1+deb11u5", "debian", "12")  # left over from Debian 11
    assert not distro_build("7.4.33-1+0~20221108.1+debian12~1.gbp1a2b3c", "debian", "12")
    assert not distro_build("5.7.42-1debian10", "debian", "12") and not distro_build("4:4.6.6-4", "debian", "12")


def test_distribution_builds_are_supported_while_the_release_is(image_factory):
    """Debian 12's own php8.2 after PHP 8.2's upstream end (2026-12-31) but before Debian 12's (2028-06-30)."""

    def debian_php(tree: Path) -> None:
        add_packages(
            tree,
            package("php8.2-fpm", "8.2.28-1~deb12u1"),
            package("php8.2-cli", "8.2.28-1+0~20250313.61+debian12~1.gbp4f9a5c"),
        )

    result = image_factory.scan("eol-software-distro", debian_php, today=date(2027, 3, 1))
    (finding,) = [f for f in result.findings if f.family == "eol_software"]
    assert [e.text for e in finding.evidence] == ["package php8.2-cli 8.2.28-1+0~20250313.61+debian12~1.gbp4f9a5c"]
