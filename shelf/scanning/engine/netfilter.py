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
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shelf.scanning.engine import boot
from shelf.scanning.engine.model import Evidence

if TYPE_CHECKING:
    from shelf.scanning.engine.context import ScanContext

MAX_INCLUDE_DEPTH = 4
MAX_JUMP_DEPTH = 8
CONF_LIMIT = 1024 * 1024

# Service names nft and firewalld accept for ports (a fallback when the image has no /etc/services).
KNOWN_SERVICES = {
    "ssh": 22, "http": 80, "https": 443, "mysql": 3306, "ms-sql-s": 1433, "ms-sql-m": 1434, "redis": 6379,
    "rsync": 873, "login": 513, "microsoft-ds": 445, "netbios-ssn": 139, "netbios-ns": 137, "memcache": 11211,
    "mongodb": 27017, "http-alt": 8080, "webcache": 8080, "domain": 53, "smtp": 25, "ftp": 21, "postgresql": 5432,
}  # fmt: skip
# firewalld services that open the ports Shelf cares about, when the image lacks their XML definitions.
FIREWALLD_SERVICES: dict[str, list[tuple[str, int, int]]] = {
    "ssh": [("tcp", 22, 22)], "http": [("tcp", 80, 80)], "https": [("tcp", 443, 443)],
    "dhcpv6-client": [("udp", 546, 546)], "cockpit": [("tcp", 9090, 9090)],
    "redis": [("tcp", 6379, 6379)], "mysql": [("tcp", 3306, 3306)], "mssql": [("tcp", 1433, 1433)],
    "mongodb": [("tcp", 27017, 27019), ("tcp", 28017, 28017)], "memcache": [("tcp", 11211, 11211)],
    "elasticsearch": [("tcp", 9200, 9200), ("tcp", 9300, 9300)], "rsyncd": [("tcp", 873, 873), ("udp", 873, 873)],
    "docker-swarm": [("tcp", 2377, 2377)], "couchdb": [("tcp", 5984, 5984)],
    "samba": [("udp", 137, 138), ("tcp", 139, 139), ("tcp", 445, 445)], "samba-client": [("udp", 137, 138)],
    "rlogin": [("tcp", 513, 513)], "rsh": [("tcp", 514, 514)],
}  # fmt: skip
FIREWALLD_DEFAULT_ZONES = {  # the vendor zone files, for images that carry only firewalld.conf
    "public": ("default", ["ssh", "dhcpv6-client", "cockpit"]),
    "external": ("default", ["ssh"]),
    "dmz": ("default", ["ssh"]),
    "work": ("default", ["ssh", "dhcpv6-client", "cockpit"]),
    "home": ("default", ["ssh", "mdns", "samba-client", "dhcpv6-client", "cockpit"]),
    "internal": ("default", ["ssh", "mdns", "samba-client", "dhcpv6-client", "cockpit"]),
    "trusted": ("ACCEPT", []),
    "drop": ("DROP", []),
    "block": ("%%REJECT%%", []),
}


@dataclass
class Verdict:
    blocked: bool
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return self.evidence[0].text if self.evidence else ""


@dataclass
class Decision:
    action: str  # "accept" or "drop"
    evidence: Evidence


class Firewalls:
    """The firewalls an image starts at boot, and what they would do with a new connection to a port."""

    def __init__(self, ctx: ScanContext):
        self.ctx = ctx
        self.services = _etc_services(ctx)
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


def _etc_services(ctx: ScanContext) -> dict[str, int]:
    services = dict(KNOWN_SERVICES)
    text = ctx.read_text("/etc/services", 512 * 1024) or ""
    for line in text.splitlines():
        m = re.match(r"^([\w.+-]+)\s+(\d+)/(tcp|udp)((?:\s+[\w.+-]+)*)", line)
        if m:
            for name in [m.group(1), *m.group(4).split()]:
                services.setdefault(name, int(m.group(2)))
    return services


def _port_values(
    values: list[str], services: dict[str, int], sets: dict[str, list[str]] | None = None
) -> list[tuple[int, int]] | None:
    """Port ranges from nft/iptables values (`22`, `6000-7000`, `6000:7000`, `ssh`, `@set`); None if unknown."""
    ranges: list[tuple[int, int]] = []
    for value in values:
        value = value.strip().strip('"')
        if not value or value in (",", "{", "}"):
            continue
        if value.startswith("@"):
            elements = (sets or {}).get(value[1:])
            if elements is None:
                return None
            inner = _port_values(elements, services, None)
            if inner is None:
                return None
            ranges += inner
            continue
        if _port(value, services) is not None:
            low = high = _port(value, services)
        else:
            m = re.fullmatch(r"(\w[\w.+]*)[-:](\w[\w.+]*)", value)
            if not m:
                return None
            low, high = _port(m.group(1), services), _port(m.group(2), services)
        if low is None or high is None:
            return None
        ranges.append((low, high))
    return ranges


