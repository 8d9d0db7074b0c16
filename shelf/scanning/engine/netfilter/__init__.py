"""Would the firewall the image starts at boot let a new connection from the internet reach a port?

A bounded evaluator, not a packet filter: it follows the input path of one new IPv4 connection (arbitrary
source address, arriving on a non-loopback interface) to `port`/`proto` through what is configured and enabled
at boot, and reports the first verdict with the line that decides it:

- nftables: /etc/nftables.conf (and /etc/sysconfig/nftables.conf), includes, `define`s, named sets; base chains
  of `hook input` in `inet`/`ip` tables, their policy, rules matching on ports, protocol, conntrack state,
  input interface, source address; jumps, gotos and verdict maps;
- iptables-persistent / iptables-services: the `*filter` INPUT chain of rules.v4 or /etc/sysconfig/iptables;
- ufw: ENABLED=yes, DEFAULT_INPUT_POLICY and the `### tuple ###` rules of /etc/ufw/user.rules;
- firewalld: the default zone's target, services, ports and rich rules.

When it cannot tell (a condition it does not model), an accepting rule is assumed to match and a dropping one
not to: the evaluator errs towards "not blocked". A connection is blocked when any active firewall drops it.

One module per firewall (nftables.py, iptables.py, ufw.py, firewalld.py), each with a `decide(port, proto)`;
base.py holds what they share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shelf.scanning.engine import boot
from shelf.scanning.engine.model import Evidence
from shelf.scanning.engine.netfilter.base import etc_services
from shelf.scanning.engine.netfilter.firewalld import Firewalld
from shelf.scanning.engine.netfilter.iptables import IptablesSave
from shelf.scanning.engine.netfilter.nftables import Nft
from shelf.scanning.engine.netfilter.ufw import Ufw

if TYPE_CHECKING:
    from shelf.scanning.engine.context import ScanContext


@dataclass
class Verdict:
    blocked: bool
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return self.evidence[0].text if self.evidence else ""


class Firewalls:
    """The firewalls an image starts at boot, and what they would do with a new connection to a port."""

    def __init__(self, ctx: ScanContext):
        self.ctx = ctx
        self.services = etc_services(ctx)
        self.active: list[tuple[str, object]] = []
        started = boot.cached(ctx)
        for conf in ("/etc/nftables.conf", "/etc/sysconfig/nftables.conf"):
            if ctx.is_file(conf) and (started.systemd(("nftables.service",)) or started.openrc(("nftables",))):
                self.active.append(("nftables", Nft(ctx, conf, self.services)))
        for path, units, pkgs, openrc in (
            (
                "/etc/iptables/rules.v4",
                ("netfilter-persistent.service",),
                ("iptables-persistent", "netfilter-persistent"),
                ("iptables",),
            ),
            ("/etc/sysconfig/iptables", ("iptables.service",), (), ()),
            ("/etc/iptables/rules-save", (), (), ("iptables",)),
        ):
            if ctx.is_file(path) and (
                started.systemd(units) or set(pkgs) & ctx.package_names or started.openrc(openrc)
            ):
                self.active.append(("iptables", IptablesSave(ctx, path)))
        ufw = ctx.read_text("/etc/ufw/ufw.conf", 64 * 1024)
        if ufw and re.search(r"^\s*ENABLED\s*=\s*\"?yes\"?\s*$", ufw, re.MULTILINE | re.IGNORECASE):
            self.active.append(("ufw", Ufw(ctx)))
        if started.systemd(("firewalld.service",)):
            self.active.append(("firewalld", Firewalld(ctx, self.services)))

    def verdict(self, port: int, proto: str = "tcp") -> Verdict:
        if not self.active:
            return Verdict(
                False, [Evidence("/etc", None, "no firewall (nftables, iptables, ufw, firewalld) starts at boot")]
            )
        accepted: list[Evidence] = []
        for name, firewall in self.active:
            decision = firewall.decide(port, proto)  # type: ignore[attr-defined]
            ev = decision.evidence
            ev = Evidence(ev.path, ev.line, f"{name}: {ev.text}"[:300])
            if decision.action == "drop":
                return Verdict(True, [ev])
            accepted.append(ev)
        return Verdict(False, accepted)


def cached(ctx: ScanContext) -> Firewalls:
    if "firewalls" not in ctx.cache:
        ctx.cache["firewalls"] = Firewalls(ctx)
    return ctx.cache["firewalls"]
