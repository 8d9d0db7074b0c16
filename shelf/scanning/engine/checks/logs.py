"""Family `logging`: the default logging works (the standard's "syslog, wtmp/btmp, sudo logging").

The module is `logs`, not `logging`, so it never shadows the standard library.

logging.syslog         medium  no syslog daemon starts and journald is absent, masked or has Storage=none
                       low     no syslog daemon and journald keeps logs in memory only (lost at reboot)
logging.login_records  medium  /var/log/wtmp or /var/log/btmp missing (and no tmpfiles.d rule creates it),
                               or pointed at /dev/null; empty files are fine (a clean image ships them empty)
logging.sudo           medium  sudoers turns sudo's logging off (`Defaults !syslog` without a logfile,
                               `Defaults !log_allowed`); low when only for some users, hosts or commands
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator

from shelf.scanning.engine import boot
from shelf.scanning.engine.context import ScanContext
from shelf.scanning.engine.model import Evidence, Finding
from shelf.scanning.engine.registry import check

SYSLOG_UNITS = (
    "rsyslog.service",
    "syslog-ng.service",
    "sysklogd.service",
    "inetutils-syslogd.service",
    "busybox-syslogd.service",
    "syslog.service",
)
SYSLOG_SCRIPTS = ("rsyslog", "syslog-ng", "sysklogd", "inetutils-syslogd", "busybox-syslogd")
OPENRC_SYSLOG = ("syslog", "rsyslog", "syslog-ng", "busybox-syslogd", "sysklogd", "metalog")
JOURNALD_BINARIES = ("/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald")
JOURNALD_DROPIN_DIRS = (
    "/etc/systemd/journald.conf.d",
    "/usr/local/lib/systemd/journald.conf.d",
    "/usr/lib/systemd/journald.conf.d",
    "/lib/systemd/journald.conf.d",
)
TMPFILES_DIRS = ("/etc/tmpfiles.d", "/usr/local/lib/tmpfiles.d", "/usr/lib/tmpfiles.d", "/lib/tmpfiles.d")
LOGIN_RECORDS = {"/var/log/wtmp": "logins and reboots (`last`)", "/var/log/btmp": "failed logins (`lastb`)"}


def journald_storage(ctx: ScanContext) -> tuple[str, Evidence]:
    """journald's effective Storage= and where it is set (journald.conf, then drop-ins by file name)."""
    files = ["/etc/systemd/journald.conf"]
    dropins: dict[str, str] = {}
    for base in reversed(JOURNALD_DROPIN_DIRS):  # same file name: /etc wins
        for name in ctx.listdir(base):
            if name.endswith(".conf"):
                dropins[name] = f"{base}/{name}"
    files += [dropins[n] for n in sorted(dropins)]
    value, where = "auto", Evidence("/etc/systemd/journald.conf", None, "Storage= not set (journald's default: auto)")
    for path in files:
        section = ""
        for number, line in enumerate((ctx.read_text(path, 256 * 1024) or "").splitlines(), start=1):
            line = line.strip()
            if line.startswith("["):
                section = line.strip("[]")
            elif section == "Journal" and (m := re.match(r"^Storage\s*=\s*(\S*)", line)):
                value, where = (m.group(1).lower() or "auto"), Evidence(path, number, line)
    return value, where


@check("logging")
def syslog(ctx: ScanContext) -> Iterator[Finding]:
    if ctx.os is None:
        return
    b = boot.cached(ctx)
    if b.started(SYSLOG_UNITS, SYSLOG_SCRIPTS, OPENRC_SYSLOG):
        return
    daemon = Evidence("/etc/systemd/system", None, "no syslog daemon (rsyslog, syslog-ng, sysklogd) starts at boot")
    fix = (
        "Keep journald's logs (Storage=auto with an existing /var/log/journal, or Storage=persistent) or install "
        "and enable rsyslog (`apt-get install rsyslog`, `systemctl enable rsyslog`)."
    )
    journald = next((p for p in JOURNALD_BINARIES if ctx.exists(p)), None)
    if journald is None:
        yield Finding(
            check_id="logging.syslog",
            severity="medium",
            title="Nothing keeps system logs: no syslog daemon starts at boot and there is no journald",
            evidence=[daemon, Evidence(JOURNALD_BINARIES[1], None, "systemd-journald not found")],
            fix=fix,
            family="logging",
            data={"journald": False, "storage": None},
        )
        return
    if b.masked("systemd-journald.service"):
        yield Finding(
            check_id="logging.syslog",
            severity="medium",
            title="Nothing keeps system logs: systemd-journald is masked and no syslog daemon starts at boot",
            evidence=[daemon, Evidence("/etc/systemd/system/systemd-journald.service", None, "masked (-> /dev/null)")],
            fix="Unmask systemd-journald (`systemctl unmask systemd-journald`). " + fix,
            family="logging",
            data={"journald": True, "storage": "masked"},
        )
        return
    storage, where = journald_storage(ctx)
    persistent_dir = ctx.is_dir("/var/log/journal")
    if storage == "none":
        severity, title = "medium", "journald drops every log (Storage=none) and no syslog daemon starts at boot"
    elif storage == "volatile" or (storage == "auto" and not persistent_dir):
        severity = "low"
        title = "System logs are kept in memory only and lost at every reboot"
        if storage == "auto":
            where = Evidence(
                "/var/log/journal", None, f"{where.text}; /var/log/journal does not exist, so auto means volatile"
            )
    else:
        return
    yield Finding(
        check_id="logging.syslog",
        severity=severity,
        title=title,
        evidence=[where, daemon],
        fix=fix,
        family="logging",
        data={"journald": True, "storage": storage, "journal_dir": persistent_dir},
    )


