"""Family `permissions`: world-writable directories, key directories and files, SUID/SGID programs.

Modes, owners and groups are the filesystem's own (the inode as dissect reads it), never the scanner's.

    permissions.world_writable  high/medium  a world-writable directory other than a sticky temporary directory
                                             (high under system locations, medium elsewhere)
    permissions.system_dirs     high         /etc, /bin, /sbin, /usr, /usr/bin, /usr/sbin, /usr/lib, /lib writable
                                             by someone other than root, or not owned by root
    permissions.sensitive       high/critical  /etc/shadow or /etc/gshadow readable by others; /etc/passwd,
                                             /etc/group, /etc/shadow, sudoers writable by others (critical);
                                             /root, a ~/.ssh or an authorized_keys writable by others; a private
                                             key (~/.ssh/id_*, SSH host keys) readable by others
    permissions.home_modes      low          /root wider than 750, a ~/.ssh wider than 700
    permissions.suid            critical/high/medium  a SUID/SGID file the distribution does not ship that way:
                                             a shell, interpreter or file tool (critical), a file no package
                                             owns (dpkg or apk file lists; high for SUID root), a packaged
                                             file whose content differs from the package (dpkg md5sums)
"""

# ruff: noqa: S108  (paths inside the scanned image, not temporary files of the scanner)

from __future__ import annotations

import hashlib
import posixpath
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass

from shelf.scanning.engine.context import ModeEntry, ScanContext
from shelf.scanning.engine.model import Evidence, Finding
from shelf.scanning.engine.registry import check

# World-writable directories that are fine with the sticky bit set (and anything sticky below the first three).
STICKY_TREES = ("/tmp", "/var/tmp", "/dev/shm")
STICKY_DIRS = frozenset(
    {"/run/lock", "/var/lock", "/run/shm", "/var/crash", "/var/lib/php/sessions", "/var/spool/samba", "/var/metrics"}
)
SYSTEM_LOCATIONS = (
    "/etc",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/boot",
    "/root",
    "/var/lib",
    "/var/log",
    "/var/spool",
    "/var/cache",
    "/var/www",
    "/var/mail",
)
SYSTEM_DIRS = ("/etc", "/bin", "/sbin", "/usr", "/usr/bin", "/usr/sbin", "/usr/lib", "/lib")
# Where SUID/SGID files are looked for, and how many levels deep files are stat'ed.
SUID_TREES = {
    "/bin": 1, "/sbin": 1, "/usr/bin": 1, "/usr/sbin": 1, "/usr/games": 1, "/usr/local": 4, "/usr/libexec": 3,
    "/usr/lib": 2, "/usr/lib64": 2, "/lib": 2, "/lib64": 2, "/opt": 4, "/home": 4, "/root": 4, "/srv": 4,
    "/var/www": 4, "/tmp": 6, "/var/tmp": 6, "/dev/shm": 6,
}  # fmt: skip
# Where no package puts programs: SUID files here are findings even without file lists (rpm images).
UNPACKAGED_TREES = ("/usr/local", "/opt", "/home", "/root", "/srv", "/var/www", "/tmp", "/var/tmp", "/dev/shm")
# Programs that hand out a shell or arbitrary file access when SUID (GTFOBins); no distribution ships them SUID.
DANGEROUS = frozenset(
    "sh bash dash zsh ksh mksh pdksh csh tcsh fish ash busybox python python2 python3 perl ruby lua php node "
    "nodejs tclsh wish expect gdb find vim vi vim.basic vim.tiny rvim nvim nano pico ed less more view awk gawk "
    "mawk nawk sed env cp mv dd tee tar zip unzip nmap socat nc netcat ncat strace ltrace taskset nice xargs "
    "timeout stdbuf chmod chown cat head tail od xxd base64 install rsync git docker systemctl journalctl "
    "openssl wget curl ftp scp ssh-keygen make emacs watch flock ionice chroot run-parts script".split()
)
MAX_EVIDENCE = 50
# /proc, /sys, /dev, /run are mounted over at boot (procfs, sysfs, devtmpfs, tmpfs). /$fs$ is where dissect puts the
# filesystems no fstab entry mounts (e.g. a FAT boot partition, whose directories it reports as 0777 since FAT has no
# modes): they are not part of the running system's tree.
WALK_SKIP = ("/proc", "/sys", "/dev", "/run", "/$fs$")


