"""sshd_config as `sshd -T` (no connection given) would see it.

Rules taken from OpenSSH's servconf.c:
- keywords are case-insensitive; a keyword and its arguments are separated by whitespace or one `=`;
  an unquoted argument starting with `#` ends the line;
- the first value obtained for a keyword wins, later ones are ignored;
- `Include` takes one or more glob patterns, relative ones under /etc/ssh; the matches are read in lexical
  order at the point of the Include; an included file cannot change the including file's Match state,
  and a file included from inside a Match block is inside that block;
- `Match` starts a block that lasts to the next Match or to the end of the file; without connection
  parameters every criterion fails except `Match all`, which returns to the global context.
Values inside Match blocks are kept separately (they apply to matching connections and override the
global value there), so a check can report a block that turns a bad setting on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shelf.scanning.engine.context import ScanContext

MAIN_CONFIG = "/etc/ssh/sshd_config"
SSHDIR = "/etc/ssh"
MAX_DEPTH = 16

DEFAULTS = {
    "passwordauthentication": "yes",
    "permitrootlogin": "prohibit-password",
    "permitemptypasswords": "no",
    "authorizedkeysfile": ".ssh/authorized_keys .ssh/authorized_keys2",
    "pubkeyauthentication": "yes",
}

_KEYWORD = re.compile(r"^\s*([^\s=]+)(?:\s*=\s*|\s+|$)(.*)$")


@dataclass
class Directive:
    keyword: str  # lower case
    args: list[str]
    path: str
    line: int
    match: str | None = None  # the Match condition when inside a (non-global) Match block
    text: str = ""

    @property
    def value(self) -> str:
        return " ".join(self.args)


@dataclass
class SshdConfig:
    directives: list[Directive] = field(default_factory=list)
    effective: dict[str, Directive] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def get(self, keyword: str) -> tuple[str, Directive | None]:
        """The effective global value (lower-cased for flags) and the directive that set it, or the default."""
        keyword = keyword.lower()
        directive = self.effective.get(keyword)
        if directive is not None:
            return directive.value, directive
        return DEFAULTS.get(keyword, ""), None

    def in_match_blocks(self, keyword: str) -> list[Directive]:
        """First value per Match block for `keyword`."""
        keyword = keyword.lower()
        seen: set[tuple[str, str | None]] = set()
        result = []
        for d in self.directives:
            if d.keyword == keyword and d.match is not None:
                block = (d.path, d.match)
                if block not in seen:
                    seen.add(block)
                    result.append(d)
        return result


def tokenize(rest: str) -> list[str]:
    """Arguments as argv_split() splits them: whitespace-separated, double quotes group, `#` ends the line."""
    args: list[str] = []
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " \t\r\f\v":
            i += 1
        if i >= n:
            break
        if rest[i] == "#":
            break
        token = []
        quoted = False
        while i < n and (quoted or rest[i] not in " \t\r\f\v"):
            ch = rest[i]
            if ch == "\\" and i + 1 < n and rest[i + 1] in "\\\"' ":
                token.append(rest[i + 1])
                i += 2
                continue
            if ch == '"':
                quoted = not quoted
                i += 1
                continue
            token.append(ch)
            i += 1
        args.append("".join(token))
    return args


def parse(ctx: ScanContext, path: str = MAIN_CONFIG) -> SshdConfig | None:
    """None when the main configuration file does not exist."""
    if not ctx.is_file(path):
        return None
    config = SshdConfig()
    _process(ctx, config, path, active=True, match=None, nevermatch=False, depth=0)
    return config


def _process(
    ctx: ScanContext, config: SshdConfig, path: str, *, active: bool, match: str | None, nevermatch: bool, depth: int
) -> None:
    if depth > MAX_DEPTH:
        config.errors.append(f"{path}: Include nested too deeply")
        return
    text = ctx.read_text(path, 1024 * 1024)
    if text is None:
        return
    config.files.append(path)
    for number, raw in enumerate(text.splitlines(), start=1):
        m = _KEYWORD.match(raw)
        if not m or m.group(1).startswith("#"):
            continue
        keyword = m.group(1).lower()
        args = tokenize(m.group(2))
        if keyword == "match":
            condition = " ".join(args)
            if not nevermatch and args and args[0].lower() == "all" and len(args) == 1:
                active, match = True, None
            else:
                active, match = False, condition or "(empty)"
            continue
        if keyword == "include":
            for pattern in args:
                if pattern.startswith("~"):
                    config.errors.append(f"{path} line {number}: bad include path {pattern}")
                    continue
                full = pattern if pattern.startswith("/") else f"{SSHDIR}/{pattern}"
                for included in ctx.glob(full):
                    if ctx.is_file(included):
                        _process(
                            ctx,
                            config,
                            included,
                            active=active,
                            match=match,
                            nevermatch=nevermatch or not active,
                            depth=depth + 1,
                        )
            continue
        if not args:
            config.errors.append(f"{path} line {number}: no argument after keyword {m.group(1)!r}")
            continue
        directive = Directive(keyword, args, path, number, None if active else match, raw.strip())
        config.directives.append(directive)
        if active and keyword not in config.effective:
            config.effective[keyword] = directive