def _port(value: str, services: dict[str, int]) -> int | None:
    if value.isdigit():
        return int(value)
    return services.get(value)


# ---- nftables ---------------------------------------------------------------------------------------------
@dataclass
class Token:
    text: str
    path: str
    line: int


@dataclass
class NftChain:
    name: str
    hook: str | None = None
    policy: str = "accept"
    policy_at: Evidence | None = None
    rules: list[tuple[list[str], Evidence]] = field(default_factory=list)


@dataclass
class NftTable:
    family: str
    name: str
    chains: dict[str, NftChain] = field(default_factory=dict)
    sets: dict[str, list[str]] = field(default_factory=dict)


NFT_PROTOS = ("tcp", "udp", "sctp", "dccp", "udplite")
NFT_STATEMENTS = {"counter", "log", "limit", "comment", "notrack", "quota", "meter"}
NFT_VERDICTS = {"accept", "drop", "reject", "jump", "goto", "return", "continue", "queue"}


class Nft:
    def __init__(self, ctx: ScanContext, path: str, services: dict[str, int]):
        self.ctx = ctx
        self.path = path
        self.services = services
        self.tables: dict[tuple[str, str], NftTable] = {}
        self.defines: dict[str, list[str]] = {}
        tokens = self._tokens(path, 0)
        self._parse(tokens)

    # tokenizer: words, quoted strings, { } ; and NL, with includes spliced in
    def _tokens(self, path: str, depth: int) -> list[Token]:
        text = self.ctx.read_text(path, CONF_LIMIT)
        if text is None or depth > MAX_INCLUDE_DEPTH:
            return []
        out: list[Token] = []
        for number, raw in enumerate(text.replace("\\\n", " ").splitlines(), start=1):
            line_tokens = [Token(t, path, number) for t in _nft_split(raw)]
            if len(line_tokens) >= 2 and line_tokens[0].text == "include":
                pattern = line_tokens[1].text.strip('"')
                if not pattern.startswith("/"):
                    pattern = "/etc/" + pattern
                for included in self.ctx.glob(pattern):
                    out += self._tokens(included, depth + 1)
                continue
            out += line_tokens
            out.append(Token("\n", path, number))
        return out

    def _statements(self, tokens: list[Token], i: int) -> tuple[list[Token], int]:
        """One statement from tokens[i]: up to NL or ; outside braces, or a block opener `... {`."""
        stmt: list[Token] = []
        depth = 0
        while i < len(tokens):
            t = tokens[i]
            if t.text in ("\n", ";") and depth == 0:
                return stmt, i + 1
            if t.text == "{":
                if (
                    depth == 0
                    and stmt
                    and stmt[0].text in ("table", "chain", "set", "map", "flowtable", "add", "create")
                ):
                    if stmt[0].text not in ("add", "create") or (len(stmt) > 1 and stmt[1].text != "rule"):
                        stmt.append(t)
                        return stmt, i + 1
                depth += 1
            elif t.text == "}":
                if depth == 0:
                    if stmt:
                        return stmt, i
                    return [t], i + 1
                depth -= 1
            if t.text != "\n":
                stmt.append(t)
            i += 1
        return stmt, i

    def _expand(self, words: list[str]) -> list[str]:
        out: list[str] = []
        for w in words:
            if w.startswith("$") and w[1:] in self.defines:
                out += self.defines[w[1:]]
            else:
                out.append(w)
        return out

    def _table(self, family: str, name: str) -> NftTable:
        if family not in ("ip", "ip6", "inet", "arp", "bridge", "netdev"):
            family, name = "ip", family  # `table filter` means family ip
        return self.tables.setdefault((family, name), NftTable(family, name))

    def _parse(self, tokens: list[Token]) -> None:
        stack: list[tuple[str, object]] = []  # ("table", NftTable) / ("chain", NftChain) / ("skip", None)
        i = 0
        while i < len(tokens):
            stmt, i = self._statements(tokens, i)
            if not stmt:
                continue
            words = [t.text for t in stmt]
            shown = words[:-1] if words[-1] == "{" else words
            where = Evidence(stmt[0].path, stmt[0].line, " ".join(shown).replace(" , ", ", ")[:200])
            if words == ["}"]:
                if stack:
                    stack.pop()
                continue
            opens = words[-1] == "{"
            if opens:
                words = words[:-1]
            context = stack[-1] if stack else ("top", None)
            kind = context[0]
            if kind == "skip":
                if opens:
                    stack.append(("skip", None))
                continue
            if kind == "set":
                if words and words[0] == "elements":
                    elements = [w for w in self._expand(words[2:]) if w not in ("{", "}", ",", "=")]
                    context[1].append(elements)  # type: ignore[union-attr]
                if opens:
                    stack.append(("skip", None))
                continue
            if words[:2] == ["flush", "ruleset"]:
                self.tables.clear()
                continue
            if words[0] == "define" and len(words) >= 3:
                self.defines[words[1]] = [w for w in words[3:] if w != "="] if words[2] == "=" else words[2:]
                continue
            if words[0] in ("add", "create", "insert") and len(words) >= 2:
                self._flat(words, where, opens, stack)
                continue
            if kind == "top" and words[0] == "table" and len(words) >= 2:
                table = self._table(words[1], words[2] if len(words) > 2 else words[1])
                if opens:
                    stack.append(("table", table))
                continue
            if kind == "table":
                table = context[1]  # type: ignore[assignment]
                if words[0] == "chain" and len(words) >= 2:
                    chain = table.chains.setdefault(words[1], NftChain(words[1]))  # type: ignore[union-attr]
                    if opens:
                        stack.append(("chain", chain))
                    continue
                if words[0] in ("set", "map") and len(words) >= 2 and opens:
                    table.sets[words[1]] = []  # type: ignore[union-attr]
                    stack.append(("set", _SetSink(table.sets, words[1])))  # type: ignore[union-attr]
                    continue
                if opens:
                    stack.append(("skip", None))
                continue
            if kind == "chain":
                chain = context[1]  # type: ignore[assignment]
                self._chain_statement(chain, self._expand(words), where)  # type: ignore[arg-type]
                if opens:
                    stack.append(("skip", None))
                continue
            if opens:
                stack.append(("skip", None))

    def _chain_statement(self, chain: NftChain, words: list[str], where: Evidence) -> None:
        if words[0] == "type" and "hook" in words:
            chain.hook = words[words.index("hook") + 1] if words.index("hook") + 1 < len(words) else None
            if "policy" in words:
                self._chain_statement(chain, words[words.index("policy") :], where)
            return
        if words[0] == "policy" and len(words) >= 2:
            chain.policy = words[1].rstrip(";")
            chain.policy_at = where
            return
        if words[0] in ("comment", "devices", "priority", "flags"):
            return
        chain.rules.append((words, where))

    def _flat(self, words: list[str], where: Evidence, opens: bool, stack: list) -> None:
        """`add table|chain|rule ...` and `insert rule ...` (nft -f scripts written in the command syntax)."""
        verb, what, rest = words[0], words[1], words[2:]
        if what == "table" and rest:
            self._table(rest[0], rest[1] if len(rest) > 1 else rest[0])
            if opens:
                stack.append(("skip", None))
            return
        if what in ("chain", "rule") and len(rest) >= 2:
            family, rest = (
                (rest[0], rest[1:]) if rest[0] in ("ip", "ip6", "inet", "arp", "bridge", "netdev") else ("ip", rest)
            )
            if len(rest) < 2:
                return
            table = self._table(family, rest[0])
            chain = table.chains.setdefault(rest[1], NftChain(rest[1]))
            body = self._expand(rest[2:])
            if what == "chain":
                if opens:
                    stack.append(("chain", chain))
                return
            if body:
                if verb == "insert":
                    chain.rules.insert(0, (body, where))
                else:
                    chain.rules.append((body, where))
            return
        if opens:
            stack.append(("skip", None))

    # evaluation
    def decide(self, port: int, proto: str) -> Decision:
        accepted: Decision | None = None
        for (family, _name), table in self.tables.items():
            if family not in ("inet", "ip"):
                continue
            for chain in table.chains.values():
                if chain.hook != "input":
                    continue
                decision = self._run(table, chain, port, proto, 0)
                if decision is None:
                    where = chain.policy_at or Evidence(self.path, None, f"chain {chain.name}")
                    action = "drop" if chain.policy in ("drop", "reject") else "accept"
                    text = f"policy {chain.policy} of input chain {table.family} {table.name} {chain.name}"
                    decision = Decision(action, Evidence(where.path, where.line, text))
                if decision.action == "drop":
                    return decision
                accepted = accepted or decision
        return accepted or Decision("accept", Evidence(self.path, None, "no input chain filters incoming traffic"))

    def _run(self, table: NftTable, chain: NftChain, port: int, proto: str, depth: int) -> Decision | None:
        if depth > MAX_JUMP_DEPTH:
            return None
        for words, where in chain.rules:
            match, verdict, target = self._match(words, port, proto, table)
            if match is False or verdict is None:
                continue
            if match is None and verdict in ("drop", "reject"):
                continue  # a drop we cannot be sure of does not block
            text = f"{port}/{proto}: {where.text}"
            if verdict == "accept" or verdict == "queue":
                return Decision("accept", Evidence(where.path, where.line, text))
            if verdict in ("drop", "reject"):
                return Decision("drop", Evidence(where.path, where.line, text))
            if verdict in ("jump", "goto") and target in table.chains:
                result = self._run(table, table.chains[target], port, proto, depth + 1)
                if result is not None:
                    return result
                if verdict == "goto":
                    return None
            if verdict == "return":
                return None
        return None

    def _match(
        self, words: list[str], port: int, proto: str, table: NftTable
    ) -> tuple[bool | None, str | None, str | None]:
        """(matches: True/False/None unknown, verdict, jump target) of one rule for the connection."""
        result: bool | None = True
        verdict = None
        target = None

        def fold(value: bool | None) -> None:
            nonlocal result
            if value is False or result is False:
                result = False
            elif value is None:
                result = None

        i = 0
        n = len(words)
        while i < n:
            w = words[i]
            nxt = words[i + 1] if i + 1 < n else ""
            if w in NFT_VERDICTS:
                verdict = w
                if w in ("jump", "goto"):
                    target = nxt
                break
            if w in NFT_PROTOS + ("th",) and nxt == "dport":
                if w != "th" and w != proto:
                    fold(False)
                i, value = self._operand(words, i + 2)
                if value.vmap is not None:
                    hit = self._vmap_lookup(value.vmap, lambda k: _port_in(k, port, self.services, table.sets))
                    if result is not False and hit:
                        return result, hit[0], hit[1]
                    return False, None, None
                fold(_negate(_port_in(value.items, port, self.services, table.sets), value.negated))
                continue
            if w in NFT_PROTOS and nxt in ("sport", "flags", "checksum", "length", "sequence"):
                if w != proto:
                    fold(False)
                i, _ = self._operand(words, i + 2)
                fold(None)
                continue
            if w == "ct" and nxt == "state":
                i, value = self._operand(words, i + 2)
                if value.vmap is not None:
                    hit = self._vmap_lookup(value.vmap, lambda k: "new" in k)
                    if result is not False and hit:
                        return result, hit[0], hit[1]
                    return False, None, None
                fold(_negate("new" in [v.lower() for v in value.items], value.negated))
                continue
            if w in ("iif", "iifname") or (w == "meta" and nxt in ("iif", "iifname")):
                i, value = self._operand(words, i + (2 if w == "meta" else 1))
                names = [v.strip('"') for v in value.items]
                if names and all(v == "lo" for v in names):
                    fold(_negate(False, value.negated))
                else:
                    fold(None)
                continue
            if w == "ip" and nxt == "saddr":
                i, value = self._operand(words, i + 2)
                anywhere = all(v in ("0.0.0.0/0", "0/0") for v in value.items) and value.items
                fold(True if (anywhere or value.negated) else False)
                continue
            if (w == "ip" and nxt == "protocol") or (w == "meta" and nxt == "l4proto"):
                i, value = self._operand(words, i + 2)
                fold(_negate(proto in value.items or {"tcp": "6", "udp": "17"}[proto] in value.items, value.negated))
                continue
            if w == "meta" and nxt == "nfproto":
                i, value = self._operand(words, i + 2)
                fold(_negate("ipv4" in value.items, value.negated))
                continue
            if w in ("ip6", "icmpv6", "icmp", "igmp", "ah", "esp"):
                fold(False)
                i, _ = self._operand(words, i + 2)
                continue
            if w in NFT_STATEMENTS:
                i = _skip_statement(words, i)
                continue
            fold(None)
            i += 1
        return result, verdict, target

    def _operand(self, words: list[str], i: int) -> tuple[int, _Operand]:
        op = _Operand()
        if i < len(words) and words[i] in ("!=", "ne"):
            op.negated = True
            i += 1
        elif i < len(words) and words[i] in ("==", "eq"):
            i += 1
        if i < len(words) and words[i] == "vmap":
            i += 1
            items, i = _braced(words, i)
            op.vmap = items
            return i, op
        if i < len(words) and words[i] == "{":
            op.items, i = _braced(words, i)
            op.items = [w for w in op.items if w != ","]
            return i, op
        if i < len(words):
            op.items = [words[i]]
            i += 1
            while i + 1 < len(words) and words[i] == ",":  # `ct state established,related`
                op.items.append(words[i + 1])
                i += 2
        return i, op

    @staticmethod
    def _vmap_lookup(items: list[str], matches) -> tuple[str, str | None] | None:
        """The verdict of the first `key : verdict` pair whose key matches."""
        text = " ".join(items)
        for pair in text.split(","):
            key, sep, action = pair.partition(":")
            if not sep:
                continue
            action_words = action.split()
            if not action_words:
                continue
            if matches([k for k in key.split() if k]):
                return action_words[0], action_words[1] if len(action_words) > 1 else None
        return None


