"""Section-and-parameter files read as Samba's and rsync's loadparm reads them (smb.conf, rsyncd.conf).

What the daemon does and a line-by-line reading does not: a line ending in a backslash continues on the next
one; a parameter name is compared ignoring case and every blank (`bind interfaces only`, `Bind Interfaces
Only` and `bindinterfacesonly` are one parameter); a section may be opened again and adds to the first;
only the first `=` separates the name from the value; lines starting with `#` or `;` are comments (a `;` or
`#` later in the line is part of the value). Includes are read in place: Samba's `include = FILE`
parameter, rsync's `&include` / `&merge` directives (a file, or a directory's `*.conf` / `*.inc` files).
Bounded: includes nest at most MAX_DEPTH deep and at most MAX_FILES files are read.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shelf.scanning.engine.context import ScanContext

CONF_LIMIT = 1024 * 1024
MAX_DEPTH = 8
MAX_FILES = 128
GLOBAL = "global"


def name_key(name: str) -> str:
    """A parameter or section name as loadparm compares it: lower case, blanks removed."""
    return "".join(name.lower().split())


@dataclass(frozen=True)
class Param:
    section: str  # name_key of the section ("global" before the first section)
    shown_section: str  # the section's name as written
    key: str  # name_key of the parameter
    value: str
    path: str
    line: int
    text: str  # the logical line as written, stripped (for evidence)


@dataclass(frozen=True)
class Section:
    name: str
    shown: str
    path: str
    line: int
    text: str


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first physical line number, the stripped line with backslash continuations joined)."""
    start, parts = 0, []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not parts:
            start = number
        line = raw.strip()
        if line.endswith("\\"):
            parts.append(line[:-1].strip())
            continue
        parts.append(line)
        yield start, " ".join(p for p in parts if p)
        parts = []
    if parts:
        yield start, " ".join(p for p in parts if p)


@dataclass
class LoadParm:
    params: list[Param]
    sections: list[Section]
    files: list[str]

    def section(self, name: str) -> dict[str, Param]:
        """The parameters of a section (every opening of it merged); a later value of a parameter wins."""
        key = name_key(name)
        return {p.key: p for p in self.params if p.section == key}

    def section_names(self) -> list[str]:
        return list(dict.fromkeys(s.name for s in self.sections if s.name != GLOBAL))


def read(ctx: ScanContext, path: str, *, dialect: str) -> LoadParm:
    """The file at `path` with its includes; `dialect` is "samba" or "rsync" (how includes are written)."""
    result = LoadParm([], [], [])
    state = {"section": GLOBAL, "shown": GLOBAL}

    def visit(file: str, depth: int) -> None:
        if depth > MAX_DEPTH or len(result.files) >= MAX_FILES:
            ctx.incomplete(f"{path}: includes nested too deep or too many, stopped at {file}")
            return
        text = ctx.read_text(file, CONF_LIMIT)
        if text is None:
            return
        result.files.append(file)
        for number, line in logical_lines(text):
            if not line or line.startswith(("#", ";")):
                continue
            if dialect == "rsync" and line.startswith(("&include", "&merge")):
                directive, _, target = line.partition(" ")
                target = target.strip()
                saved = dict(state)
                if directive == "&include":  # each included file starts with no module open, like rsync's
                    state["section"], state["shown"] = GLOBAL, GLOBAL
                if ctx.is_dir(target):
                    suffix = ".conf" if directive == "&include" else ".inc"
                    for name in ctx.listdir(target):
                        if name.endswith(suffix):
                            visit(posixpath.join(target, name), depth + 1)
                elif target:
                    visit(target, depth + 1)
                state.update(saved)
                continue
            if line.startswith("[") and "]" in line:
                shown = line[1 : line.index("]")].strip()
                state["section"], state["shown"] = name_key(shown), shown
                result.sections.append(Section(state["section"], shown, file, number, line[:200]))
                continue
            name, sep, value = line.partition("=")
            if not sep:
                continue
            key, value = name_key(name), value.strip()
            if dialect == "samba" and key == "include":
                if "%" not in value:  # a macro (%m, %U ...) names a file per client; not known here
                    visit(value, depth + 1)
                continue
            result.params.append(Param(state["section"], state["shown"], key, value, file, number, line[:200]))

    visit(path, 0)
    return result
