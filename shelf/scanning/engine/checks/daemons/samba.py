"""Samba: smb.conf's `interfaces` / `bind interfaces only`, and guest shares."""

from __future__ import annotations

import re
from collections.abc import Iterator

from shelf.scanning.engine.boot import Boot
from shelf.scanning.engine.checks.daemons.config import CONF_LIMIT, truthy
from shelf.scanning.engine.checks.daemons.exposure import Exposure, exposed
from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence


def detect(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
    smbd = b.started(
        ("smbd.service", "smb.service", "samba.service", "samba-ad-dc.service"), ("smbd", "samba"), ("samba",)
    )
    nmbd = b.started(("nmbd.service", "nmb.service"), ("nmbd",))
    started = smbd or nmbd
    if not started:
        return
    path = "/etc/samba/smb.conf"
    text = ctx.read_text(path, CONF_LIMIT) or ""
    section = ""
    glob: dict[str, tuple[str, Evidence]] = {}
    guest_shares: list[Evidence] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        m = re.match(r"^\[(.+)\]$", line)
        if m:
            section = m.group(1).strip().lower()
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        key = " ".join(key.lower().split())
        if section == "global":
            glob[key] = (value.strip(), Evidence(path, number, line[:200]))
        elif key in ("guest ok", "public") and truthy(value):
            guest_shares.append(Evidence(path, number, f"[{section}] {line}"[:200]))
    addresses = ["*"]
    listen = Evidence(path, None, "`bind interfaces only` is not set: Samba listens on all interfaces")
    if "bind interfaces only" in glob and truthy(glob["bind interfaces only"][0]) and "interfaces" in glob:
        addresses = glob["interfaces"][0].replace(",", " ").split()
        listen = glob["interfaces"][1]
    if not exposed(addresses):
        return
    ports = ([(139, "tcp"), (445, "tcp")] if smbd else []) + ([(137, "udp")] if nmbd else [])
    fix = "Set `interfaces = lo` and `bind interfaces only = yes` in [global], or keep 137/139/445 closed; do not offer guest shares."
    security = glob.get("security")
    if guest_shares or (security and security[0].lower() == "share"):
        yield Exposure(
            "samba",
            "Samba (SMB)",
            started,
            ports,
            addresses,
            listen,
            False,
            "guest access to shares without a password",
            guest_shares[:5] or [security[1]],
            fix,
        )  # type: ignore[index]
    else:
        site = ("samba", "Samba (SMB)", started, ports, addresses, listen)
        yield Exposure(*site, True, "shares require a user and password", [], fix)