class _SetSink(list):
    """Receives `elements = {...}` of a named set into the table's set map."""

    def __init__(self, sets: dict[str, list[str]], name: str):
        super().__init__()
        self.sets = sets
        self.name = name

    def append(self, elements: list[str]) -> None:  # type: ignore[override]
        self.sets[self.name] = self.sets.get(self.name, []) + elements


@dataclass
class _Operand:
    items: list[str] = field(default_factory=list)
    negated: bool = False
    vmap: list[str] | None = None


def _braced(words: list[str], i: int) -> tuple[list[str], int]:
    if i >= len(words) or words[i] != "{":
        return ([words[i]] if i < len(words) else []), i + 1
    depth = 0
    items: list[str] = []
    while i < len(words):
        w = words[i]
        i += 1
        if w == "{":
            depth += 1
            if depth == 1:
                continue
        elif w == "}":
            depth -= 1
            if depth == 0:
                break
        items.append(w)
    return items, i


def _skip_statement(words: list[str], i: int) -> int:
    w = words[i]
    i += 1
    if w == "counter":
        while i < len(words) and words[i] in ("packets", "bytes", "name") and i + 1 < len(words):
            i += 2
    elif w == "log":
        while i < len(words) and words[i] in ("prefix", "level", "flags", "group", "snaplen", "queue-threshold"):
            i += 2
    elif w == "limit":
        while i < len(words) and words[i] not in NFT_VERDICTS and words[i] not in NFT_STATEMENTS:
            if words[i] in ("tcp", "udp", "ct", "ip", "meta", "iif", "iifname", "th"):
                break
            i += 1
    elif w in ("comment", "quota"):
        i += 1
    return i


