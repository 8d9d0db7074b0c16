"""iptables-persistent / iptables-services: the `*filter` INPUT chain of an iptables-save file."""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING

from shelf.scanning.engine.model import Evidence
from shelf.scanning.engine.netfilter.base import MAX_JUMP_DEPTH, Decision, port_in

if TYPE_CHECKING:
    from shelf.scanning.engine.context import ScanContext


class IptablesSave:
    def __init__(self, ctx: ScanContext, path: str):
        self.path = path
        self.policies: dict[str, tuple[str, Evidence]] = {}
        self.chains: dict[str, list[tuple[list[str], Evidence]]] = {}
        text = ctx.read_text(path, 4 * 1024 * 1024) or ""
        table = None
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if line.startswith("*"):
                table = line[1:]
                continue
            if table != "filter" or not line or line.startswith("#"):
                continue
            where = Evidence(path, number, line[:200])
            m = re.match(r"^:(\S+)\s+(\S+)", line)
            if m:
                self.policies[m.group(1)] = (m.group(2), where)
                self.chains.setdefault(m.group(1), [])
                continue
            try:
                words = shlex.split(line)
            except ValueError:
                words = line.split()
            if len(words) >= 2 and words[0] in ("-A", "--append", "-I", "--insert"):
                rules = self.chains.setdefault(words[1], [])
                if words[0] in ("-I", "--insert"):
                    numbered = len(words) > 2 and words[2].isdigit()
                    position = int(words[2]) - 1 if numbered else 0
                    rules.insert(position, (words[3:] if numbered else words[2:], where))
                else:
                    rules.append((words[2:], where))

    def decide(self, port: int, proto: str) -> Decision:
        decision = self._run("INPUT", port, proto, 0)
        if decision is not None:
            return decision
        policy, where = self.policies.get("INPUT", ("ACCEPT", Evidence(self.path, None, ":INPUT ACCEPT")))
        action = "drop" if policy.upper() in ("DROP", "REJECT") else "accept"
        return Decision(action, Evidence(where.path, where.line, f"INPUT policy {policy}"))

    def _run(self, chain: str, port: int, proto: str, depth: int) -> Decision | None:
        if depth > MAX_JUMP_DEPTH:
            return None
        for words, where in self.chains.get(chain, []):
            match, target, goto = _ipt_match(words, port, proto)
            if match is False or target is None:
                continue
            if match is None and target in ("DROP", "REJECT"):
                continue
            text = f"{port}/{proto}: {where.text}"
            if target == "ACCEPT":
                return Decision("accept", Evidence(where.path, where.line, text))
            if target in ("DROP", "REJECT"):
                return Decision("drop", Evidence(where.path, where.line, text))
            if target == "RETURN":
                return None
            if target in self.chains:
                result = self._run(target, port, proto, depth + 1)
                if result is not None or goto:
                    return result
        return None


def _ipt_match(words: list[str], port: int, proto: str) -> tuple[bool | None, str | None, bool]:
    result: bool | None = True
    target = None
    goto = False
    negate = False

    def fold(value: bool | None) -> None:
        nonlocal result, negate
        if negate and value is not None:
            value = not value
        negate = False
        if value is False or result is False:
            result = False
        elif value is None:
            result = None

    i = 0
    while i < len(words):
        w = words[i]
        val = words[i + 1] if i + 1 < len(words) else ""
        if w == "!":
            negate = True
            i += 1
            continue
        if val == "!" and w.startswith("-") and w not in ("-j", "-g", "-m"):  # old syntax: -p ! tcp
            negate = True
            val = words[i + 2] if i + 2 < len(words) else ""
            i += 1
        if w in ("-j", "--jump", "-g", "--goto"):
            target, goto = val, w in ("-g", "--goto")
            i += 2
            continue
        if w in ("-m", "--match"):
            i += 2
            continue
        if w in ("-p", "--protocol"):
            fold(val.lower() in (proto, "all", "0", {"tcp": "6", "udp": "17"}[proto]))
        elif w in ("--dport", "--destination-port", "--dports", "--destination-ports"):
            fold(port_in(val.replace(":", "-").split(","), port, {}, None))
        elif w in ("-i", "--in-interface"):
            fold(False if val == "lo" else (True if val in ("+", "") else None))
        elif w in ("-s", "--source", "--src"):
            fold(val in ("0.0.0.0/0", "0/0"))
        elif w in ("--state", "--ctstate"):
            fold("NEW" in val.upper().split(","))
        elif w in ("--icmp-type", "--icmpv6-type"):
            fold(False)
        elif w in ("--comment", "--limit", "--limit-burst", "--log-prefix", "--log-level", "--reject-with"):
            pass
        elif w.startswith("-"):
            fold(None)
            if val.startswith("-") or not val:
                i += 1
                continue
        else:
            i += 1
            continue
        i += 2
    return result, target, goto
