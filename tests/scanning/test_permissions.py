"""Family `permissions`: world-writable directories, key directories and files, SUID/SGID programs.

Modes are set on the tree and copied into the image by mkfs.ext4 -d; the check reads them from the inodes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests.images.builders import ELF_X86_64, write
from tests.scanning.test_ssh import ED25519_PUB, openssh_private_key

SUDO = ELF_X86_64 + b"sudo 1.9.13p3"
CHFN = ELF_X86_64 + b"chfn from login"


def mkdir(tree: Path, path: str, mode: int) -> Path:
    directory = tree / path.lstrip("/")
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(mode)
    return directory


def dpkg_lists(tree: Path) -> None:
    """dpkg's file lists and md5sums as a usrmerged Debian 12 has them (some files still listed under /bin)."""
    write(tree, "var/lib/dpkg/info/passwd.list", "/.\n/usr\n/usr/bin\n/usr/bin/passwd\n/usr/bin/chfn\n")
    write(tree, "var/lib/dpkg/info/passwd.md5sums", f"{hashlib.md5(CHFN).hexdigest()}  usr/bin/chfn\n")  # noqa: S324
    write(tree, "var/lib/dpkg/info/util-linux.list", "/.\n/bin\n/bin/su\n/bin/mount\n")
    write(tree, "var/lib/dpkg/info/sudo.list", "/.\n/usr/bin/sudo\n")
    write(tree, "var/lib/dpkg/info/sudo.md5sums", f"{'0' * 32}  usr/bin/sudo\n")
    write(tree, "var/lib/dpkg/info/findutils.list", "/.\n/usr/bin/find\n")


def fine(tree: Path) -> None:
    """Looks like the bad image but is what a sane image has."""
    for path in ("/tmp", "/var/tmp", "/tmp/.X11-unix", "/run/lock"):
        mkdir(tree, path, 0o1777)
    mkdir(tree, "/var/lib/php/sessions", 0o1733)
    mkdir(tree, "/srv/upload", 0o770)
    (tree / "root").chmod(0o750)
    write(tree, "home/debian/.ssh/authorized_keys", f"ssh-ed25519 {ED25519_PUB} buyer\n", 0o644)
    write(tree, "home/debian/.ssh/id_ed25519", openssh_private_key(), 0o600)
    write(tree, "etc/sudoers", "Defaults env_reset\nroot ALL=(ALL:ALL) ALL\n", 0o440)
    dpkg_lists(tree)
    write(tree, "usr/bin/passwd", ELF_X86_64, 0o4755)  # in passwd.list
    write(tree, "usr/bin/su", ELF_X86_64, 0o4755)  # listed as /bin/su: the same file after the /usr merge
    write(tree, "usr/bin/chfn", CHFN, 0o4755)  # listed, and its md5 matches
    write(tree, "usr/bin/wall", ELF_X86_64, 0o755)  # not listed, but not SUID either


def bad(tree: Path) -> None:
    mkdir(tree, "/tmp", 0o1777)
    mkdir(tree, "/srv/upload", 0o777)
    mkdir(tree, "/var/www/html/uploads/2026", 0o777)
    (tree / "var/www/html/uploads").chmod(0o777)
    mkdir(tree, "/opt/app/cache", 0o1777)  # sticky, but not a temporary directory
    mkdir(tree, "/usr/sbin", 0o777)
    (tree / "etc/shadow").chmod(0o644)
    (tree / "root").chmod(0o755)
    ssh = mkdir(tree, "/home/debian/.ssh", 0o775)
    write(tree, "home/debian/.ssh/authorized_keys", f"ssh-ed25519 {ED25519_PUB} buyer\n", 0o666)
    mkdir(tree, "/root/.ssh", 0o700)
    write(tree, "root/.ssh/id_ed25519", openssh_private_key(), 0o644)
    mkdir(tree, "/home/alice/.ssh", 0o700)
    os.chown(ssh.parent.parent / "alice/.ssh", 1002, 1002)  # the scan tests run as root
    write(tree, "etc/passwd", (tree / "etc/passwd").read_text() + "alice:x:1001:1001::/home/alice:/bin/bash\n")
    (tree / "etc/passwd").chmod(0o666)
    dpkg_lists(tree)
    write(tree, "usr/bin/passwd", ELF_X86_64, 0o4755)  # fine: packaged
    write(tree, "usr/bin/find", ELF_X86_64, 0o4755)  # packaged, but no distribution ships find SUID
    write(tree, "usr/bin/sudo", SUDO, 0o4755)  # packaged, content differs from the package's md5
    write(tree, "usr/local/bin/helper", ELF_X86_64, 0o4755)  # no package owns it
    write(tree, "usr/bin/wall", ELF_X86_64, 0o2755)  # SGID, no package
    write(tree, "tmp/.cache/.x/sh", ELF_X86_64, 0o4755)  # a SUID shell hidden in /tmp


def test_similar_but_fine(image_factory):
    result = image_factory.scan("perm-fine", fine)
    assert [f for f in result.findings if f.family == "permissions"] == []


