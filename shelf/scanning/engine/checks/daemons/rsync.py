"""The rsync daemon: rsyncd.conf's address and port, and modules without `auth users` or `hosts allow`."""

from __future__ import annotations

import re
from collections.abc import Iterator

from shelf.scanning.engine import boot
from shelf.scanning.engine.boot import Boot
from shelf.scanning.engine.checks.daemons.config import CONF_LIMIT
from shelf.scanning.engine.checks.daemons.exposure import Exposure, exposed, is_wildcard
from shelf.scanning.engine.checks.daemons.inetd import inetd
from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence


def detect(ctx: ScanContext, b: Boot) -> Iterator[Exposure]:
    path = "/etc/rsyncd.conf"
    text = ctx.read_text(path, CONF_LIMIT)
    started = b.started(("rsync.service", "rsyncd.service", "rsyncd.socket", "rsyncd@.service"), (), ("rsyncd",))
    if not started and b.sysv(("rsync",)):
        env = boot.read_env_file(ctx, "/etc/default/rsync")
        if env.get("RSYNC_ENABLE", "false").lower() == "true":
            started = b.sysv(("rsync",))
    addresses = ["*"]
    if not started:
        via = inetd(ctx, b, ("rsync",))
        if via:
            started, addresses = via
    if not started or text is None:
        return  # the daemon refuses to start without its configuration (Debian's unit has ConditionPathExists)
    glob: dict[str, tuple[str, Evidence]] = {}
    modules: dict[str, dict[str, tuple[str, Evidence]]] = {}
    headers: dict[str, Evidence] = {}
    current = glob
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        m = re.match(r"^\[(.+)\]$", line)
        if m:
            current = modules.setdefault(m.group(1).strip(), {})
            headers.setdefault(m.group(1).strip(), Evidence(path, number, f"{line} has no `auth users`"))
            continue
        key, sep, value = line.partition("=")
        if sep:
            current[" ".join(key.lower().split())] = (value.strip(), Evidence(path, number, line[:200]))
    port = int(glob["port"][0]) if "port" in glob and glob["port"][0].isdigit() else 873
    listen = Evidence(path, None, "no `address`: rsync listens on all interfaces")
    if "address" in glob:
        addresses = [glob["address"][0]]
        listen = glob["address"][1]
    if not exposed(addresses):
        return
    open_modules = []
    for name, params in modules.items():
        allow = params.get("hosts allow") or glob.get("hosts allow")
        hosts = allow[0].replace(",", " ").split() if allow else []
        restricted = bool(hosts) and not any(is_wildcard(h) or h.endswith("/0") for h in hosts)
        if "auth users" not in params and "auth users" not in glob and not restricted:
            open_modules.append(name)
    fix = "Set `auth users` and a `secrets file` for every module in /etc/rsyncd.conf, bind it to loopback (`address = 127.0.0.1`), or do not enable the rsync daemon."
    if open_modules:
        site = ("rsync", "rsync daemon", started, [(port, "tcp")], addresses, listen)
        yield Exposure(
            *site,
            False,
            f"module(s) without `auth users` or `hosts allow`: {', '.join(open_modules)}",
            [headers[n] for n in open_modules[:5]],
            fix,
        )
    else:
        site = ("rsync", "rsync daemon", started, [(port, "tcp")], addresses, listen)
        yield Exposure(*site, True, "every module requires `auth users` or is limited by `hosts allow`", [], fix)