def mode_text(entry: ModeEntry) -> str:
    return f"{stat.filemode(entry.mode)} {oct(stat.S_IMODE(entry.mode))[2:].zfill(4)} uid={entry.uid} gid={entry.gid}"


def under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


@dataclass
class Walk:
    dirs: list[ModeEntry]
    special: list[ModeEntry]  # SUID/SGID regular files


def walked(ctx: ScanContext) -> Walk:
    if "permissions_walk" not in ctx.cache:
        dirs: list[ModeEntry] = []
        special: list[ModeEntry] = []
        for entry in ctx.walk_modes("/", files_under=SUID_TREES, skip=WALK_SKIP):
            if stat.S_ISDIR(entry.mode):
                dirs.append(entry)
            elif entry.mode & (stat.S_ISUID | stat.S_ISGID):
                special.append(entry)
        ctx.cache["permissions_walk"] = Walk(dirs, special)
    return ctx.cache["permissions_walk"]


# ---- world-writable directories -------------------------------------------------------------------------------
@check("permissions")
def world_writable(ctx: ScanContext) -> Iterator[Finding]:
    if ctx.os is None:
        return
    bad = []
    for entry in walked(ctx).dirs:
        if not entry.mode & stat.S_IWOTH or entry.path in SYSTEM_DIRS:
            continue  # SYSTEM_DIRS are reported by permissions.system_dirs
        sticky = bool(entry.mode & stat.S_ISVTX)
        if sticky and (entry.path in STICKY_DIRS or under(entry.path, STICKY_TREES)):
            continue
        bad.append(entry)
    reported: list[tuple[ModeEntry, list[ModeEntry]]] = []
    for entry in sorted(bad, key=lambda e: e.path):
        if reported and entry.path.startswith(reported[-1][0].path.rstrip("/") + "/"):
            reported[-1][1].append(entry)  # below a directory already reported: one finding per tree
            continue
        reported.append((entry, []))
    for top, below in reported:
        system = under(top.path, SYSTEM_LOCATIONS) or top.path == "/"
        sticky = bool(top.mode & stat.S_ISVTX)
        evidence = [Evidence(top.path, None, mode_text(top))]
        evidence += [Evidence(e.path, None, mode_text(e)) for e in below[: MAX_EVIDENCE - 1]]
        if len(below) >= MAX_EVIDENCE:
            evidence.append(Evidence(top.path, None, f"... and {len(below) - MAX_EVIDENCE + 1} more below"))
        more = f" (and {len(below)} more below it)" if below else ""
        yield Finding(
            check_id="permissions.world_writable",
            severity="high" if system else "medium",
            title=f"{top.path} is world-writable{' (sticky)' if sticky else ''}{more}",
            evidence=evidence,
            fix=(
                f"`chmod o-w {top.path}`{' -R' if below else ''} and give write access to the service's own user or "
                "group instead (e.g. `chown www-data: DIR && chmod 750 DIR`); only /tmp-like directories may be "
                "world-writable, and only with the sticky bit (1777)."
            ),
            family="permissions",
            data={"mode": oct(stat.S_IMODE(top.mode)), "sticky": sticky, "below": len(below), "system": system},
        )


# ---- key system directories -------------------------------------------------------------------------------------
@check("permissions")
def system_dirs(ctx: ScanContext) -> Iterator[Finding]:
    if ctx.os is None:
        return
    for path in SYSTEM_DIRS:
        st = ctx.lstat(path)
        if st is None or not stat.S_ISDIR(st.st_mode):
            continue  # absent, or a usrmerge symlink (its target is checked)
        entry = ModeEntry(path, st.st_mode, st.st_uid, st.st_gid, st.st_size)
        problems = []
        if st.st_mode & stat.S_IWOTH:
            problems.append("world-writable")
        if st.st_mode & stat.S_IWGRP and st.st_gid != 0:
            problems.append(f"writable by group {st.st_gid}")
        if st.st_uid != 0:
            problems.append(f"owned by uid {st.st_uid}, not root")
        if not problems:
            continue
        yield Finding(
            check_id="permissions.system_dirs",
            severity="high",
            title=f"{path} is {' and '.join(problems)}",
            evidence=[Evidence(path, None, mode_text(entry))],
            fix=f"`chown root:root {path} && chmod 755 {path}`: only root may change system directories.",
            family="permissions",
            data={"mode": oct(stat.S_IMODE(st.st_mode)), "uid": st.st_uid, "gid": st.st_gid},
        )