@pytest.fixture(scope="module")
def broken(image_factory):
    return [f for f in image_factory.scan("perm-bad", bad).findings if f.family == "permissions"]


def findings(broken, check_id):
    return {f.evidence[0].path: f for f in broken if f.check_id == check_id}


def test_world_writable_directories(broken):
    found = findings(broken, "permissions.world_writable")
    assert set(found) == {"/srv/upload", "/var/www/html/uploads", "/opt/app/cache"}  # not /tmp (1777)
    assert found["/srv/upload"].severity == "medium" and found["/srv/upload"].evidence[0].text.startswith(
        "drwxrwxrwx 0777"
    )
    uploads = found["/var/www/html/uploads"]  # one finding per tree, the directory below as evidence
    assert uploads.severity == "high" and uploads.data["below"] == 1
    assert [e.path for e in uploads.evidence] == ["/var/www/html/uploads", "/var/www/html/uploads/2026"]
    assert found["/opt/app/cache"].data["sticky"] is True


def test_system_directories(broken):
    found = findings(broken, "permissions.system_dirs")
    assert set(found) == {"/usr/sbin"} and found["/usr/sbin"].severity == "high"
    assert "world-writable" in found["/usr/sbin"].title


def test_sensitive_files(broken):
    found = findings(broken, "permissions.sensitive")
    assert set(found) == {
        "/etc/shadow",
        "/etc/passwd",
        "/home/debian/.ssh",
        "/home/debian/.ssh/authorized_keys",
        "/root/.ssh/id_ed25519",
        "/home/alice/.ssh",
    }
    assert found["/etc/shadow"].severity == "high" and "readable by every user" in found["/etc/shadow"].title
    assert found["/etc/passwd"].severity == "critical"
    assert "owned by uid 1002" in found["/home/alice/.ssh"].title
    assert found["/root/.ssh/id_ed25519"].evidence[0].text.startswith("-rw-r--r-- 0644 uid=0")


def test_home_modes(broken):
    found = findings(broken, "permissions.home_modes")
    assert set(found) == {"/root"} and found["/root"].severity == "low"  # /home/alice/.ssh is sensitive already


def test_suid_files(broken):
    found = findings(broken, "permissions.suid")
    assert set(found) == {
        "/usr/bin/find",
        "/usr/bin/sudo",
        "/usr/local/bin/helper",
        "/usr/bin/wall",
        "/tmp/.cache/.x/sh",
    }
    assert (found["/usr/bin/find"].severity, found["/usr/bin/find"].data["reason"]) == ("critical", "dangerous")
    assert (found["/tmp/.cache/.x/sh"].severity, found["/tmp/.cache/.x/sh"].data["reason"]) == ("critical", "dangerous")
    assert (found["/usr/bin/sudo"].severity, found["/usr/bin/sudo"].data["reason"]) == ("high", "modified")
    assert found["/usr/bin/sudo"].data["packages"] == ["sudo"]
    helper = found["/usr/local/bin/helper"]
    assert (helper.severity, helper.data["reason"], helper.data["package_db"]) == ("high", "unpackaged", "dpkg")
    assert "no dpkg package owns it" in helper.title
    assert (found["/usr/bin/wall"].severity, found["/usr/bin/wall"].data["bits"]) == ("medium", "SGID")


def test_without_file_lists_only_unusual_places_count(image_factory):
    def no_lists(tree: Path) -> None:
        write(tree, "usr/bin/newgrp", ELF_X86_64, 0o4755)  # no dpkg info: assumed packaged
        write(tree, "opt/vendor/bin/helper", ELF_X86_64, 0o4755)

    found = [f for f in image_factory.scan("perm-nolists", no_lists).findings if f.check_id == "permissions.suid"]
    assert [(f.evidence[0].path, f.data["package_db"]) for f in found] == [("/opt/vendor/bin/helper", None)]


def test_default_failing_ids(broken):
    from shelf.scanning.policy import DEFAULT_FAIL_CHECKS

    assert {
        "permissions.world_writable",
        "permissions.system_dirs",
        "permissions.sensitive",
        "permissions.suid",
    } <= set(DEFAULT_FAIL_CHECKS)
    assert "permissions.home_modes" not in DEFAULT_FAIL_CHECKS


def test_an_unmounted_fat_boot_partition_is_not_reported_world_writable():
    """The boot test image (shelf.compute.bootimage) has a FAT boot partition no fstab mounts: dissect shows it under
    /$fs$/fs0 with mode 0777 (FAT has no modes). It is not part of the running tree, so not a blocking finding."""
    import shutil

    from shelf.compute import bootimage
    from shelf.scanning.engine import scan_image

    if missing := bootimage.tools_missing() + [t for t in ("qemu-img",) if not shutil.which(t)]:
        pytest.skip(f"tools missing: {', '.join(missing)} (make system-deps installs them)")
    result = scan_image(bootimage.build().disk, "raw", checks=["permissions.world_writable"])
    assert result.os is not None and not result.incomplete
    assert [f.title for f in result.findings if f.check_id == "permissions.world_writable"] == []
