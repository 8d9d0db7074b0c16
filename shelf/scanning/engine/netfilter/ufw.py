"""ufw: DEFAULT_INPUT_POLICY of /etc/default/ufw and the `### tuple ###` rules of /etc/ufw/user.rules."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from shelf.scanning.engine.model import Evidence
from shelf.scanning.engine.netfilter.base import Decision, port_in

if TYPE_CHECKING:
    from shelf.scanning.engine.context import ScanContext


class Ufw:
    def __init__(self, ctx: ScanContext):
        self.policy = "DROP"
        self.policy_at = Evidence("/etc/default/ufw", None, "DEFAULT_INPUT_POLICY unset (ufw's default is DROP)")
        text = ctx.read_text("/etc/default/ufw", 64 * 1024) or ""
        for number, line in enumerate(text.splitlines(), start=1):
            m = re.match(r'^\s*DEFAULT_INPUT_POLICY\s*=\s*"?(\w+)"?', line)
            if m:
                self.policy = m.group(1).upper()
                self.policy_at = Evidence("/etc/default/ufw", number, line.strip())
        self.rules: list[tuple[list[str], Evidence]] = []
        rules = ctx.read_text("/etc/ufw/user.rules", 1024 * 1024) or ""
        for number, line in enumerate(rules.splitlines(), start=1):
            if line.startswith("### tuple ###"):
                self.rules.append((line.split()[3:], Evidence("/etc/ufw/user.rules", number, line.strip()[:200])))

    def decide(self, port: int, proto: str) -> Decision:
        for fields, where in self.rules:
            if len(fields) < 7:
                continue
            action, rproto, dport, _dst, _sport, src, direction = *fields[:6], fields[-1]
            if action.startswith("route:") or not direction.startswith("in"):
                continue
            if rproto not in ("any", proto):
                continue
            if dport != "any" and not port_in(dport.replace(":", "-").split(","), port, {}, None):
                continue
            text = f"{port}/{proto}: {where.text}"
            base = action.split("_", 1)[0]
            if src not in ("0.0.0.0/0", "any", "::/0"):
                continue  # allowed or denied for some sources only
            if base in ("allow", "limit"):
                return Decision("accept", Evidence(where.path, where.line, text))
            if base in ("deny", "reject") and direction == "in":
                return Decision("drop", Evidence(where.path, where.line, text))
        action = "drop" if self.policy in ("DROP", "REJECT") else "accept"
        return Decision(
            action, Evidence(self.policy_at.path, self.policy_at.line, f"default incoming policy {self.policy}")
        )
