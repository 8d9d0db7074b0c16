"""Reading a daemon's settings: its command line at boot, option words, INI files, truthy values, versions."""

from __future__ import annotations

import re
import shlex
from typing import Any

from shelf.scanning.engine.boot import Boot, Started
from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence

CONF_LIMIT = 1024 * 1024


def major_version(ctx: ScanContext, names: tuple[str, ...]) -> tuple[int, int] | None:
    """(major, minor) of the first installed package of `names`, epoch and revision ignored."""
    for package in ctx.packages:
        if package.name in names:
            m = re.match(r"^(?:\d+:)?(\d+)(?:\.(\d+))?", package.version)
            if m:
                return int(m.group(1)), int(m.group(2) or 0)
    return None


def truthy(value: Any) -> bool:
    return str(value).strip().strip("\"'").lower() in ("1", "yes", "true", "on", "enabled")


def find_line(text: str, pattern: str) -> int | None:
    """The 1-based line of the last uncommented line matching `pattern` (case-insensitive)."""
    found = None
    for number, line in enumerate(text.splitlines(), start=1):
        if re.search(pattern, line.split("#", 1)[0], re.IGNORECASE):
            found = number
    return found


def split_words(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=True)
    except ValueError:
        return text.split()


def options(argv: list[str]) -> dict[str, str | None]:
    """`--key value`, `--key=value` and bare `--flag` options of a command line (later ones win)."""
    result: dict[str, str | None] = {}
    i = 0
    while i < len(argv):
        word = argv[i]
        if word.startswith("--"):
            key, sep, value = word[2:].partition("=")
            key = key.replace("-", "_").lower()
            if sep:
                result[key] = value
            elif i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                result[key] = argv[i + 1]
                i += 1
            else:
                result[key] = None
        i += 1
    return result


def command(b: Boot, started: Started) -> tuple[list[str], Evidence | None]:
    if started.how in ("systemd", "preset"):
        found = b.exec_start(started.unit)
        if found:
            argv, ev = found
            instance = started.unit.split("@", 1)[1].rsplit(".", 1)[0] if "@" in started.unit else ""
            return [a.replace("%i", instance).replace("%I", instance) for a in argv], ev
    return [], None


def ini_values(ctx: ScanContext, files: list[str]) -> dict[tuple[str, str], tuple[str, Evidence]]:
    found: dict[tuple[str, str], tuple[str, Evidence]] = {}
    for path in files:
        section = ""
        for number, raw in enumerate((ctx.read_text(path, CONF_LIMIT) or "").splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith((";", "#")):
                continue
            if line.startswith("["):
                section = line.strip("[]").strip().lower()
                continue
            key, sep, value = line.partition("=")
            if sep:
                found[(section, key.strip().lower())] = (value.strip(), Evidence(path, number, line[:200]))
    return found
