"""Daemon configuration read as the daemon reads it: Samba's smb.conf and rsync's rsyncd.conf (loadparm).

Parameter names compared ignoring case and blanks, backslash continuations, includes read in place, a share's
last value winning: each case below is judged differently by a line-by-line reading.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.images.builders import write
from tests.scanning.test_services import by_service, mariadb, no_firewall, unit


def samba(tree: Path, conf: str, **extra: str) -> None:
    no_firewall(tree)
    unit(tree, "smbd.service", "/usr/sbin/smbd --foreground --no-process-group")
    write(tree, "etc/samba/smb.conf", conf)
    for path, text in extra.items():
        write(tree, path, text)


def rsync(tree: Path, conf: str, **extra: str) -> None:
    no_firewall(tree)
    unit(tree, "rsync.service", "/usr/bin/rsync --daemon --no-detach")
    write(tree, "etc/rsyncd.conf", conf)
    for path, text in extra.items():
        write(tree, path, text)


def test_samba_bound_to_loopback_however_it_is_written(image_factory):
    def plant(tree: Path) -> None:
        samba(
            tree,
            "[global]\n   workgroup = WORKGROUP\n   include = /etc/samba/local.conf\n[data]\n   path = /srv/data\n",
            **{"etc/samba/local.conf": "   Interfaces = lo \\\n        127.0.0.1\n   BindInterfacesOnly = Yes\n"},
        )

    assert "samba" not in by_service(image_factory.scan("smb-loopback", plant))


def test_samba_guest_share_however_it_is_written(image_factory):
    conf = "[global]\n   workgroup = WORKGROUP\n[Public]\n   path = /srv/public\n   GuestOK = \\\n      yes\n"
    found = by_service(image_factory.scan("smb-guest", lambda tree: samba(tree, conf)))["samba"]
    assert (found.check_id, found.severity) == ("services.no_auth", "critical")
    assert (found.evidence[1].path, found.evidence[1].line) == ("/etc/samba/smb.conf", 5)
    assert found.evidence[1].text.startswith("[Public] GuestOK =")


def test_samba_last_guest_value_wins(image_factory):
    conf = "[global]\n   workgroup = WORKGROUP\n[public]\n   path = /srv/public\n   guest ok = yes\n   public = no\n"
    found = by_service(image_factory.scan("smb-guest-off", lambda tree: samba(tree, conf)))["samba"]
    assert (found.check_id, found.severity) == ("services.exposed", "medium")


def test_rsync_modules_in_included_files_and_auth_however_written(image_factory):
    def plant(tree: Path) -> None:
        rsync(
            tree,
            "uid = nobody\n&include /etc/rsyncd.d\n[secured]\n   path = /srv/secured\n   AuthUsers = backup\n",
            **{"etc/rsyncd.d/open.conf": "[open]\n   path = /srv/open\n   read only = no\n"},
        )

    found = by_service(image_factory.scan("rsync-include", plant))["rsync"]
    assert (found.check_id, found.severity) == ("services.no_auth", "critical")
    assert (found.evidence[1].path, found.evidence[1].line) == ("/etc/rsyncd.d/open.conf", 1)
    assert found.evidence[2].text == "authentication: module(s) without `auth users` or `hosts allow`: open"


@pytest.mark.parametrize(
    ("name", "cnf", "exposed"),
    [
        ("header", "[mysqld]   # local changes\nbind-address = 0.0.0.0\n", True),
        ("value", "[mysqld]\nbind-address = 0.0.0.0\n[mysqld]\nbind-address=127.0.0.1#loopback only\n", False),
        ("skip", "[mysqld]\nbind-address = 0.0.0.0\nskip-networking # sockets only\n", False),
    ],
)
def test_mysql_comments_and_section_headers_as_the_server_reads_them(image_factory, name, cnf, exposed):
    def plant(tree: Path) -> None:
        no_firewall(tree)
        mariadb(tree, ("60-local.cnf", cnf))

    found = by_service(image_factory.scan(f"mysql-comment-{name}", plant))
    assert ("mysql" in found) is exposed
    if exposed:
        assert (found["mysql"].evidence[0].path, found["mysql"].evidence[0].line) == (
            "/etc/mysql/mariadb.conf.d/60-local.cnf",
            2,
        )
