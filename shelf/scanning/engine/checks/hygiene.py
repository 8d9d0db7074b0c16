"""Family `hygiene`: what the image maker left behind (shell histories, logs) and first-boot set-up (cloud-init)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from shelf.scanning.engine import cloudinit
from shelf.scanning.engine.context import ScanContext, WalkLimits
from shelf.scanning.engine.model import Evidence, Finding
from shelf.scanning.engine.registry import check

HISTORY_FILES = (
    ".bash_history",
    ".zsh_history",
    ".ash_history",
    ".sh_history",
    ".history",
    ".python_history",
    ".mysql_history",
    ".psql_history",
    ".sqlite_history",
    ".rediscli_history",
    ".node_repl_history",
    ".local/share/fish/fish_history",
)

LOG_NAMES = {
    "syslog",
    "messages",
    "secure",
    "auth.log",
    "kern.log",
    "daemon.log",
    "user.log",
    "cron",
    "maillog",
    "mail.log",
    "debug",
    "wtmp",
    "btmp",
}
ROTATED = re.compile(r"(\.\d+|\.old|-\d{8})(\.(gz|xz|bz2|zst|lz4))?$|\.(gz|xz|bz2|zst|lz4)$")
MAX_EVIDENCE = 50


@check("hygiene")
def shell_history(ctx: ScanContext) -> Iterator[Finding]:
    for name, home in ctx.homes():
        for history in HISTORY_FILES:
            path = posixpath.join(home, history)
            size = ctx.size(path)
            if not size or not ctx.is_file(path):
                continue
            yield Finding(
                check_id="hygiene.history",
                severity="medium",
                title=f"Shell or client history of {name!r} is left in the image",
                evidence=[Evidence(path=path, line=None, text=f"{size} bytes")],
                fix=f"Delete {path} (and run `history -c` in the shell that builds the image) before capturing it.",
                family="hygiene",
                data={"user": name, "bytes": size},
            )


def is_log(path: str) -> bool:
    name = posixpath.basename(path)
    if "/journal/" in path and name.endswith((".journal", ".journal~")):
        return True
    return name in LOG_NAMES or name.endswith(".log") or bool(ROTATED.search(name))


@check("hygiene")
def leftover_logs(ctx: ScanContext) -> Iterator[Finding]:
    files = []
    total = 0
    for entry in ctx.iter_files("/var/log", WalkLimits(max_size=1 << 50, max_files=20_000, max_depth=6)):
        if entry.size > 0 and is_log(entry.path):
            files.append(entry)
            total += entry.size
    if not files:
        return
    evidence = [Evidence(path=e.path, line=None, text=f"{e.size} bytes") for e in files[:MAX_EVIDENCE]]
    if len(files) > MAX_EVIDENCE:
        evidence.append(Evidence(path="/var/log", line=None, text=f"... and {len(files) - MAX_EVIDENCE} more"))
    yield Finding(
        check_id="hygiene.logs",
        severity="low",
        title=f"{len(files)} leftover log file(s) under /var/log ({total} bytes)",
        evidence=evidence,
        fix=(
            "Truncate the logs and delete rotated archives and the journal before capturing the image, e.g. "
            "`find /var/log -type f \\( -name '*.gz' -o -name '*.[0-9]' \\) -delete; "
            "find /var/log -type f -exec truncate -s 0 {} +; rm -rf /var/log/journal/*`."
        ),
        family="hygiene",
        data={"files": len(files), "bytes": total},
    )


@check("hygiene")
def cloud_init(ctx: ScanContext) -> Iterator[Finding]:
    if ctx.os is None:
        return
    ci = cloudinit.cached_state(ctx)
    fix_install = (
        "Install cloud-init and enable its services (`systemctl enable cloud-init-local cloud-init cloud-config "
        "cloud-final`) so the buyer's password, SSH key and hostname are set at first boot."
    )
    if not ci.installed:
        yield Finding(
            check_id="hygiene.cloud_init",
            severity="medium",
            title="cloud-init is not installed: the server cannot take the buyer's password or key at first boot",
            evidence=[
                Evidence(path="/usr/bin/cloud-init", line=None, text=f"not found (package database: {ctx.package_db})")
            ],
            fix=fix_install,
            family="hygiene",
            data={"installed": False},
        )
    elif ci.disabled_by:
        yield Finding(
            check_id="hygiene.cloud_init",
            severity="medium",
            title="cloud-init is installed but disabled",
            evidence=[Evidence(path=ci.disabled_by.split(" ")[0], line=None, text=ci.disabled_by)],
            fix="Remove /etc/cloud/cloud-init.disabled and unmask the cloud-init units.",
            family="hygiene",
            data={"installed": True, "disabled_by": ci.disabled_by},
        )
    elif not ci.enabled:
        yield Finding(
            check_id="hygiene.cloud_init",
            severity="medium",
            title="cloud-init is installed but none of its services is enabled",
            evidence=[
                Evidence(path="/etc/systemd/system", line=None, text="no cloud-init unit in any *.wants directory")
            ],
            fix=fix_install,
            family="hygiene",
            data={"installed": True, "enabled": False},
        )


MACHINE_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")
_MACHINE_ID = re.compile(rb"^[0-9a-f]{32}\s*$")


@check("hygiene")
def machine_id(ctx: ScanContext) -> Iterator[Finding]:
    """A machine id left in the image is shared by every server launched from it.

    systemd derives the DHCP client identity, the journal's identity and more from it, so servers would take
    each other's leases and logs. An empty file or "uninitialized" makes systemd generate one at first boot.
    """
    for path in MACHINE_ID_FILES:
        if ctx.readlink(path) is not None:
            continue  # /var/lib/dbus/machine-id -> /etc/machine-id: judged there
        data = ctx.read_bytes(path, 4096)
        if not data or not _MACHINE_ID.match(data):
            continue
        yield Finding(
            check_id="hygiene.machine_id",
            severity="medium",
            title="A machine id is left in the image: every server launched from it would share it",
            evidence=[Evidence(path=path, line=1, text=f"{data[:8].decode()}… (32 hex digits)")],
            fix="Empty it before making the image (`truncate -s 0 /etc/machine-id; rm -f /var/lib/dbus/machine-id`), "
            "so systemd generates a unique one at first boot.",
            family="hygiene",
            data={"path": path},
        )
