"""Is cloud-init (or cloudbase-init) installed and would it run at first boot? Shared by `hygiene` and `ssh`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shelf.scanning.engine.context import ScanContext

UNITS = (
    "cloud-init-local.service",
    "cloud-init.service",
    "cloud-config.service",
    "cloud-final.service",
    "cloud-init.target",
    "cloud-init-main.service",
    "cloud-init-network.service",
)
OPENRC_SERVICES = ("cloud-init-local", "cloud-init", "cloud-config", "cloud-final")


@dataclass
class CloudInitState:
    installed: bool
    installed_by: str | None
    enabled: bool
    enabled_by: list[str] = field(default_factory=list)
    disabled_by: str | None = None
    ssh_deletekeys: bool = True
    ssh_deletekeys_source: str | None = None

    @property
    def active(self) -> bool:
        return self.installed and self.enabled and not self.disabled_by


def cached_state(ctx: ScanContext) -> CloudInitState:
    if "cloud_init" not in ctx.cache:
        ctx.cache["cloud_init"] = state(ctx)
    return ctx.cache["cloud_init"]


def state(ctx: ScanContext) -> CloudInitState:
    installed_by = None
    for name in ("cloud-init", "cloudbase-init"):
        if name in ctx.package_names:
            installed_by = f"package {name} ({ctx.package_db})"
            break
    if installed_by is None:
        for path in ("/usr/bin/cloud-init", "/usr/local/bin/cloud-init"):
            if ctx.exists(path):
                installed_by = path
                break
    enabled_by = []
    for base in ("/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"):
        for wants in ctx.listdir(base):
            if not wants.endswith((".wants", ".requires")):
                continue
            for name in ctx.listdir(f"{base}/{wants}"):
                if name in UNITS:
                    enabled_by.append(f"{base}/{wants}/{name}")
    masked = [u for u in UNITS if ctx.readlink(f"/etc/systemd/system/{u}") in ("/dev/null", "../../../dev/null")]
    if not enabled_by:
        for base in ("/etc/systemd/system-preset", "/usr/lib/systemd/system-preset", "/lib/systemd/system-preset"):
            for name in ctx.listdir(base):
                text = ctx.read_text(f"{base}/{name}", 256 * 1024) or ""
                for number, line in enumerate(text.splitlines(), start=1):
                    if re.match(r"^\s*enable\s+cloud-(init|config|final)", line):
                        enabled_by.append(f"{base}/{name}:{number}")
    for service in OPENRC_SERVICES:
        if ctx.openrc_enabled(service):
            enabled_by.append(f"/etc/runlevels/*/{service}")
    disabled_by = None
    if ctx.lexists("/etc/cloud/cloud-init.disabled"):
        disabled_by = "/etc/cloud/cloud-init.disabled"
    elif masked:
        disabled_by = f"/etc/systemd/system/{masked[0]} is masked"
    deletekeys, source = _ssh_deletekeys(ctx)
    return CloudInitState(
        installed=installed_by is not None,
        installed_by=installed_by,
        enabled=bool(enabled_by),
        enabled_by=enabled_by,
        disabled_by=disabled_by,
        ssh_deletekeys=deletekeys,
        ssh_deletekeys_source=source,
    )


def _ssh_deletekeys(ctx: ScanContext) -> tuple[bool, str | None]:
    """cloud.cfg, then cloud.cfg.d/*.cfg in lexical order, later files overriding; default true."""
    value, source = True, None
    files = [
        "/etc/cloud/cloud.cfg",
        *(f"/etc/cloud/cloud.cfg.d/{n}" for n in ctx.listdir("/etc/cloud/cloud.cfg.d") if n.endswith(".cfg")),
    ]
    for path in files:
        text = ctx.read_text(path, 1024 * 1024)
        if not text:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            m = re.match(r"^ssh_deletekeys\s*:\s*([^#\s]+)", line)
            if m:
                value = m.group(1).strip("'\"").lower() in ("true", "yes", "on", "1")
                source = f"{path}:{number}"
    return value, source
