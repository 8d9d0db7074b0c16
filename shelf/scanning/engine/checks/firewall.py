"""Family `firewall`: some host firewall must be configured and started at boot."""

from __future__ import annotations

import re
from collections.abc import Iterator

from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence, Finding
from shelf.scanning.engine.registry import check

NFT_SKIP = re.compile(r"^(flush|table|chain|type\s|include|define|set\s|map\s|elements|}|{|#!)")
NFT_RULE_WORDS = re.compile(r"\b(accept|drop|reject|jump|goto|counter|log|masquerade|dnat|snat|return)\b")


def nft_rules(ctx: ScanContext, path: str, depth: int = 0) -> int:
    """Rules (and drop policies) in an nft script and the files it includes."""
    text = ctx.read_text(path, 1024 * 1024)
    if not text or depth > 3:
        return 0
    count = 0
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r'^include\s+"([^"]+)"', line)
        if m:
            for included in ctx.glob(m.group(1)):
                count += nft_rules(ctx, included, depth + 1)
            continue
        if re.search(r"\bpolicy\s+drop\b", line):
            count += 1
            continue
        if NFT_SKIP.match(line):
            continue
        if NFT_RULE_WORDS.search(line):
            count += 1
    return count


def iptables_rules(ctx: ScanContext, path: str) -> int:
    text = ctx.read_text(path, 4 * 1024 * 1024) or ""
    return sum(1 for line in text.splitlines() if line.startswith("-A ") or re.match(r"^:\S+ (DROP|REJECT)\b", line))


def firewall_sources(ctx: ScanContext) -> tuple[list[str], list[str]]:
    """(what configures a firewall, what was looked at and found lacking)."""
    found: list[str] = []
    lacking: list[str] = []
    for conf in ("/etc/nftables.conf", "/etc/sysconfig/nftables.conf"):
        if ctx.is_file(conf):
            rules = nft_rules(ctx, conf)
            enabled = ctx.unit_enabled("nftables.service") or ctx.openrc_enabled("nftables")
            if rules and enabled:
                found.append(f"{conf}: {rules} rule(s), nftables.service enabled")
            else:
                lacking.append(f"{conf}: {rules} rule(s), nftables service {'enabled' if enabled else 'not enabled'}")
    for path, units, pkgs in (
        ("/etc/iptables/rules.v4", ("netfilter-persistent.service",), ("iptables-persistent", "netfilter-persistent")),
        ("/etc/sysconfig/iptables", ("iptables.service",), ()),
        ("/etc/iptables/rules-save", (), ()),
    ):
        if ctx.is_file(path):
            rules = iptables_rules(ctx, path)
            loaded = (
                any(ctx.unit_enabled(u) for u in units)
                or bool(set(pkgs) & ctx.package_names)
                or ctx.openrc_enabled("iptables")
            )
            if rules and loaded:
                found.append(f"{path}: {rules} rule(s)")
            else:
                lacking.append(f"{path}: {rules} rule(s), {'loaded' if loaded else 'nothing loads it at boot'}")
    ufw = ctx.read_text("/etc/ufw/ufw.conf", 64 * 1024)
    if ufw is not None:
        if re.search(r"^\s*ENABLED\s*=\s*yes\s*$", ufw, re.MULTILINE | re.IGNORECASE):
            found.append("/etc/ufw/ufw.conf: ENABLED=yes")
        else:
            lacking.append("/etc/ufw/ufw.conf: not ENABLED=yes")
    if ctx.unit_enabled("firewalld.service"):
        found.append("firewalld.service enabled")
    elif ctx.exists("/usr/lib/systemd/system/firewalld.service") or ctx.exists("/lib/systemd/system/firewalld.service"):
        lacking.append("firewalld installed but not enabled")
    return found, lacking


@check("firewall")
def firewall_configured(ctx: ScanContext) -> Iterator[Finding]:
    if ctx.os is None:
        return
    found, lacking = firewall_sources(ctx)
    if found:
        return
    evidence = [
        Evidence(path=item.split(":", 1)[0] if item.startswith("/") else "/etc", line=None, text=item)
        for item in lacking
    ]
    if not evidence:
        evidence = [
            Evidence(path="/etc", line=None, text="no nftables, iptables, ufw or firewalld configuration found")
        ]
    yield Finding(
        check_id="firewall.none",
        severity="medium",
        title="No host firewall is configured to start at boot",
        evidence=evidence,
        fix=(
            "Configure a firewall that allows only the ports the product needs (e.g. /etc/nftables.conf with a "
            "drop policy and `systemctl enable nftables`, or `ufw default deny incoming && ufw allow 22/tcp && ufw enable`)."
        ),
        family="firewall",
    )
