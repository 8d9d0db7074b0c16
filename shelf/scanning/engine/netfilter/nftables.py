"""nftables: /etc/nftables.conf with its includes, `define`s and named sets, and the input chains' rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shelf.scanning.engine.model import Evidence
from shelf.scanning.engine.netfilter.base import MAX_JUMP_DEPTH, Decision, port_in

if TYPE_CHECKING:
    from shelf.scanning.engine.context import ScanContext

MAX_INCLUDE_DEPTH = 4
CONF_LIMIT = 1024 * 1024


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
                    hit = self._vmap_lookup(value.vmap, lambda k: port_in(k, port, self.services, table.sets))
                    if result is not False and hit:
                        return result, hit[0], hit[1]
                    return False, None, None
                fold(_negate(port_in(value.items, port, self.services, table.sets), value.negated))
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