# ---- sensitive files and private directories --------------------------------------------------------------------
def _entry(ctx: ScanContext, path: str) -> ModeEntry | None:
    st = ctx.lstat(path)
    if st is None or stat.S_ISLNK(st.st_mode):
        return None
    return ModeEntry(path, st.st_mode, st.st_uid, st.st_gid, st.st_size)


def _sensitive(path: str, entry: ModeEntry, problem: str, fix: str, severity: str = "high") -> Finding:
    return Finding(
        check_id="permissions.sensitive",
        severity=severity,
        title=f"{path} {problem}",
        evidence=[Evidence(path, None, mode_text(entry))],
        fix=fix,
        family="permissions",
        data={"mode": oct(stat.S_IMODE(entry.mode)), "uid": entry.uid, "gid": entry.gid},
    )


def _ssh_dirs(ctx: ScanContext) -> list[tuple[str, str, int | None]]:
    """(user, ~/.ssh, the user's uid) for every home with a .ssh directory."""
    uids = {u.name: u.uid for u in ctx.users}
    result = []
    for name, home in ctx.homes():
        path = posixpath.join(home, ".ssh")
        if ctx.is_dir(path):
            result.append((name, path, uids.get(name)))
    return result


def _private_key_names(ctx: ScanContext, ssh_dir: str) -> list[str]:
    names = []
    for name in ctx.listdir(ssh_dir):
        if name.startswith("id_") and not name.endswith((".pub", "-cert.pub")):
            names.append(name)
    return names


@check("permissions")
def sensitive(ctx: ScanContext) -> Iterator[Finding]:
    if ctx.os is None:
        return
    for path in ("/etc/shadow", "/etc/gshadow"):
        entry = _entry(ctx, path)
        if entry is None:
            continue
        fix = f"`chown root:shadow {path} && chmod 640 {path}` (Debian) or `chmod 000 {path}` (RHEL)."
        if entry.mode & (stat.S_IWOTH | stat.S_IWGRP):
            yield _sensitive(path, entry, "is writable by non-root users", fix, "critical")
        elif entry.mode & stat.S_IROTH:
            yield _sensitive(path, entry, "is readable by every user (password hashes)", fix)
        elif entry.uid != 0:
            yield _sensitive(path, entry, f"is owned by uid {entry.uid}, not root", fix)
    for path in ("/etc/passwd", "/etc/group", "/etc/sudoers"):
        entry = _entry(ctx, path)
        if entry is None:
            continue
        mode = "440" if path == "/etc/sudoers" else "644"
        fix = f"`chown root:root {path} && chmod {mode} {path}`."
        if entry.mode & (stat.S_IWOTH | stat.S_IWGRP):
            yield _sensitive(
                path, entry, "is writable by non-root users: anyone could make themselves root", fix, "critical"
            )
        elif entry.uid != 0:
            yield _sensitive(path, entry, f"is owned by uid {entry.uid}, not root", fix, "critical")
    for name in ctx.listdir("/etc/sudoers.d"):
        path = f"/etc/sudoers.d/{name}"
        entry = _entry(ctx, path)
        if entry and stat.S_ISREG(entry.mode) and (entry.mode & (stat.S_IWOTH | stat.S_IWGRP) or entry.uid != 0):
            yield _sensitive(
                path,
                entry,
                "can be changed by non-root users",
                f"`chown root:root {path} && chmod 440 {path}`.",
                "critical",
            )
    root = _entry(ctx, "/root")
    if root and stat.S_ISDIR(root.mode) and root.mode & (stat.S_IWOTH | stat.S_IWGRP):
        yield _sensitive("/root", root, "is writable by non-root users", "`chmod 700 /root`.")
    for path in ctx.glob("/etc/ssh/ssh_host_*_key"):
        entry = _entry(ctx, path)
        if entry and entry.mode & (stat.S_IRWXO | stat.S_IWGRP):
            yield _sensitive(
                path,
                entry,
                "(an SSH host private key) is readable or writable by others",
                f"`chmod 600 {path}` (sshd refuses host keys others can read).",
            )
    for user, ssh_dir, uid in _ssh_dirs(ctx):
        entry = _entry(ctx, ssh_dir)
        if entry is None:
            continue
        if entry.mode & (stat.S_IWOTH | stat.S_IWGRP):
            yield _sensitive(
                ssh_dir,
                entry,
                f"(of {user!r}) is writable by other users: they could add their own keys",
                f"`chmod 700 {ssh_dir}`.",
            )
        elif uid is not None and entry.uid not in (uid, 0):
            yield _sensitive(
                ssh_dir,
                entry,
                f"(of {user!r}) is owned by uid {entry.uid}, another user",
                f"`chown -R {user}: {ssh_dir}`.",
            )
        for name in ctx.listdir(ssh_dir):
            path = posixpath.join(ssh_dir, name)
            if name.startswith("authorized_keys"):
                keys = _entry(ctx, path)
                if keys and stat.S_ISREG(keys.mode) and keys.mode & (stat.S_IWOTH | stat.S_IWGRP):
                    yield _sensitive(
                        path, keys, "is writable by other users: they could log in as its owner", f"`chmod 600 {path}`."
                    )
        for name in _private_key_names(ctx, ssh_dir):
            path = posixpath.join(ssh_dir, name)
            key = _entry(ctx, path)
            if key and stat.S_ISREG(key.mode) and key.mode & (stat.S_IRWXO | stat.S_IRWXG):
                yield _sensitive(
                    path,
                    key,
                    "(a private key) is readable or writable by other users",
                    f"`chmod 600 {path}` (and do not ship private keys in an image).",
                )


