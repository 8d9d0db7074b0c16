"""Shelf's host-security scan engine: reads a disk image directly with dissect (no boot, no mount) and checks it.

Django-free on purpose: the web side, the CLI and the benchmark all call `scan_image()`.

Check ids (family modules in `checks/`, severities critical > high > medium > low > info):
    os.eol                   high      release past its end of security support (evaluation date `today`)
    accounts.password_hash   high      an account has a usable password hash
    accounts.empty_password  critical  an account's password field is empty
    accounts.extra_uid0      high      a UID 0 account other than root
    ssh.password_auth        high      effective PasswordAuthentication yes (medium when only in a Match block)
    ssh.root_login           high      effective PermitRootLogin yes (medium when only in a Match block)
    ssh.empty_passwords      critical  effective PermitEmptyPasswords yes (medium when only in a Match block)
    ssh.authorized_keys      high      authorized keys baked in for some user
    ssh.private_key          high      a private key in some ~/.ssh
    ssh.host_keys            medium    baked host keys (low when cloud-init will regenerate them)
    hygiene.history          medium    a non-empty shell/client history
    hygiene.logs             low       leftover logs, rotated archives, journal files
    hygiene.cloud_init       medium    cloud-init missing, not enabled, or disabled
    secrets.private_key      high      a private key block in a text file
    secrets.cloud_key        critical  AWS / Tencent Cloud / Alibaba Cloud access keys
    secrets.token            high      GitHub / GitLab / Slack tokens
    secrets.credential_file  high      .git-credentials, .netrc, .pgpass, .my.cnf, .aws/credentials, docker auths, ...
    firewall.none            medium    no firewall configured to start at boot
    passwords.builtin        high      a bundled software's password written in its configuration, no first-boot generator
    passwords.generated      info      the same with a first-boot generator present (a note for the reviewer)
    passwords.default        high      a well-known default or weak password (admin/admin, root/123456, ...)
    web.directory_listing    medium    nginx autoindex on, Apache Options Indexes, .htaccess Indexes
    web.vcs_exposed          high      a .git/.svn/.hg/.bzr directory inside a web root
    web.root_user            high      nginx, Apache or a PHP-FPM pool running as root
    web.debug                medium    PHP display_errors, Django DEBUG, Laravel APP_DEBUG, WP_DEBUG, Flask development
    eol_software.php         high      an end-of-life PHP line (packages or install paths)
    eol_software.phpmyadmin  high      an end-of-life phpMyAdmin line
    eol_software.mysql       high      an end-of-life MySQL line
    eol_software.mariadb     high      an end-of-life MariaDB line
    malware.detected         critical  a file matches a malware rule (YARA built-in or operator rules, ClamAV)
    malware.package_modified high      a package's file differs from what the package installed (medium outside
                                       binaries and libraries; configuration files are expected to change)
    services.no_auth         critical  a high-risk service (Redis, MySQL, MongoDB, ...) started at boot listens beyond
                                       loopback without authentication and the firewall does not block it
    services.exposed         medium    the same with authentication (low: no auth, but firewalled; info: both)
    permissions.world_writable high    a world-writable directory other than a sticky /tmp-like one (medium outside
                                       system locations)
    permissions.system_dirs  high      /etc, /bin, /usr/bin, ... writable by non-root users or not owned by root
    permissions.sensitive    high      shadow readable, passwd/shadow/sudoers writable (critical), ~/.ssh, keys open
    permissions.home_modes   low       /root wider than 750, ~/.ssh wider than 700
    permissions.suid         high      a SUID/SGID file no package ships (critical: a shell or interpreter; medium:
                                       SGID or non-root), or a packaged one whose content changed
    logging.syslog           medium    no syslog daemon and journald absent or Storage=none (low: volatile only)
    logging.login_records    medium    /var/log/wtmp or /var/log/btmp missing or sent to /dev/null
    logging.sudo             medium    sudoers turns sudo's logging off (low: only for some users or commands)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import date
from typing import Any, BinaryIO

from shelf.scanning.engine.model import ENGINE_VERSION, Evidence, Finding, OsInfo, Package, ScanResult
from shelf.scanning.engine.severity import SEVERITY_RANK

CHECK_IDS = (
    "os.eol",
    "accounts.password_hash",
    "accounts.empty_password",
    "accounts.extra_uid0",
    "ssh.password_auth",
    "ssh.root_login",
    "ssh.empty_passwords",
    "ssh.authorized_keys",
    "ssh.private_key",
    "ssh.host_keys",
    "hygiene.history",
    "hygiene.logs",
    "hygiene.cloud_init",
    "secrets.private_key",
    "secrets.cloud_key",
    "secrets.token",
    "secrets.credential_file",
    "firewall.none",
    "passwords.builtin",
    "passwords.generated",
    "passwords.default",
    "web.directory_listing",
    "web.vcs_exposed",
    "web.root_user",
    "web.debug",
    "eol_software.php",
    "eol_software.phpmyadmin",
    "eol_software.mysql",
    "eol_software.mariadb",
    "malware.detected",
    "malware.package_modified",
    "services.no_auth",
    "services.exposed",
    "permissions.world_writable",
    "permissions.system_dirs",
    "permissions.sensitive",
    "permissions.home_modes",
    "permissions.suid",
    "logging.syslog",
    "logging.login_records",
    "logging.sudo",
)

__all__ = [
    "CHECK_IDS",
    "ENGINE_VERSION",
    "Evidence",
    "Finding",
    "OsInfo",
    "Package",
    "ScanResult",
    "scan_image",
    "scan_target",
]


def _noop(_: str) -> None:
    pass


def _failed(reason: str, started: float, **stats: Any) -> ScanResult:
    return ScanResult(
        os=None,
        packages=[],
        findings=[],
        incomplete=[reason],
        stats={"seconds": round(time.monotonic() - started, 4), "files_read": 0, "bytes_read": 0, **stats},
    )


def scan_image(
    path: str | os.PathLike,
    disk_format: str,
    *,
    checks: list[str] | None = None,
    today: date | None = None,
    progress: Callable[[str], None] | None = None,
    yara_rules: str | list[str] | None = None,
    malware_seconds: float | None = None,
) -> ScanResult:
    """Scan one validated image file of `disk_format` (raw, qcow2, vmdk, vhd, vhdx).

    Only `path` is opened, read-only; the container type is the one given, never probed. Anything that keeps
    the scan from reading the image (unsupported or unsafe container, no filesystem, unknown OS, read errors)
    ends up in `result.incomplete`, never as a pass. `yara_rules` are extra (operator-managed) YARA rule sources
    for the malware family, on top of Shelf's built-in rules; `malware_seconds` overrides its time budget.
    """
    from shelf.scanning.engine.opener import ImageOpenError, open_host_file

    started = time.monotonic()
    checks and _validate_checks(checks)
    try:
        fh = open_host_file(path)
    except ImageOpenError as exc:
        return _failed(f"open: {exc}", started)
    with fh:
        return scan_handle(
            fh,
            disk_format,
            checks=checks,
            today=today,
            progress=progress,
            yara_rules=yara_rules,
            malware_seconds=malware_seconds,
            started=started,
        )


def scan_handle(
    fh: BinaryIO,
    disk_format: str,
    *,
    checks: list[str] | None = None,
    today: date | None = None,
    progress: Callable[[str], None] | None = None,
    yara_rules: str | list[str] | None = None,
    malware_seconds: float | None = None,
    started: float | None = None,
) -> ScanResult:
    """Scan an image read through any seekable binary handle, e.g. an object in S3 read by ranged GETs
    (shelf.storage.s3.RangedObject); only this handle is read, through the same sealed view as a file."""
    from shelf.scanning.engine.opener import ImageOpenError, SealedHandle, open_container, sealed_target

    progress = progress or _noop
    started = time.monotonic() if started is None else started
    checks and _validate_checks(checks)
    sealed = SealedHandle(fh)
    progress("opening image")
    try:
        container = open_container(sealed, disk_format)
        target = sealed_target(container)
    except ImageOpenError as exc:
        return _failed(f"open: {exc}", started, image_bytes_read=sealed.bytes_read)
    except Exception as exc:
        return _failed(f"open: cannot read the disk: {exc}", started, image_bytes_read=sealed.bytes_read)
    open_seconds = time.monotonic() - started
    options = _options(yara_rules, malware_seconds)
    result = _scan(target, checks=checks, today=today, progress=progress, started=started, options=options)
    result.stats["open_seconds"] = round(open_seconds, 4)
    result.stats["image_bytes_read"] = sealed.bytes_read
    result.stats["image_reads"] = sealed.reads
    return result


def scan_target(
    target: Any,
    *,
    checks: list[str] | None = None,
    today: date | None = None,
    progress: Callable[[str], None] | None = None,
    yara_rules: str | list[str] | None = None,
    malware_seconds: float | None = None,
) -> ScanResult:
    """Scan an already-opened dissect Target (tests, or callers that built one the safe way)."""
    loader = type(getattr(target, "_loader", None)).__name__
    if loader in ("LocalLoader", "DirLoader") or str(getattr(target, "path", "")) == "local":
        raise ValueError("refusing to scan the scanner's own host (or a host directory) as a target")
    checks and _validate_checks(checks)
    options = _options(yara_rules, malware_seconds)
    return _scan(
        target, checks=checks, today=today, progress=progress or _noop, started=time.monotonic(), options=options
    )


def _options(yara_rules: str | list[str] | None, malware_seconds: float | None) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if yara_rules:
        options["yara_rules"] = [yara_rules] if isinstance(yara_rules, str) else [str(r) for r in yara_rules]
    if malware_seconds is not None:
        options["malware_seconds"] = float(malware_seconds)
    return options


def _validate_checks(checks: list[str]) -> None:
    from shelf.scanning.engine.checks import select

    select(checks)


def _scan(
    target: Any,
    *,
    checks: list[str] | None,
    today: date | None,
    progress: Callable[[str], None],
    started: float,
    options: dict[str, Any] | None = None,
) -> ScanResult:
    from shelf.scanning.engine import packages as package_db
    from shelf.scanning.engine.checks import keep_finding, select
    from shelf.scanning.engine.context import ScanContext, ScanReadError
    from shelf.scanning.engine.osdetect import detect_os

    specs, keep = select(checks)
    ctx = ScanContext(target.fs, today=today, options=options)
    if not len(getattr(target, "filesystems", [None])):
        ctx.incomplete("no filesystem found on the disk")

    def timed(name: str, func: Callable[[], Any]) -> Any:
        ctx._current_check = name
        t0 = time.monotonic()
        try:
            return func()
        except ScanReadError as exc:
            ctx.incomplete(f"read error: {exc}")
        except Exception as exc:  # a check must never turn a crash into a pass
            ctx.incomplete(f"internal error {type(exc).__name__}: {exc}")
        finally:
            ctx.stats.per_check[name] = ctx.stats.per_check.get(name, 0.0) + time.monotonic() - t0
        return None

    progress("detecting operating system")
    ctx.os = timed("os", lambda: detect_os(ctx))
    if ctx.os is None:
        ctx._current_check = "os"
        ctx.incomplete("unknown operating system (no os-release or release file found)")
    progress("reading package database")
    collected = timed("packages", lambda: package_db.collect(ctx, ctx.os))
    if collected:
        ctx.packages, ctx.package_db = collected

    findings: list[Finding] = []
    for spec in specs:
        progress(f"checking {spec.family}")

        def run(spec: Any = spec) -> None:
            for finding in spec.func(ctx):
                if keep_finding(finding.check_id, keep):
                    findings.append(finding)

        timed(spec.family, run)

    findings.sort(key=lambda f: (SEVERITY_RANK[f.severity], f.check_id, f.evidence[0].path if f.evidence else ""))
    stats = {"seconds": round(time.monotonic() - started, 4), **ctx.stats.as_dict(), "package_db": ctx.package_db}
    return ScanResult(
        os=ctx.os, packages=ctx.packages, findings=findings, incomplete=ctx.incomplete_reasons, stats=stats
    )
