"""Family `eol_software`: bundled software past its end of life (PHP, phpMyAdmin, MySQL, MariaDB).

    eol_software.php         high  a PHP release line past its end of security support (5.x, 7.0-7.4, 8.0, ...)
    eol_software.phpmyadmin  high  a phpMyAdmin line that gets no more security releases (< 4.0 ... 5.1)
    eol_software.mysql       high  MySQL 5.0-5.7, 8.0 after April 2026, the 8.1-8.3 innovation releases
    eol_software.mariadb     high  MariaDB 5.5, 10.0-10.5, the short-term 10.7-10.10 and 11.0-11.3 lines, ...

Versions come from the package database (dpkg/rpm/apk names like php7.4-fpm, php74-php-cli, mysql-server-5.7,
mariadb-server-10.3, phpmyadmin) and from well-known install paths outside the package manager, read from files and
never executed: PHP's installed php_version.h (/usr/local/php*/, /www/server/php/NN of the BT panel, /opt/php*),
phpMyAdmin's Version.php / Config.php / README, MySQL's docs/INFO_SRC, docs/INFO_BIN or mysql_version.h.

Dates are the upstream end of security support, evaluated on the scan date. One exception: a package built by the
distribution itself for a release that the distribution still supports (Debian's `~deb12u1`, Ubuntu's `ubuntu`
revisions, `.el9`, not sury/remi/Oracle builds nor leftovers of an older release) is supported while that release
is: the distribution backports its fixes.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence, Finding, Package
from shelf.scanning.engine.registry import check

# product -> [(release line, last day of security support)]; lines older than the first are end-of-life too.
EOL: dict[str, list[tuple[str, str]]] = {
    "php": [
        ("5.2", "2011-01-06"), ("5.3", "2014-08-14"), ("5.4", "2015-09-03"), ("5.5", "2016-07-21"),
        ("5.6", "2018-12-31"), ("7.0", "2019-01-10"), ("7.1", "2019-12-01"), ("7.2", "2020-11-30"),
        ("7.3", "2021-12-06"), ("7.4", "2022-11-28"), ("8.0", "2023-11-26"), ("8.1", "2025-12-31"),
        ("8.2", "2026-12-31"), ("8.3", "2027-12-31"), ("8.4", "2028-12-31"), ("8.5", "2029-12-31"),
    ],
    # phpMyAdmin supports only its newest line (and 4.9 as a long-term line until 2022); a line ends when the next
    # one is released. Lines below 4.0 (the standard's example) are long gone.
    "phpmyadmin": [
        ("4.0", "2017-04-01"), ("4.1", "2014-10-01"), ("4.2", "2015-04-07"), ("4.3", "2015-07-01"),
        ("4.4", "2016-10-01"), ("4.5", "2016-03-31"), ("4.6", "2017-04-01"), ("4.7", "2018-06-21"),
        ("4.8", "2019-06-04"), ("4.9", "2022-01-01"), ("5.0", "2021-02-24"), ("5.1", "2023-02-08"),
        ("5.2", "2027-12-31"),
    ],
    "mysql": [
        ("5.0", "2012-01-09"), ("5.1", "2013-12-31"), ("5.5", "2018-12-03"), ("5.6", "2021-02-05"),
        ("5.7", "2023-10-31"), ("8.0", "2026-04-30"), ("8.1", "2023-10-25"), ("8.2", "2024-01-16"),
        ("8.3", "2024-04-16"), ("8.4", "2032-04-30"),
    ],
    "mariadb": [
        ("5.5", "2020-04-11"), ("10.0", "2019-03-31"), ("10.1", "2020-10-17"), ("10.2", "2022-05-23"),
        ("10.3", "2023-05-25"), ("10.4", "2024-06-18"), ("10.5", "2025-06-24"), ("10.6", "2026-07-06"),
        ("10.7", "2023-02-09"), ("10.8", "2023-05-20"), ("10.9", "2023-08-22"), ("10.10", "2023-11-17"),
        ("10.11", "2028-02-16"), ("11.0", "2024-06-06"), ("11.1", "2024-08-21"), ("11.2", "2024-11-21"),
        ("11.3", "2025-05-29"), ("11.4", "2029-05-29"), ("11.8", "2030-06-04"),
    ],
}  # fmt: skip
NAMES = {"php": "PHP", "phpmyadmin": "phpMyAdmin", "mysql": "MySQL", "mariadb": "MariaDB"}
FIXES = {
    "php": "Move the application to a supported PHP line (8.2 or newer) and remove the old PHP from the image.",
    "phpmyadmin": "Upgrade phpMyAdmin to the current 5.2 line (or remove it from the image).",
    "mysql": "Upgrade to MySQL 8.4 LTS (or a supported MariaDB) and remove the old server from the image.",
    "mariadb": "Upgrade to a supported MariaDB LTS line (10.11, 11.4 or newer).",
}


def _key(line: str) -> tuple[int, ...]:
    return tuple(int(p) for p in line.split(".") if p.isdigit())


def line_of(product: str, version: str) -> str | None:
    """The release line of a version ("7.4.33" -> "7.4"; MariaDB "10.11.6" -> "10.11")."""
    m = re.match(r"^(?:\d+:)?(\d+)\.(\d+)", version)
    return f"{int(m.group(1))}.{int(m.group(2))}" if m else None


def lookup(product: str, line: str, today: date) -> tuple[bool | None, str | None]:
    """(end of life?, last supported day): older than the table is EOL, newer is supported, a gap is unknown."""
    rows = EOL[product]
    for release, last_day in rows:
        if release == line:
            return today > date.fromisoformat(last_day), last_day
    keys = sorted(_key(r) for r, _ in rows)
    if _key(line) < keys[0]:
        return True, None
    if _key(line) > keys[-1]:
        return False, None
    return None, None


def distro_build(version: str, distro: str, release: str) -> bool:
    """The distribution's own build for this release (it backports fixes), not a third-party repository's (sury,
    remi, Oracle's MySQL repository) nor a package left over from an older release."""
    if re.search(r"sury|remi|\+0~\d{8}|\.gbp[0-9a-f]|-\d+debian\d+$|-\d+ubuntu\d\d\.\d\d$", version):
        return False
    major = release.split(".")[0]
    if m := re.search(r"[+~]deb(\d+)u\d+", version):
        return distro == "debian" and m.group(1) == major
    if m := re.search(r"\.el(\d+)", version):
        return m.group(1) == major
    if re.search(r"ubuntu\d", version):
        return distro == "ubuntu"
    return bool(re.fullmatch(r"\d+:\d+\.\d+\+\d+", version))  # Debian's php-defaults metapackages (2:8.2+93)


# ---- from the package database ------------------------------------------------------------------------

PHP_PACKAGE = re.compile(
    r"^(?:php(?P<v1>\d(?:\.\d)?)(?:-(?:cli|fpm|cgi|common|mysql|mysqlnd))?|libapache2-mod-php(?P<v2>\d(?:\.\d)?)?|"
    r"php(?P<v3>\d\d)(?:-php-(?:cli|fpm|common))?|php(?:-cli|-fpm|-common|-cgi)?|php(?P<v4>\d\d)-?(?:cli|fpm|common)?)$"
)
MYSQL_PACKAGE = re.compile(
    r"^(?:mysql-server(?:-core)?-(?P<v>\d+\.\d+)|mysql-server|mysql-community-server|mysql-server-core)$"
)
MARIADB_PACKAGE = re.compile(
    r"^(?:mariadb-server(?:-core)?-(?P<v>\d+\.\d+)|mariadb-server|MariaDB-server|mariadb-server-core)$"
)


def _package_line(product: str, pkg: Package) -> str | None:
    if product == "php":
        m = PHP_PACKAGE.match(pkg.name)
        if not m:
            return None
        named = m.group("v1") or m.group("v2") or m.group("v3") or m.group("v4")
        if named and "." not in named:
            named = f"{named[0]}.{named[1]}" if len(named) == 2 else None
        if named == "5" or not named:
            return line_of(product, pkg.version)  # php5 (Debian 8), php (RHEL): the version says the line
        return named
    if product in ("mysql", "mariadb"):
        m = (MYSQL_PACKAGE if product == "mysql" else MARIADB_PACKAGE).match(pkg.name)
        if not m:
            return None
        return m.group("v") or line_of(product, pkg.version)
    if product == "phpmyadmin":
        return line_of(product, pkg.version) if pkg.name.lower() == "phpmyadmin" else None
    return None


@dataclass
class Seen:
    product: str
    line: str
    evidence: Evidence
    distro_supported: bool = False


def from_packages(ctx: ScanContext) -> list[Seen]:
    seen = []
    db = ctx.package_db or "package database"
    distro, release = (ctx.os.distro, ctx.os.version) if ctx.os else ("", "")
    for pkg in ctx.packages:
        for product in NAMES:
            line = _package_line(product, pkg)
            if line:
                seen.append(Seen(product, line, Evidence(db, None, f"package {pkg.name} {pkg.version}"),
                                 distro_build(pkg.version, distro, release)))  # fmt: skip
    return seen


# ---- from install paths outside the package manager (files only, nothing executed) -------------------

PHP_PREFIXES = (
    "/usr/local/php*",
    "/www/server/php/*",
    "/opt/php*",
    "/opt/remi/php*/root/usr",
    "/usr/local/lsws/lsphp*",
)
PMA_DIRS = ("/usr/share/phpmyadmin", "/var/www/phpmyadmin", "/var/www/*/phpmyadmin", "/var/www/html/*/phpmyadmin",
            "/opt/phpmyadmin", "/opt/*/phpmyadmin", "/www/server/phpmyadmin", "/www/server/phpmyadmin/*",
            "/www/wwwroot/*/phpmyadmin", "/usr/local/phpmyadmin")  # fmt: skip
MYSQL_PREFIXES = ("/usr/local/mysql", "/usr/local/mysql-*", "/opt/mysql", "/opt/mysql-*", "/www/server/mysql",
                  "/usr/local/mariadb", "/opt/mariadb")  # fmt: skip
LIMIT = 1024 * 1024


def _first(ctx: ScanContext, candidates: list[str], pattern: re.Pattern[str]) -> tuple[str, int, str] | None:
    for path in candidates:
        text = ctx.read_text(path, LIMIT) if ctx.is_file(path) else None
        if not text:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if m := pattern.search(line):
                return path, number, m.group(1)
    return None


def _ci_glob(ctx: ScanContext, pattern: str) -> list[str]:
    """glob with the last component matched case-insensitively (phpMyAdmin, phpmyadmin, PHPMYADMIN)."""
    head, tail = posixpath.split(pattern)
    tail = "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in tail)
    return ctx.glob(posixpath.join(head, tail))


def from_paths(ctx: ScanContext) -> list[Seen]:
    seen: list[Seen] = []
    version_h = re.compile(r"#\s*define\s+PHP_VERSION\s+\"(\d+\.\d+[\w.]*)\"")
    for pattern in PHP_PREFIXES:
        for prefix in ctx.glob(pattern):
            if not ctx.is_dir(prefix):
                continue
            found = _first(ctx, [f"{prefix}/include/php/main/php_version.h"], version_h)
            if found:
                path, number, version = found
                seen.append(Seen("php", line_of("php", version) or version, Evidence(path, number, f"PHP {version}")))
                continue
            name = posixpath.basename(prefix)
            m = re.fullmatch(r"(\d)(\d)", name) if prefix.startswith("/www/server/php/") else None
            binary = next(
                (b for b in (f"{prefix}/bin/php", f"{prefix}/sbin/php-fpm", f"{prefix}/bin/lsphp") if ctx.exists(b)),
                None,
            )
            if m and binary:  # the BT panel names each PHP directory by its line: /www/server/php/56
                seen.append(
                    Seen(
                        "php",
                        f"{m.group(1)}.{m.group(2)}",
                        Evidence(prefix, None, f"BT panel PHP {m.group(1)}.{m.group(2)} ({binary})"),
                    )
                )
    pma_version = re.compile(r"(?:VERSION\s*=\s*'|'PMA_VERSION',\s*'|^\s*Version\s+)(\d+\.\d+[\w.-]*)")
    pma_seen: set[str] = set()
    pma_package = "phpmyadmin" in ctx.package_names
    for pattern in PMA_DIRS:
        for directory in _ci_glob(ctx, pattern):
            if directory in pma_seen or not ctx.is_dir(directory):
                continue
            if pma_package and directory == "/usr/share/phpmyadmin":
                continue  # the package's own files; its version is judged from the package
            pma_seen.add(directory)
            found = _first(ctx, [f"{directory}/libraries/classes/Version.php", f"{directory}/libraries/classes/Config.php",
                                 f"{directory}/libraries/Config.php", f"{directory}/libraries/Config.class.php",
                                 f"{directory}/README", f"{directory}/version.pl"], pma_version)  # fmt: skip
            if found is None and ctx.is_file(f"{directory}/version.pl"):
                found = _first(ctx, [f"{directory}/version.pl"], re.compile(r"^\s*(\d+\.\d+[\w.]*)"))
            if found:
                path, number, version = found
                if line := line_of("phpmyadmin", version):
                    seen.append(Seen("phpmyadmin", line, Evidence(path, number, f"phpMyAdmin {version}")))
    mysql_version = re.compile(r"(?:MySQL source\s+|MYSQL_SERVER_VERSION\s+\"|MARIADB_BASE_VERSION\s+\"mariadb-|"
                               r"^version[:=]\s*)(\d+\.\d+\.\d+)")  # fmt: skip
    for pattern in MYSQL_PREFIXES:
        for prefix in ctx.glob(pattern):
            if not ctx.is_dir(prefix) or ctx.readlink(prefix):
                continue
            candidates = [f"{prefix}/docs/INFO_SRC", f"{prefix}/docs/INFO_BIN", f"{prefix}/include/mysql_version.h",
                          f"{prefix}/include/mysql/mysql_version.h", f"{prefix}/include/mysql/mariadb_version.h"]  # fmt: skip
            found = _first(ctx, candidates, mysql_version)
            if found:
                path, number, version = found
                text = ctx.read_text(path, LIMIT) or ""
                product = "mariadb" if "mariadb" in text.lower() or "mariadb" in prefix else "mysql"
                line = line_of(product, version)
                if line:
                    seen.append(Seen(product, line, Evidence(path, number, f"{NAMES[product]} {version}")))
    return seen


@check("eol_software")
def eol_software(ctx: ScanContext) -> Iterator[Finding]:
    groups: dict[tuple[str, str], list[Seen]] = {}
    for item in [*from_packages(ctx), *from_paths(ctx)]:
        groups.setdefault((item.product, item.line), []).append(item)
    os_last = date.fromisoformat(ctx.os.eol_date) if ctx.os and ctx.os.eol_date and ctx.os.eol is False else None
    for (product, line), items in sorted(groups.items()):
        eol, last_day = lookup(product, line, ctx.today)
        if not eol:
            continue
        # The distribution's own packages are supported as long as the (not end-of-life) release is.
        remaining = [i for i in items if not (i.distro_supported and os_last and ctx.today <= os_last)]
        if not remaining:
            continue
        name = NAMES[product]
        since = f" since {last_day}" if last_day else ""
        yield Finding(
            check_id=f"eol_software.{product}",
            severity="high",
            title=f"{name} {line} is end-of-life{since}: no more security fixes",
            evidence=[i.evidence for i in remaining][:20],
            fix=FIXES[product],
            family="eol_software",
            data={"product": product, "line": line, "eol_date": last_day},
        )
