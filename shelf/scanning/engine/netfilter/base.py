"""What every firewall evaluator shares: its `Decision`, service names and port ranges."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shelf.scanning.engine.model import Evidence

if TYPE_CHECKING:
    from shelf.scanning.engine.context import ScanContext

MAX_JUMP_DEPTH = 8
# Service names nft and firewalld accept for ports (a fallback when the image has no /etc/services).
KNOWN_SERVICES = {
    "ssh": 22, "http": 80, "https": 443, "mysql": 3306, "ms-sql-s": 1433, "ms-sql-m": 1434, "redis": 6379,
    "rsync": 873, "login": 513, "microsoft-ds": 445, "netbios-ssn": 139, "netbios-ns": 137, "memcache": 11211,
    "mongodb": 27017, "http-alt": 8080, "webcache": 8080, "domain": 53, "smtp": 25, "ftp": 21, "postgresql": 5432,
}  # fmt: skip


@dataclass
class Decision:
    action: str  # "accept" or "drop"
    evidence: Evidence


def etc_services(ctx: ScanContext) -> dict[str, int]:
    services = dict(KNOWN_SERVICES)
    text = ctx.read_text("/etc/services", 512 * 1024) or ""
    for line in text.splitlines():
        m = re.match(r"^([\w.+-]+)\s+(\d+)/(tcp|udp)((?:\s+[\w.+-]+)*)", line)
        if m:
            for name in [m.group(1), *m.group(4).split()]:
                services.setdefault(name, int(m.group(2)))
    return services


def port_values(
    values: list[str], services: dict[str, int], sets: dict[str, list[str]] | None = None
) -> list[tuple[int, int]] | None:
    """Port ranges from nft/iptables values (`22`, `6000-7000`, `6000:7000`, `ssh`, `@set`); None if unknown."""
    ranges: list[tuple[int, int]] = []
    for value in values:
        value = value.strip().strip('"')
        if not value or value in (",", "{", "}"):
            continue
        if value.startswith("@"):
            elements = (sets or {}).get(value[1:])
            if elements is None:
                return None
            inner = port_values(elements, services, None)
            if inner is None:
                return None
            ranges += inner
            continue
        if _port(value, services) is not None:
            low = high = _port(value, services)
        else:
            m = re.fullmatch(r"(\w[\w.+]*)[-:](\w[\w.+]*)", value)
            if not m:
                return None
            low, high = _port(m.group(1), services), _port(m.group(2), services)
        if low is None or high is None:
            return None
        ranges.append((low, high))
    return ranges


def _port(value: str, services: dict[str, int]) -> int | None:
    if value.isdigit():
        return int(value)
    return services.get(value)


def port_in(values: list[str], port: int, services: dict[str, int], sets: dict[str, list[str]] | None) -> bool | None:
    ranges = port_values(values, services, sets)
    if ranges is None:
        return None
    return any(low <= port <= high for low, high in ranges)