@check("permissions")
def home_modes(ctx: ScanContext) -> Iterator[Finding]:
    if ctx.os is None:
        return
    root = _entry(ctx, "/root")
    if root and stat.S_ISDIR(root.mode) and root.mode & stat.S_IRWXO and not root.mode & (stat.S_IWOTH | stat.S_IWGRP):
        yield Finding(
            check_id="permissions.home_modes",
            severity="low",
            title="/root is readable by every user (should be 700 or 750)",
            evidence=[Evidence("/root", None, mode_text(root))],
            fix="`chmod 700 /root`.",
            family="permissions",
            data={"mode": oct(stat.S_IMODE(root.mode))},
        )
    for user, ssh_dir, _uid in _ssh_dirs(ctx):
        entry = _entry(ctx, ssh_dir)
        if entry is None or entry.mode & (stat.S_IWOTH | stat.S_IWGRP):
            continue  # writable ones are permissions.sensitive
        if entry.mode & (stat.S_IRWXG | stat.S_IRWXO):
            yield Finding(
                check_id="permissions.home_modes",
                severity="low",
                title=f"{ssh_dir} (of {user!r}) is open to other users (should be 700)",
                evidence=[Evidence(ssh_dir, None, mode_text(entry))],
                fix=f"`chmod 700 {ssh_dir}`.",
                family="permissions",
                data={"mode": oct(stat.S_IMODE(entry.mode)), "user": user},
            )


# ---- SUID / SGID --------------------------------------------------------------------------------------------------
def _variants(path: str) -> list[str]:
    """The path and its other spelling across the /usr merge (/bin/su and /usr/bin/su)."""
    for short in ("/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/libx32/"):
        if path.startswith(short):
            return [path, "/usr" + path]
        if path.startswith("/usr" + short):
            return [path, path[4:]]
    return [path]


def _owners(ctx: ScanContext, paths: list[str]) -> tuple[dict[str, list[str]], str | None]:
    """{path: [owning packages]} from dpkg's or apk's file lists, and which database was read (None: none)."""
    owners: dict[str, list[str]] = {p: [] for p in paths}
    info = "/var/lib/dpkg/info"
    lists = [n for n in ctx.listdir(info) if n.endswith(".list")]
    if lists:
        wanted = {v: p for p in paths for v in _variants(p)}
        for name in lists:
            text = ctx.read_text(f"{info}/{name}", 16 * 1024 * 1024) or ""
            for line in text.splitlines():
                if line in wanted:
                    owners[wanted[line]].append(name[: -len(".list")])
        return owners, "dpkg"
    apk = ctx.read_text("/lib/apk/db/installed", 256 * 1024 * 1024)
    if apk:
        wanted = {v.lstrip("/"): p for p in paths for v in _variants(p)}
        package, directory = "", ""
        for line in apk.splitlines():
            if line.startswith("P:"):
                package = line[2:]
            elif line.startswith("F:"):
                directory = line[2:]
            elif line.startswith("R:"):
                full = f"{directory}/{line[2:]}" if directory else line[2:]
                if full in wanted:
                    owners[wanted[full]].append(package)
        return owners, "apk"
    return owners, None


