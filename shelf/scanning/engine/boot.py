"""What starts at boot: systemd units (wants/requires links, aliases, masks, presets), SysV rc links, OpenRC.

Shared by the `services` and `logging` families. Systemd is read the way `systemctl is-enabled` would: a unit
is enabled when some `*.wants/` or `*.requires/` directory of /etc or the vendor unit directories links it (by
its name, an alias, or a link whose target is the unit file), it is not masked (/etc/systemd/system/UNIT ->
/dev/null), or a preset file enables it (systemd applies `enable` presets on a cloud image's first boot).
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shelf.scanning.engine.model import Evidence

if TYPE_CHECKING:
    from shelf.scanning.engine.context import ScanContext

UNIT_DIRS = ("/etc/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")
PRESET_DIRS = (
    "/etc/systemd/system-preset",
    "/usr/local/lib/systemd/system-preset",
    "/usr/lib/systemd/system-preset",
    "/lib/systemd/system-preset",
)
SYSV_RC_DIRS = tuple(f"/etc/rc{n}.d" for n in (2, 3, 4, 5)) + tuple(f"/etc/rc.d/rc{n}.d" for n in (2, 3, 4, 5))
MASK_TARGETS = ("/dev/null", "../../../dev/null", "../../dev/null")


@dataclass
class Started:
    """How something is started at boot, with the evidence a reviewer can check."""

    how: str  # "systemd", "preset", "sysv", "openrc"
    unit: str
    evidence: Evidence


class Boot:
    def __init__(self, ctx: ScanContext):
        self.ctx = ctx
        self.links: dict[str, list[str]] = {}  # unit name -> *.wants/*.requires entries naming or pointing at it
        for base in UNIT_DIRS:
            for wants in ctx.listdir(base):
                if not wants.endswith((".wants", ".requires")):
                    continue
                for name in ctx.listdir(f"{base}/{wants}"):
                    path = f"{base}/{wants}/{name}"
                    self.links.setdefault(name, []).append(path)
                    target = ctx.readlink(path)
                    if target and posixpath.basename(target) != name:
                        self.links.setdefault(posixpath.basename(target), []).append(path)
        self.aliases: dict[str, str] = {}  # alias name -> the unit it names (symlinks between unit names)
        for base in UNIT_DIRS:
            for name in ctx.listdir(base):
                if "." not in name or name.endswith((".wants", ".requires", ".d")):
                    continue
                target = ctx.readlink(f"{base}/{name}")
                if target and target not in MASK_TARGETS and posixpath.basename(target) != name:
                    self.aliases.setdefault(name, posixpath.basename(target))
        self._presets: list[tuple[str, str, str, int, str]] | None = None

    # ---- systemd --------------------------------------------------------------------------------------
    def masked(self, unit: str) -> bool:
        return self.ctx.readlink(f"/etc/systemd/system/{unit}") in MASK_TARGETS

    def unit_path(self, unit: str) -> str | None:
        """The unit file systemd would load for `unit` (the first unit directory holding it)."""
        for base in UNIT_DIRS:
            path = f"{base}/{unit}"
            if self.ctx.is_file(path):
                return path
        if "@" in unit and not unit.split("@", 1)[1].startswith("."):
            return self.unit_path(unit.split("@", 1)[0] + "@." + unit.rsplit(".", 1)[1])
        return None

    def _names(self, unit: str) -> set[str]:
        names = {unit}
        for alias, target in self.aliases.items():
            if target == unit:
                names.add(alias)
        if unit in self.aliases:
            names.add(self.aliases[unit])
        return names

    def systemd(self, units: tuple[str, ...]) -> Started | None:
        """The first of `units` (names, aliases, templates `name@.service`) enabled at boot and not masked."""
        for unit in units:
            names = self._names(unit)
            if any(self.masked(n) for n in names):
                continue
            for name in sorted(names):
                if name.endswith("@.service") or name.endswith("@.socket"):
                    prefix, suffix = name.split("@.", 1)
                    hits = [n for n in self.links if n.startswith(prefix + "@") and n.endswith("." + suffix)]
                    hits = [h for h in hits if not self.masked(h)]
                    if hits:
                        path = self.links[hits[0]][0]
                        return Started("systemd", hits[0], Evidence(path, None, f"{hits[0]} is enabled at boot"))
                elif name in self.links:
                    path = self.links[name][0]
                    return Started("systemd", unit, Evidence(path, None, f"{unit} is enabled at boot"))
        for unit in units:
            if "@." in unit or any(self.masked(n) for n in self._names(unit)):
                continue
            preset = self.preset(unit)
            if preset is not None and self.unit_path(unit):
                path, line, text = preset
                return Started("preset", unit, Evidence(path, line, text))
        return None

    def preset(self, unit: str) -> tuple[str, int, str] | None:
        """(file, line, text) of the preset line that enables `unit`; None when the first matching line disables."""
        if self._presets is None:
            by_name: dict[str, str] = {}
            for base in PRESET_DIRS:
                for name in self.ctx.listdir(base):
                    if name.endswith(".preset"):
                        by_name.setdefault(name, f"{base}/{name}")
            self._presets = []
            for name in sorted(by_name):
                text = self.ctx.read_text(by_name[name], 256 * 1024) or ""
                for number, line in enumerate(text.splitlines(), start=1):
                    m = re.match(r"^\s*(enable|disable)\s+(\S+)", line)
                    if m:
                        self._presets.append((m.group(1), m.group(2), by_name[name], number, line.strip()))
        for action, pattern, path, number, text in self._presets:
            if fnmatch.fnmatchcase(unit, pattern):
                return (path, number, text) if action == "enable" else None
        return None

    def unit_settings(self, unit: str) -> list[tuple[str, str, str, int]]:
        """(key, value, file, line) of `unit`'s [Service]/[Socket] settings: the unit file then its drop-ins."""
        path = self.unit_path(unit)
        files = [path] if path else []
        dropins: dict[str, str] = {}
        for base in reversed(UNIT_DIRS):  # /etc last: same-named drop-ins in /etc win
            for name in self.ctx.listdir(f"{base}/{unit}.d"):
                if name.endswith(".conf"):
                    dropins[name] = f"{base}/{unit}.d/{name}"
        files += [dropins[name] for name in sorted(dropins)]
        settings = []
        for file in files:
            text = self.ctx.read_text(file, 256 * 1024) or ""
            section = ""
            pending = ""
            start = 0
            for number, raw in enumerate(text.splitlines(), start=1):
                line = raw.strip()
                if not pending:
                    start = number
                if line.endswith("\\"):
                    pending += line[:-1] + " "
                    continue
                line, pending = pending + line, ""
                if not line or line.startswith(("#", ";")):
                    continue
                if line.startswith("["):
                    section = line.strip("[]")
                    continue
                key, sep, value = line.partition("=")
                if sep and section in ("Service", "Socket"):
                    settings.append((key.strip(), value.strip(), file, start))
        return settings

    def exec_start(self, unit: str) -> tuple[list[str], Evidence] | None:
        """The effective ExecStart= argv of `unit` (an empty ExecStart= resets), $VAR/${VAR} expanded from
        Environment= and EnvironmentFile=; None when the unit has none."""
        env: dict[str, str] = {}
        current: tuple[str, str, int] | None = None
        for key, value, file, line in self.unit_settings(unit):
            if key == "Environment":
                for item in _split(value):
                    name, sep, val = item.partition("=")
                    if sep:
                        env[name] = val
            elif key == "EnvironmentFile":
                env.update(read_env_file(self.ctx, value.lstrip("-")))
            elif key == "ExecStart":
                current = None if not value else (value, file, line)
        if current is None:
            return None
        value, file, line = current
        command = value.lstrip("-@+!:")

        def expand(m: re.Match) -> str:
            return env.get(m.group(1) or m.group(2), "")

        argv = []
        for word in _split(command):
            if re.fullmatch(r"\$(\w+)", word):  # $VAR alone splits into words, like systemd does
                argv += _split(env.get(word[1:], ""))
            else:
                argv.append(re.sub(r"\$\{(\w+)\}|\$(\w+)", expand, word))
        return argv, Evidence(file, line, f"ExecStart={value}"[:300])

    @property
    def systemd_init(self) -> bool:
        return self.ctx.exists("/lib/systemd/systemd") or self.ctx.exists("/usr/lib/systemd/systemd")

    # ---- SysV init and OpenRC -------------------------------------------------------------------------
    def sysv(self, scripts: tuple[str, ...]) -> Started | None:
        for directory in SYSV_RC_DIRS:
            for name in self.ctx.listdir(directory):
                m = re.match(r"^S\d\d(.+)$", name)
                if m and m.group(1) in scripts and self.ctx.exists(f"/etc/init.d/{m.group(1)}"):
                    native = f"{m.group(1)}.service"
                    if self.masked(native) or (self.systemd_init and self.unit_path(native)):
                        continue  # systemd ignores a SysV script that has a native unit of the same name
                    path = f"{directory}/{name}"
                    return Started("sysv", m.group(1), Evidence(path, None, f"SysV init script {m.group(1)} starts"))
        return None

    def openrc(self, services: tuple[str, ...]) -> Started | None:
        for level in self.ctx.listdir("/etc/runlevels"):
            for service in services:
                path = f"/etc/runlevels/{level}/{service}"
                if self.ctx.lexists(path):
                    return Started("openrc", service, Evidence(path, None, f"OpenRC service {service} in {level}"))
        return None

    def started(
        self, units: tuple[str, ...] = (), sysv: tuple[str, ...] = (), openrc: tuple[str, ...] = ()
    ) -> Started | None:
        return self.systemd(units) or self.sysv(sysv) or self.openrc(openrc)


def cached(ctx: ScanContext) -> Boot:
    if "boot" not in ctx.cache:
        ctx.cache["boot"] = Boot(ctx)
    return ctx.cache["boot"]


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=False)
    except ValueError:
        return text.split()


def read_env_file(ctx: ScanContext, path: str) -> dict[str, str]:
    """KEY=VALUE lines of a shell-style environment file (/etc/default/*, /etc/sysconfig/*), quotes removed."""
    env: dict[str, str] = {}
    text = ctx.read_text(path, 256 * 1024) or ""
    for line in text.splitlines():
        m = re.match(r"^\s*(?:export\s+)?([A-Za-z_]\w*)=(.*)$", line)
        if not m:
            continue
        value = m.group(2).strip()
        if value[:1] in ("'", '"'):
            end = value.find(value[0], 1)
            value = value[1:end] if end > 0 else value[1:]
        else:
            value = value.split(" #", 1)[0].strip()
        env[m.group(1)] = value
    return env