def _port_in(values: list[str], port: int, services: dict[str, int], sets: dict[str, list[str]] | None) -> bool | None:
    ranges = _port_values(values, services, sets)
    if ranges is None:
        return None
    return any(low <= port <= high for low, high in ranges)


def _negate(value: bool | None, negated: bool) -> bool | None:
    if value is None:
        return None
    return not value if negated else value


def _nft_split(line: str) -> list[str]:
    """Words of one nft line: comments dropped, quoted strings kept whole, { } ; , as their own tokens."""
    out: list[str] = []
    word = ""
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == '"':
            end = line.find('"', i + 1)
            end = len(line) if end < 0 else end + 1
            word += line[i:end]
            i = end
            continue
        if ch == "#":
            break
        if ch.isspace() or ch in "{};,":
            if word:
                out.append(word)
                word = ""
            if ch in "{};,":
                out.append(ch)
            i += 1
            continue
        word += ch
        i += 1
    if word:
        out.append(word)
    return out


# ---- iptables-save ----------------------------------------------------------------------------------------
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
            fold(_port_in(val.replace(":", "-").split(","), port, {}, None))
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


# ---- ufw --------------------------------------------------------------------------------------------------
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
            if dport != "any" and not _port_in(dport.replace(":", "-").split(","), port, {}, None):
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


