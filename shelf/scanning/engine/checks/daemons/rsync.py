"""The rsync daemon: rsyncd.conf's address and port, and modules without `auth users` or `hosts allow`."""

from __future__ import annotations

from collections.abc import Iterator

from shelf.scanning.engine import boot, ini
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
    conf = ini.read(ctx, path, dialect="rsync")
    glob = {p.key: (p.value, Evidence(p.path, p.line, p.text)) for p in conf.params if p.section == ini.GLOBAL}
    modules: dict[str, dict[str, tuple[str, Evidence]]] = {}  # by loadparm's name; reopened modules merged
    headers: dict[str, Evidence] = {}
    names: dict[str, str] = {}
    for section in conf.sections:
        if section.name != ini.GLOBAL and section.name not in modules:
            modules[section.name] = {}
            names[section.name] = section.shown
            headers[section.name] = Evidence(section.path, section.line, f"{section.text} has no `auth users`")
    for p in conf.params:
        if p.section != ini.GLOBAL:
            modules[p.section][p.key] = (p.value, Evidence(p.path, p.line, p.text))
    port = int(glob["port"][0]) if "port" in glob and glob["port"][0].isdigit() else 873
    listen = Evidence(path, None, "no `address`: rsync listens on all interfaces")
    if "address" in glob:
        addresses = [glob["address"][0]]
        listen = glob["address"][1]
    if not exposed(addresses):
        return
    open_modules = []
    for name, params in modules.items():
        allow = params.get("hostsallow") or glob.get("hostsallow")
        hosts = allow[0].replace(",", " ").split() if allow else []
        restricted = bool(hosts) and not any(is_wildcard(h) or h.endswith("/0") for h in hosts)
        if "authusers" not in params and "authusers" not in glob and not restricted:
            open_modules.append(name)
    fix = "Set `auth users` and a `secrets file` for every module in /etc/rsyncd.conf, bind it to loopback (`address = 127.0.0.1`), or do not enable the rsync daemon."
    if open_modules:
        site = ("rsync", "rsync daemon", started, [(port, "tcp")], addresses, listen)
        yield Exposure(
            *site,
            False,
            f"module(s) without `auth users` or `hosts allow`: {', '.join(names[n] for n in open_modules)}",
            [headers[n] for n in open_modules[:5]],
            fix,
        )
    else:
        site = ("rsync", "rsync daemon", started, [(port, "tcp")], addresses, listen)
        yield Exposure(*site, True, "every module requires `auth users` or is limited by `hosts allow`", [], fix)
