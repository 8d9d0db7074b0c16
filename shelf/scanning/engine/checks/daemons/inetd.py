"""Services that inetd or xinetd starts on demand (rlogin, rsync): enabled entries and their bind address."""

from __future__ import annotations

import re

from shelf.scanning.engine.boot import Boot, Started
from shelf.scanning.engine.checks.daemons.config import CONF_LIMIT
from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence


def inetd(ctx: ScanContext, b: Boot, names: tuple[str, ...]) -> tuple[Started, list[str]] | None:
    """(how, addresses) when inetd or xinetd serves one of `names` (the /etc/services name of the port)."""
    if b.started(
        ("inetd.service", "openbsd-inetd.service", "inetutils-inetd.service"),
        ("openbsd-inetd", "inetutils-inetd", "inetd"),
        ("inetd",),
    ):
        text = ctx.read_text("/etc/inetd.conf", CONF_LIMIT) or ""
        for number, line in enumerate(text.splitlines(), start=1):
            fields = line.split()
            if fields and not line.lstrip().startswith("#") and fields[0].split(":")[-1] in names:
                address = fields[0].rsplit(":", 1)[0] if ":" in fields[0] else "*"
                return Started("inetd", fields[0], Evidence("/etc/inetd.conf", number, line.strip()[:200])), [address]
    if b.started(("xinetd.service",), ("xinetd",), ("xinetd",)):
        files = ["/etc/xinetd.conf"] + [f"/etc/xinetd.d/{n}" for n in ctx.listdir("/etc/xinetd.d")]
        for path in files:
            text = ctx.read_text(path, CONF_LIMIT) or ""
            for m in re.finditer(r"^\s*service\s+(\S+)\s*\{(.*?)\}", text, re.MULTILINE | re.DOTALL):
                if m.group(1) not in names:
                    continue
                body = m.group(2)
                if re.search(r"^\s*disable\s*=\s*yes", body, re.MULTILINE | re.IGNORECASE):
                    continue
                bind = re.search(r"^\s*(?:bind|interface)\s*=\s*(\S+)", body, re.MULTILINE)
                line = text.count("\n", 0, m.start()) + 1
                ev = Evidence(path, line, f"service {m.group(1)} (xinetd, not disabled)")
                return Started("xinetd", m.group(1), ev), [bind.group(1) if bind else "*"]
    return None