# ---- firewalld --------------------------------------------------------------------------------------------
class Firewalld:
    def __init__(self, ctx: ScanContext, services: dict[str, int]):
        self.ctx = ctx
        conf = ctx.read_text("/etc/firewalld/firewalld.conf", 64 * 1024) or ""
        m = re.search(r"^\s*DefaultZone\s*=\s*(\S+)", conf, re.MULTILINE)
        self.zone = m.group(1) if m else "public"
        self.zone_path = None
        for base in ("/etc/firewalld/zones", "/usr/lib/firewalld/zones"):
            if ctx.is_file(f"{base}/{self.zone}.xml"):
                self.zone_path = f"{base}/{self.zone}.xml"
                break
        self.target = "default"
        self.opens: list[tuple[str, int, int, Evidence]] = []
        if self.zone_path is None:
            target, names = FIREWALLD_DEFAULT_ZONES.get(self.zone, ("default", []))
            self.target = target
            where = Evidence(
                "/etc/firewalld/firewalld.conf", None, f"zone {self.zone} (firewalld's built-in definition)"
            )
            for name in names:
                for proto, low, high in FIREWALLD_SERVICES.get(name, []):
                    self.opens.append(
                        (proto, low, high, Evidence(where.path, None, f"zone {self.zone}: service {name}"))
                    )
            return
        text = ctx.read_text(self.zone_path, 1024 * 1024) or ""
        text = re.sub(r"<!--.*?-->", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.DOTALL)
        m = re.search(r"<zone\b[^>]*\btarget=\"([^\"]+)\"", text)
        if m:
            self.target = m.group(1)
        for number, line in enumerate(text.splitlines(), start=1):
            where = Evidence(self.zone_path, number, line.strip()[:200])
            for name in re.findall(r"<service\s+name=\"([^\"]+)\"", line):
                for proto, low, high in self._service_ports(name):
                    self.opens.append((proto, low, high, where))
            if "<rule" in line or "<source" in line:
                continue
            for attrs in re.findall(r"<port\s+([^>]*)/?>", line):
                port = re.search(r"port=\"([^\"]+)\"", attrs)
                proto = re.search(r"protocol=\"([^\"]+)\"", attrs)
                if port and proto:
                    low, _, high = port.group(1).partition("-")
                    if low.isdigit():
                        self.opens.append((proto.group(1), int(low), int(high or low), where))
        for rule in re.finditer(r"<rule\b.*?</rule>", text, flags=re.DOTALL):
            body = rule.group(0)
            line = text.count("\n", 0, rule.start()) + 1
            if "<source" in body or "<accept" not in body:
                continue
            where = Evidence(self.zone_path, line, re.sub(r"\s+", " ", body)[:200])
            for port, proto in re.findall(r"<port\s+port=\"([^\"]+)\"\s+protocol=\"([^\"]+)\"", body):
                low, _, high = port.partition("-")
                if low.isdigit():
                    self.opens.append((proto, int(low), int(high or low), where))
            for name in re.findall(r"<service\s+name=\"([^\"]+)\"", body):
                for proto, low, high in self._service_ports(name):
                    self.opens.append((proto, low, high, where))

    def _service_ports(self, name: str) -> list[tuple[str, int, int]]:
        for base in ("/etc/firewalld/services", "/usr/lib/firewalld/services"):
            text = self.ctx.read_text(f"{base}/{name}.xml", 256 * 1024)
            if text is None:
                continue
            ports = []
            for port, proto in re.findall(r"<port\s+port=\"([^\"]+)\"\s+protocol=\"([^\"]+)\"", text):
                low, _, high = port.partition("-")
                if low.isdigit():
                    ports.append((proto, int(low), int(high or low)))
            for proto, port in re.findall(r"<port\s+protocol=\"([^\"]+)\"\s+port=\"([^\"]+)\"", text):
                low, _, high = port.partition("-")
                if low.isdigit():
                    ports.append((proto, int(low), int(high or low)))
            return ports
        return FIREWALLD_SERVICES.get(name, [])

    def decide(self, port: int, proto: str) -> Decision:
        path = self.zone_path or "/etc/firewalld/firewalld.conf"
        if self.target.upper() == "ACCEPT":
            return Decision("accept", Evidence(path, None, f"zone {self.zone} target ACCEPT"))
        for rproto, low, high, where in self.opens:
            if rproto == proto and low <= port <= high:
                return Decision("accept", Evidence(where.path, where.line, f"{port}/{proto}: {where.text}"))
        return Decision("drop", Evidence(path, None, f"zone {self.zone} does not open {port}/{proto}"))
