"""What a daemon detector reports (an `Exposure`), and where an address listens: loopback, all interfaces."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from shelf.scanning.engine.boot import Started
from shelf.scanning.engine.model import Evidence

ALL = "all interfaces"
ANY_V4 = "0.0.0.0"  # noqa: S104  (an address to recognise, not one Shelf binds)


@dataclass
class Exposure:
    key: str
    name: str
    started: Started
    ports: list[tuple[int, str]]
    addresses: list[str]
    listen: Evidence
    auth: bool | None  # True: on; False: anyone may connect; None: not applicable or unknown
    auth_text: str
    auth_at: list[Evidence] = field(default_factory=list)
    fix: str = ""


def is_loopback(address: str) -> bool:
    a = address.strip().strip('"').lstrip("-").strip("[]")
    if a.lower() in ("localhost", "lo", "lo0", "ip6-localhost", "ip6-loopback"):
        return True
    a = a.split("%", 1)[0]
    if "/" in a:
        a = a.split("/", 1)[0]
    try:
        return ipaddress.ip_address(a).is_loopback
    except ValueError:
        return False


def is_wildcard(address: str) -> bool:
    a = address.strip().strip('"').lstrip("-").strip("[]")
    return a in ("", "*", ANY_V4, "::", "::*", "0", "0:0:0:0:0:0:0:0", "any", "*:*")


def exposed(addresses: list[str]) -> bool:
    return any(not is_loopback(a) for a in addresses)


def where(addresses: list[str]) -> str:
    if any(is_wildcard(a) for a in addresses):
        return ALL
    return ", ".join(a for a in addresses if not is_loopback(a))