def tmpfiles_creates(ctx: ScanContext, path: str) -> Evidence | None:
    """The tmpfiles.d line that creates `path` at boot (type f, F, or w), same-named files in /etc overriding."""
    files: dict[str, str] = {}
    for base in reversed(TMPFILES_DIRS):
        for name in ctx.listdir(base):
            if name.endswith(".conf"):
                files[name] = f"{base}/{name}"
    for name in sorted(files):
        text = ctx.read_text(files[name], 256 * 1024) or ""
        for number, line in enumerate(text.splitlines(), start=1):
            fields = line.split()
            if len(fields) >= 2 and fields[0].rstrip("!-=~^") in ("f", "F") and fields[1] == path:
                return Evidence(files[name], number, line.strip())
    return None


@check("logging")
def login_records(ctx: ScanContext) -> Iterator[Finding]:
    if ctx.os is None:
        return
    problems = []
    for path, what in LOGIN_RECORDS.items():
        st = ctx.lstat(path)
        if st is None:
            if tmpfiles_creates(ctx, path) is None or not boot.cached(ctx).systemd_init:
                problems.append(Evidence(path, None, f"missing: {what} are not recorded"))
        elif stat.S_ISLNK(st.st_mode):
            target = ctx.readlink(path)
            if target in ("/dev/null", "../../dev/null") or not ctx.is_file(path):
                problems.append(Evidence(path, None, f"a symlink to {target}: {what} are thrown away"))
        elif not stat.S_ISREG(st.st_mode):
            problems.append(
                Evidence(path, None, f"not a regular file ({stat.filemode(st.st_mode)}): {what} are not recorded")
            )
    if not problems:
        return
    names = " and ".join(e.path for e in problems)
    yield Finding(
        check_id="logging.login_records",
        severity="medium",
        title=f"Login records are not kept: {names}",
        evidence=problems,
        fix=(
            "Ship empty login record files: `install -m 664 -g utmp /dev/null /var/log/wtmp && "
            "install -m 660 -g utmp /dev/null /var/log/btmp` (truncate them, do not delete or link them to /dev/null)."
        ),
        family="logging",
        data={"paths": [e.path for e in problems]},
    )


# ---- sudo -----------------------------------------------------------------------------------------------------
def sudoers_lines(ctx: ScanContext, path: str, depth: int = 0) -> Iterator[tuple[str, int, str]]:
    """(file, line, logical line) of sudoers and everything it includes, in sudo's order."""
    text = ctx.read_text(path, 1024 * 1024)
    if text is None or depth > 8:
        return
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        line, pending = (pending + raw).strip(), ""
        m = re.match(r"^[#@](include|includedir)\s+(.+)$", line)
        if m:
            target = m.group(2).strip().strip('"')
            if not target.startswith("/"):
                target = f"{path.rsplit('/', 1)[0]}/{target}"
            if m.group(1) == "include":
                yield from sudoers_lines(ctx, target, depth + 1)
            else:
                for name in ctx.listdir(target):
                    if not name.endswith("~") and "." not in name:
                        yield from sudoers_lines(ctx, f"{target}/{name}", depth + 1)
            continue
        if not line or line.startswith("#"):
            continue
        yield path, start, line


def _defaults(line: str) -> tuple[str, list[str]] | None:
    """(scope, parameters) of a Defaults line; scope "" for the global ones."""
    m = re.match(r"^Defaults([:@>!]\S+)?\s+(.*)$", line)
    if not m:
        return None
    params = [p.strip() for p in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", m.group(2)) if p.strip()]
    return m.group(1) or "", params


@check("logging")
def sudo_logging(ctx: ScanContext) -> Iterator[Finding]:
    if ctx.os is None or not ctx.is_file("/etc/sudoers"):
        return
    state = {"syslog": (True, None), "logfile": (False, None), "log_allowed": (True, None)}
    scoped: list[Evidence] = []
    for path, number, line in sudoers_lines(ctx, "/etc/sudoers"):
        parsed = _defaults(line)
        if parsed is None:
            continue
        scope, params = parsed
        for param in params:
            negated = param.startswith("!")
            name, sep, value = param.lstrip("!").partition("=")
            name = name.strip().rstrip("+-")
            if name not in state:
                continue
            on = not negated and (not sep or value.strip().strip('"').lower() not in ("", "false", "off"))
            where = Evidence(path, number, line[:200])
            if scope:
                if name != "logfile" and not on:
                    scoped.append(where)
                continue
            state[name] = (on, where)
    disabled = []
    if not state["syslog"][0] and not state["logfile"][0]:
        disabled.append(state["syslog"][1])
    if not state["log_allowed"][0]:
        disabled.append(state["log_allowed"][1])
    fix = "Remove `!syslog` / `!log_allowed` from the Defaults lines of /etc/sudoers and /etc/sudoers.d/*: sudo logs to syslog (authpriv) by default."
    if disabled:
        yield Finding(
            check_id="logging.sudo",
            severity="medium",
            title="sudo does not log the commands it runs",
            evidence=[e for e in disabled if e],
            fix=fix,
            family="logging",
            data={"scope": "global"},
        )
    elif scoped:
        yield Finding(
            check_id="logging.sudo",
            severity="low",
            title="sudo logging is turned off for some users, hosts or commands",
            evidence=scoped[:20],
            fix=fix,
            family="logging",
            data={"scope": "scoped"},
        )
