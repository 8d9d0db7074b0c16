"""nginx's configuration as nginx reads it: tokens by crossplane's lexer, blocks, and `include` resolved in place.

A directive is judged by its tokens, not by the line it starts on: `location / { root /srv; autoindex on; }` holds
two directives, `autoindex\\n on;` is one, `# autoindex on;` and `return 200 "autoindex on;"` hold none.
crossplane (by nginx's authors) lexes a string here; its own parser opens files on the host, so the blocks and
the includes are put together below, reading the image only through the scan context. Like nginx: a relative
include is relative to the directory of the main file (the prefix, /etc/nginx), a glob is expanded in sorted
order and may match nothing, and an included file's directives take the place (and context) of the `include`.
Bounded: includes nest at most MAX_DEPTH deep and at most MAX_FILES files are read per configuration.

With no main file in the image, each file under /etc/nginx that a packaged layout loads (conf.d/*.conf,
sites-enabled/*) is read on its own, so a fragment is still judged.
"""

from __future__ import annotations

import io
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crossplane.lexer import _lex_file_object

if TYPE_CHECKING:
    from shelf.scanning.engine.context import ScanContext

CONF_LIMIT = 1024 * 1024
MAIN_FILES = (
    "/etc/nginx/nginx.conf",
    "/usr/local/nginx/conf/nginx.conf",
    "/usr/local/etc/nginx/nginx.conf",
    "/www/server/nginx/conf/nginx.conf",  # BT panel
)
MAX_DEPTH = 8
MAX_FILES = 1024  # file reads, counting a snippet once per include (the text is read from the image once)
# Blocks whose lines are table entries, not directives: `map $uri $x { autoindex on; }` sets nothing.
TABLE_BLOCKS = frozenset({"map", "types", "geo", "split_clients", "charset_map", "match"})


@dataclass(frozen=True)
class Directive:
    """One directive: its name, its arguments (quotes removed), where it starts, and the blocks around it."""

    name: str
    args: tuple[str, ...]
    path: str
    line: int
    context: tuple[str, ...] = ()  # the enclosing blocks, outermost first: ("http", "server", "location /files/")
    block: tuple[Directive, ...] | None = None

    def text(self) -> str:
        """The directive as written, normalised to one line, with the block it is in (evidence text)."""
        args = " ".join(a if a and not any(c.isspace() or c in ";{}#" for c in a) else f'"{a}"' for a in self.args)
        shown = f"{self.name} {args}".rstrip() + (" { ... }" if self.block is not None else ";")
        return f"{shown}  (in {' > '.join(self.context)})" if self.context else shown


@dataclass
class NginxConfig:
    """The directives in nginx's reading order (includes expanded) and the files that were read."""

    directives: list[Directive]
    files: list[str]

    def walk(self) -> Iterator[Directive]:
        """Every directive, blocks entered (not the entries of tables like `map` and `types`), in reading order."""

        def inner(items: tuple[Directive, ...] | list[Directive]) -> Iterator[Directive]:
            for d in items:
                yield d
                if d.block and d.name not in TABLE_BLOCKS:
                    yield from inner(d.block)

        return inner(self.directives)

    def find(self, name: str) -> list[Directive]:
        return [d for d in self.walk() if d.name == name]

    def main(self, name: str) -> list[Directive]:
        """Directives of the main context (outside every block), like `user` and `worker_processes`."""
        return [d for d in self.walk() if d.name == name and not d.context]


class _Reader:
    def __init__(self, ctx: ScanContext, prefix: str) -> None:
        self.ctx = ctx
        self.prefix = prefix
        self.files: list[str] = []
        self.reads = 0
        self._texts: dict[str, str | None] = {}

    def text(self, path: str) -> str | None:
        if path not in self._texts:
            self._texts[path] = self.ctx.read_text(path, CONF_LIMIT)
        return self._texts[path]

    def read(self, path: str, context: tuple[str, ...], depth: int) -> list[Directive]:
        text = self.text(path)
        if text is None:
            return []
        self.reads += 1
        if path not in self.files:
            self.files.append(path)
        tokens = _lex_file_object(io.StringIO(text))
        return self._block(tokens, path, context, depth, top=True)

    def _block(
        self,
        tokens: Iterator[tuple[str, int, bool]],
        path: str,
        context: tuple[str, ...],
        depth: int,
        top: bool = False,
    ) -> list[Directive]:
        parsed: list[Directive] = []
        for name, line, quoted in tokens:
            if not quoted and name == "}":
                if top:
                    continue  # an unmatched "}": nginx refuses the file; what it holds is still read
                return parsed
            if not quoted and (name.startswith("#") or name in (";", "{")):
                continue
            args: list[str] = []
            term = None
            for arg, _, arg_quoted in tokens:
                if not arg_quoted and arg in (";", "{", "}"):
                    term = arg
                    break
                if arg_quoted or not arg.startswith("#"):
                    args.append(arg)
            if term is None:  # the file ended inside the directive
                return parsed
            if term == "}":  # `name args }` is a syntax error: the directive is not taken, the block ends
                return parsed
            if term == "{":
                inner = (*context, " ".join((name, *args)))
                block = tuple(self._block(tokens, path, inner, depth))
                parsed.append(Directive(name, tuple(args), path, line, context, block))
                continue
            directive = Directive(name, tuple(args), path, line, context)
            if name == "include" and args:
                parsed.extend(self._include(args[0], context, depth))
                continue
            parsed.append(directive)
        return parsed

    def _include(self, pattern: str, context: tuple[str, ...], depth: int) -> list[Directive]:
        if depth >= MAX_DEPTH:
            self.ctx.incomplete(f"nginx includes nested deeper than {MAX_DEPTH} ({pattern}) were not read")
            return []
        pattern = posixpath.normpath(posixpath.join(self.prefix, pattern))
        paths = self.ctx.glob(pattern) if any(c in pattern for c in "*?[") else [pattern]
        found: list[Directive] = []
        for path in paths:
            if self.reads >= MAX_FILES:
                self.ctx.incomplete(f"stopped reading nginx configuration after {MAX_FILES} included files")
                break
            if self.ctx.is_file(path):
                found.extend(self.read(path, context, depth + 1))
        return found


def _fallback_files(ctx: ScanContext) -> list[str]:
    from shelf.scanning.engine.webroots import ignored

    files = [p for p in ctx.glob("/etc/nginx/conf.d/*.conf") if not ignored(p)]
    files += [p for p in ctx.glob("/etc/nginx/sites-enabled/*") if not ignored(p)]
    return [p for p in files if ctx.is_file(p)]


def config(ctx: ScanContext) -> NginxConfig:
    """The image's nginx configuration as nginx would load it (cached per scan)."""
    if "nginx_config" not in ctx.cache:
        main = next((p for p in MAIN_FILES if ctx.is_file(p)), None)
        if main:
            reader = _Reader(ctx, posixpath.dirname(main))
            directives = reader.read(main, (), 0)
        else:
            reader = _Reader(ctx, "/etc/nginx")
            directives = [d for path in _fallback_files(ctx) for d in reader.read(path, (), 1)]
        ctx.cache["nginx_config"] = NginxConfig(directives, reader.files)
    return ctx.cache["nginx_config"]
