"""Apache httpd's configuration as httpd reads it: logical lines, sections, and Include resolved in place.

What httpd does and a line-by-line reading does not: a line ending in a backslash continues on the next one;
directive and section names are case-insensitive (`user root` is `User root`); a comment is a line whose first
non-blank character is `#` (never the end of a line); `Include` and `IncludeOptional` read the files they name
(a glob in sorted order, a directory's files, a relative path from ServerRoot) at their place, inside the
section they are written in, so the reading order is the one httpd merges in. Only files httpd loads are read:
the main file (Debian's apache2.conf, RHEL's httpd.conf) and what it includes.

With no main file, the files of conf-enabled/ and sites-enabled/ are read on their own, so a fragment is still
judged. `.htaccess` files are read with `parse_text` (the same lines and sections, no includes), and only where
httpd reads them: `reads_htaccess_options` applies AllowOverride as httpd does.
"""

from __future__ import annotations

import fnmatch
import posixpath
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shelf.scanning.engine.context import ScanContext

CONF_LIMIT = 1024 * 1024
MAIN_FILES = (("/etc/apache2/apache2.conf", "/etc/apache2"), ("/etc/httpd/conf/httpd.conf", "/etc/httpd"))
FALLBACK_DIRS = ("/etc/apache2/conf-enabled", "/etc/apache2/sites-enabled", "/etc/httpd/conf.d")
MAX_DEPTH = 8
MAX_FILES = 512


@dataclass(frozen=True)
class Directive:
    """One directive: its name in lower case, its arguments (quotes removed), where it starts, its sections."""

    name: str
    args: tuple[str, ...]
    path: str
    line: int
    text: str  # the logical line as written (continuations joined), for evidence
    sections: tuple[str, ...] = ()  # enclosing sections, outermost first: ("directory /var/www", ...)


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(number of the first physical line, the line with backslash continuations joined), like httpd reads."""
    start, parts = 0, []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not parts:
            start = number
        if raw.endswith("\\"):
            parts.append(raw[:-1])
            continue
        parts.append(raw)
        yield start, " ".join(p.strip() for p in parts if p.strip()) if len(parts) > 1 else raw
        parts = []
    if parts:
        yield start, " ".join(p.strip() for p in parts)


def words(text: str) -> list[str]:
    """httpd's argument words: blanks separate, double or single quotes group."""
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:
        return text.split()


def _section_key(opening: str) -> str:
    """`<Directory "/var/www/">` -> "directory /var/www": the name in lower case, the argument unquoted."""
    name, _, arg = opening.strip()[1:].rstrip().removesuffix(">").strip().partition(" ")
    arg = arg.strip().strip("\"'").rstrip("/") or "/"
    return f"{name.lower()} {arg}"


class _Reader:
    def __init__(self, ctx: ScanContext | None, root: str) -> None:
        self.ctx = ctx
        self.root = root
        self.files: list[str] = []
        self.reads = 0

    def read(self, path: str, sections: tuple[str, ...], depth: int) -> list[Directive]:
        assert self.ctx is not None
        text = self.ctx.read_text(path, CONF_LIMIT)
        if text is None:
            return []
        self.reads += 1
        if path not in self.files:
            self.files.append(path)
        return self.parse(text, path, sections, depth)

    def parse(self, text: str, path: str, sections: tuple[str, ...], depth: int) -> list[Directive]:
        found: list[Directive] = []
        stack = list(sections)
        for number, line in logical_lines(text):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("</"):
                if len(stack) > len(sections):
                    stack.pop()
                continue
            if stripped.startswith("<"):
                stack.append(_section_key(stripped.replace("\t", " ")))
                continue
            parts = words(stripped)
            if not parts:
                continue
            name = parts[0].lower()
            if name in ("include", "includeoptional") and len(parts) > 1 and self.ctx is not None:
                found += self._include(parts[1], tuple(stack), depth, optional=name == "includeoptional")
                continue
            found.append(Directive(name, tuple(parts[1:]), path, number, stripped, tuple(stack)))
        return found

    def _include(self, pattern: str, sections: tuple[str, ...], depth: int, *, optional: bool) -> list[Directive]:
        assert self.ctx is not None
        if depth >= MAX_DEPTH:
            self.ctx.incomplete(f"Apache includes nested deeper than {MAX_DEPTH} ({pattern}) were not read")
            return []
        pattern = posixpath.normpath(posixpath.join(self.root, pattern))
        if any(c in pattern for c in "*?["):
            paths = self.ctx.glob(pattern)
        elif self.ctx.is_dir(pattern):
            paths = [posixpath.join(pattern, n) for n in self.ctx.listdir(pattern)]
        else:
            paths = [pattern]
        found: list[Directive] = []
        for path in paths:
            if self.reads >= MAX_FILES:
                self.ctx.incomplete(f"stopped reading Apache configuration after {MAX_FILES} included files")
                break
            if self.ctx.is_file(path):
                found += self.read(path, sections, depth + 1)
        return found


