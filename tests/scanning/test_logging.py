"""Family `logging`: a system logger keeps logs, login records exist, sudo logs what it runs."""

from __future__ import annotations

from pathlib import Path

from tests.images.builders import ELF_X86_64, link, write
from tests.scanning.conftest import ids, only

SUDOERS = (
    "# /etc/sudoers\nDefaults\tenv_reset\nDefaults\tmail_badpass\n"
    'Defaults\tsecure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\n'
    "root\tALL=(ALL:ALL) ALL\n%sudo\tALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n"
)


def logs_off(tree: Path) -> None:
    """Logging turned off the ways image makers do it."""
    (tree / "var/log/wtmp").unlink()
    (tree / "var/log/btmp").unlink()
    link(tree, "var/log/btmp", "/dev/null")
    write(tree, "etc/systemd/journald.conf.d/50-quiet.conf", "[Journal]\nStorage=none\n")
    write(tree, "etc/sudoers", SUDOERS, 0o440)
    write(tree, "etc/sudoers.d/90-quiet", "Defaults !syslog, !lecture\n", 0o440)
    write(tree, "etc/sudoers.d/syslog.conf", "Defaults syslog=auth\n")  # ignored: sudo skips names with a dot


def test_logging_turned_off(image_factory):
    result = image_factory.scan("log-off", logs_off)
    syslog = only(result, "logging.syslog")
    assert syslog.severity == "medium" and "Storage=none" in syslog.title
    assert (syslog.evidence[0].path, syslog.evidence[0].line) == ("/etc/systemd/journald.conf.d/50-quiet.conf", 2)
    records = only(result, "logging.login_records")
    assert records.severity == "medium"
    assert [(e.path, e.text.split(":")[0]) for e in records.evidence] == [
        ("/var/log/wtmp", "missing"),
        ("/var/log/btmp", "a symlink to /dev/null"),
    ]
    sudo = only(result, "logging.sudo")
    assert sudo.severity == "medium" and sudo.data["scope"] == "global"
    assert (sudo.evidence[0].path, sudo.evidence[0].line) == ("/etc/sudoers.d/90-quiet", 1)


def test_volatile_journal_and_scoped_sudo(image_factory):
    def partly(tree: Path) -> None:
        (tree / "var/log/journal").rmdir()  # Storage=auto without /var/log/journal keeps logs in memory
        write(
            tree,
            "etc/sudoers",
            SUDOERS + "Defaults:backup !syslog\nDefaults !syslog\nDefaults logfile=/var/log/sudo.log\n",
            0o440,
        )

    result = image_factory.scan("log-volatile", partly)
    syslog = only(result, "logging.syslog")
    assert syslog.severity == "low" and "lost at every reboot" in syslog.title
    assert syslog.evidence[0].path == "/var/log/journal"
    sudo = only(result, "logging.sudo")  # the global !syslog is made up for by the logfile
    assert sudo.severity == "low" and sudo.data["scope"] == "scoped" and sudo.evidence[0].line == 8
    assert "logging.login_records" not in ids(result)


def test_similar_but_fine(image_factory):
    def fine(tree: Path) -> None:
        # journald drops logs, but rsyslog (enabled through its syslog.service alias link) keeps them
        write(tree, "etc/systemd/journald.conf", "[Journal]\nStorage=none\n")
        write(tree, "lib/systemd/system/rsyslog.service", "[Service]\nExecStart=/usr/sbin/rsyslogd -n -iNONE\n")
        link(tree, "etc/systemd/system/multi-user.target.wants/rsyslog.service", "/lib/systemd/system/rsyslog.service")
        link(tree, "etc/systemd/system/syslog.service", "/lib/systemd/system/rsyslog.service")
        # wtmp missing, but systemd-tmpfiles creates it at boot
        (tree / "var/log/wtmp").unlink()
        write(tree, "lib/systemd/systemd", ELF_X86_64, 0o755)
        write(tree, "usr/lib/tmpfiles.d/var.conf", "q /var 0755 - - -\nf /var/log/wtmp 0664 root utmp -\n")
        # sudo logging: commented out, explicitly on, and `!logfile` is the default anyway
        write(tree, "etc/sudoers", SUDOERS + "# Defaults !syslog\nDefaults syslog=authpriv\nDefaults !logfile\n", 0o440)

    result = image_factory.scan("log-fine", fine)
    assert [f for f in result.findings if f.family == "logging"] == []


def test_logging_is_not_failing_by_default(benign):
    from shelf.scanning.policy import DEFAULT_FAIL_CHECKS

    assert not [f for f in benign.findings if f.family == "logging"]
    assert not [p for p in DEFAULT_FAIL_CHECKS if p.startswith("logging.")]
