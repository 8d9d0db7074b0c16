"""Samba: smb.conf's `interfaces` / `bind interfaces only`, and guest shares."""

from __future__ import annotations

from collections.abc import Iterator

from shelf.scanning.engine import ini
from shelf.scanning.engine.boot import Boot
from shelf.scanning.engine.checks.daemons.config import truthy
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
    conf = ini.read(ctx, path, dialect="samba")
    glob = {p.key: (p.value, Evidence(p.path, p.line, p.text)) for p in conf.params if p.section == "global"}
    guest_shares: list[Evidence] = []
    for share in conf.section_names():
        # `guest ok` and `public` are one parameter: the last one written wins
        guest = next((p for p in reversed(conf.params) if p.section == share and p.key in ("guestok", "public")), None)
        if guest is not None and truthy(guest.value):
            guest_shares.append(Evidence(guest.path, guest.line, f"[{guest.shown_section}] {guest.text}"[:200]))
    addresses = ["*"]
    listen = Evidence(path, None, "`bind interfaces only` is not set: Samba listens on all interfaces")
    if "bindinterfacesonly" in glob and truthy(glob["bindinterfacesonly"][0]) and "interfaces" in glob:
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
