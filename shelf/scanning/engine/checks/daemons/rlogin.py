"""rlogin: started by systemd or inetd/xinetd; clear-text and .rhosts trust, so always worth a finding."""

from __future__ import annotations

from collections.abc import Iterator

from shelf.scanning.engine.boot import Boot
from shelf.scanning.engine.checks.daemons.exposure import Exposure, exposed
from shelf.scanning.engine.checks.daemons.inetd import inetd
from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence


def detect(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
    started = b.systemd(("rlogin.socket", "rlogin@.service"))
    addresses = ["*"]
    if not started:
        via = inetd(ctx, b, ("login", "rlogin"))
        if not via:
            return
        started, addresses = via
    if not exposed(addresses):
        return
    listen = Evidence(started.evidence.path, started.evidence.line, "rlogin listens on all interfaces")
    fix = "Remove rsh-server / rlogind: rlogin sends passwords in clear text and trusts .rhosts; use SSH."
    site = ("rlogin", "rlogin", started, [(513, "tcp")], addresses, listen)
    yield Exposure(*site, None, "rlogin trusts .rhosts/hosts.equiv and sends passwords in clear text", [], fix)