def _md5_mismatch(ctx: ScanContext, path: str, packages: list[str]) -> str | None:
    """The expected md5 when the file differs from what its dpkg package shipped; None when it matches or is unknown."""
    relative = {v.lstrip("/") for v in _variants(path)}
    for package in packages:
        text = ctx.read_text(f"/var/lib/dpkg/info/{package}.md5sums", 16 * 1024 * 1024)
        if not text:
            continue
        for line in text.splitlines():
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[1].strip() in relative:
                digest = hashlib.md5(usedforsecurity=False)
                with ctx.open(path) as fh:
                    left = 256 * 1024 * 1024
                    while left > 0 and (chunk := fh.read(min(left, 1024 * 1024))):
                        digest.update(chunk)
                        left -= len(chunk)
                return None if digest.hexdigest() == parts[0].lower() else parts[0].lower()
    return None


def _base_name(path: str) -> str:
    return re.sub(r"[\d.]+$", "", posixpath.basename(path)) or posixpath.basename(path)


@check("permissions")
def suid(ctx: ScanContext) -> Iterator[Finding]:
    if ctx.os is None:
        return
    special = walked(ctx).special
    if not special:
        return
    owners, database = _owners(ctx, [e.path for e in special])
    for entry in special:
        bits = "+".join(b for b, flag in (("SUID", stat.S_ISUID), ("SGID", stat.S_ISGID)) if entry.mode & flag)
        suid_root = bool(entry.mode & stat.S_ISUID) and entry.uid == 0
        name = posixpath.basename(entry.path)
        packages = owners.get(entry.path, [])
        evidence = [Evidence(entry.path, None, mode_text(entry))]
        data = {"bits": bits, "mode": oct(stat.S_IMODE(entry.mode)), "uid": entry.uid, "packages": packages,
                "package_db": database}  # fmt: skip
        if entry.mode & stat.S_ISUID and (name in DANGEROUS or _base_name(entry.path) in DANGEROUS):
            yield Finding(
                check_id="permissions.suid",
                severity="critical" if suid_root else "high",
                title=f"{entry.path} ({name}) is {bits}{' root' if suid_root else ''}: any user can use it to become its owner",
                evidence=evidence,
                fix=f"`chmod u-s,g-s {entry.path}`: no distribution ships {name} SUID.",
                family="permissions",
                data={**data, "reason": "dangerous"},
            )
            continue
        if packages:
            if database == "dpkg":
                expected = _md5_mismatch(ctx, entry.path, packages)
                if expected:
                    evidence.append(
                        Evidence(f"/var/lib/dpkg/info/{packages[0]}.md5sums", None, f"package md5 {expected}")
                    )
                    yield Finding(
                        check_id="permissions.suid",
                        severity="high",
                        title=f"{entry.path} is {bits} and differs from the file package {packages[0]} installed",
                        evidence=evidence,
                        fix=f"Reinstall the package (`apt-get install --reinstall {packages[0]}`) and find out who replaced the file.",
                        family="permissions",
                        data={**data, "reason": "modified"},
                    )
            continue
        if database is None and not under(entry.path, UNPACKAGED_TREES):
            continue  # no file lists to compare with (rpm images): only look outside the packages' directories
        where = f"no {database} package owns it" if database else "it lies outside the directories packages install to"
        yield Finding(
            check_id="permissions.suid",
            severity="high" if suid_root else "medium",
            title=f"{entry.path} is {bits}{' root' if suid_root else ''} and {where}",
            evidence=evidence,
            fix=f"Remove the file or `chmod u-s,g-s {entry.path}` unless the product needs it; if it does, document why.",
            family="permissions",
            data={**data, "reason": "unpackaged"},
        )
