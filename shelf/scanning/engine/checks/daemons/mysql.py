"""MySQL / MariaDB: option files of the server sections, `bind-address`, skip-networking, skip-grant-tables."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from shelf.scanning.engine.boot import Boot
from shelf.scanning.engine.checks.daemons.config import CONF_LIMIT, command, options, truthy
from shelf.scanning.engine.checks.daemons.exposure import Exposure, exposed
from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence

MYSQL_SECTIONS = re.compile(r"^(mysqld|server|mariadb|mariadbd)(-[\d.]+)?$|^client-server$|^galera$")


def _without_comment(line: str) -> str:
    """The line up to a `#` outside quotes, like mysys' remove_end_comment (a comment may start mid-line)."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return line[:i].rstrip()
    return line


def _mysql_options(ctx: ScanContext, path: str, found: dict[str, tuple[str | None, Evidence]], depth: int = 0) -> None:
    text = ctx.read_text(path, CONF_LIMIT)
    if text is None or depth > 6:
        return
    section = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("!includedir"):
            directory = line.split(None, 1)[1].strip() if len(line.split(None, 1)) > 1 else ""
            for name in ctx.listdir(directory):
                if name.endswith(".cnf"):
                    _mysql_options(ctx, posixpath.join(directory, name), found, depth + 1)
            continue
        if line.startswith("!include"):
            parts = line.split(None, 1)
            if len(parts) > 1:
                _mysql_options(ctx, parts[1].strip(), found, depth + 1)
            continue
        if line.startswith("["):  # what follows `]` is ignored, like the server does
            section = line[1:].split("]", 1)[0].strip().lower()
            continue
        if not MYSQL_SECTIONS.match(section):
            continue
        key, sep, value = _without_comment(line).partition("=")
        key = key.strip().lower().replace("-", "_")
        key = key.removeprefix("loose_")
        if sep:
            value = value.strip().strip("\"'")
        found[key] = (value if sep else None, Evidence(path, number, line[:200]))


def detect(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
    started = b.started(
        ("mariadb.service", "mysql.service", "mysqld.service", "mariadb@.service", "mysql@.service"),
        ("mariadb", "mysql", "mysqld"),
        ("mariadb", "mysql"),
    )
    if not started:
        return
    argv, argv_at = command(b, started)
    cli = options(argv[1:])
    found: dict[str, tuple[str | None, Evidence]] = {}
    files = [cli["defaults_file"]] if cli.get("defaults_file") else ["/etc/my.cnf", "/etc/mysql/my.cnf"]
    for path in files:
        if path:
            _mysql_options(ctx, path, found)
    if argv_at:
        for key, value in cli.items():
            found[key.removeprefix("loose_")] = (value, argv_at)
    skip = found.get("skip_networking")
    if skip and (skip[0] is None or truthy(skip[0])):
        return
    port = int(found["port"][0]) if found.get("port") and str(found["port"][0]).isdigit() else 3306
    if "bind_address" in found and found["bind_address"][0]:
        addresses = [a.strip() for a in str(found["bind_address"][0]).split(",")]
        listen = found["bind_address"][1]
    else:
        addresses = ["*"]
        listen = Evidence(
            files[0] if ctx.is_file(files[0] or "") else "/etc/mysql/my.cnf",
            None,
            "bind-address is not set: the server listens on all interfaces",
        )
    if not exposed(addresses):
        return
    fix = (
        "Set `bind-address = 127.0.0.1` in the [mysqld] section (Debian's 50-server.cnf does), or keep 3306 closed "
        "in the firewall and let buyers open it; never run with skip-grant-tables."
    )
    grants = found.get("skip_grant_tables")
    if grants and (grants[0] is None or truthy(grants[0])):
        site = ("mysql", "MySQL/MariaDB", started, [(port, "tcp")], addresses, listen)
        yield Exposure(*site, False, "skip-grant-tables: every client is let in without a password", [grants[1]], fix)
        return
    site = ("mysql", "MySQL/MariaDB", started, [(port, "tcp")], addresses, listen)
    yield Exposure(*site, True, "the server checks account passwords", [], fix)