@dataclass
class ApacheConfig:
    """The directives in httpd's reading order (includes expanded) and the files that were read."""

    directives: list[Directive]
    files: list[str]

    def find(self, name: str) -> list[Directive]:
        return [d for d in self.directives if d.name == name.lower()]


def config(ctx: ScanContext) -> ApacheConfig:
    """The image's Apache configuration as httpd would load it (cached per scan); both layouts when both exist."""
    if "apache_config" not in ctx.cache:
        directives: list[Directive] = []
        files: list[str] = []
        mains = [(main, root) for main, root in MAIN_FILES if ctx.is_file(main)]
        for main, root in mains:
            reader = _Reader(ctx, root)
            directives += reader.read(main, (), 0)
            files += reader.files
        if not mains:
            reader = _Reader(ctx, "/etc/apache2")
            for directory in FALLBACK_DIRS:
                for name in ctx.listdir(directory):
                    path = f"{directory}/{name}"
                    if name.endswith(".conf") and ctx.is_file(path):
                        directives += reader.read(path, (), 1)
            files += reader.files
        ctx.cache["apache_config"] = ApacheConfig(directives, files)
    return ctx.cache["apache_config"]


def parse_text(text: str, path: str) -> list[Directive]:
    """One file's directives without includes (an `.htaccess` file)."""
    return _Reader(None, posixpath.dirname(path)).parse(text, path, (), 0)


def _directory_section(sections: tuple[str, ...]) -> str | None:
    """The path of the innermost `<Directory>` (AllowOverride is valid only there, and not with a regex)."""
    for key in reversed(sections):
        name, _, arg = key.partition(" ")
        if name == "directory":
            return None if arg.startswith("~") else arg
    return None


def _covers(section_path: str, directory: str) -> bool:
    """Whether `<Directory section_path>` applies to `directory` (wildcards match one path component each)."""
    pattern = [p for p in section_path.split("/") if p]
    parts = [p for p in directory.split("/") if p]
    return len(parts) >= len(pattern) and all(fnmatch.fnmatchcase(a, b) for a, b in zip(parts, pattern, strict=False))


def _allows_options(args: tuple[str, ...]) -> bool:
    """AllowOverride's arguments permit `Options Indexes` in .htaccess: All, Options, or Options=...,Indexes."""
    for arg in (a.lower() for a in args):
        if arg == "all":
            return True
        name, eq, allowed = arg.partition("=")
        if name == "options" and (not eq or {"indexes", "all"} & set(allowed.split(","))):
            return True
    return False


def reads_htaccess_options(cfg: ApacheConfig, htaccess: str) -> bool:
    """Whether httpd applies `Options` from the `.htaccess` at this path.

    httpd merges `<Directory>` sections from the shortest path to the longest, later ones winning; the last
    AllowOverride that applies decides, and without one the default is None (httpd 2.3.9 and later), so an
    `.htaccess` in a tree no AllowOverride opens is never read. No Apache configuration: no httpd reads it.
    """
    directory = posixpath.dirname(htaccess)
    best: tuple[int, bool] = (-1, False)
    for d in cfg.find("allowoverride"):
        section = _directory_section(d.sections)
        if section is not None and _covers(section, directory):
            depth = len([p for p in section.split("/") if p])
            if depth >= best[0]:
                best = (depth, _allows_options(d.args))
    return best[1]
