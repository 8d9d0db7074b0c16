"""The scanner on a planted copy of the benchmark's real Debian 12 LAMP image (bench/debian_image.py).

The real image's root filesystem is cached outside the repository by `make bench`; without it these tests are
skipped (building it takes minutes of downloads). The copy is made of hard links (no data copied), the planted
files replace links, and the disk is made with mkfs.ext4 -d, so the cached tree is never written to.
"""

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from bench import debian_image
from shelf.scanning.engine import scan_image
from tests.scanning.conftest import TODAY

ROOTFS = debian_image.cache_dir() / f"rootfs-{debian_image.recipe_hash(debian_image.rootfs_recipe())[:16]}"
pytestmark = pytest.mark.skipif(
    not (ROOTFS / ".shelf-rootfs.json").is_file() or os.geteuid() != 0,
    reason="the real Debian image's root filesystem is not cached (run `make bench` once) or not root",
)
EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def _replace(tree: Path, path: str, content: bytes, mode: int = 0o644) -> None:
    target = tree / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() or target.is_symlink():
        target.unlink()  # a hard link to the cached tree: unlink, never write through it
    target.write_bytes(content)
    target.chmod(mode)


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    work = tmp_path_factory.mktemp("real-image")
    tree = work / "tree"
    subprocess.run(["cp", "-al", str(ROOTFS), str(tree)], check=True)
    clean_raw, planted_raw = work / "clean.raw", work / "planted.raw"
    size = 2 * 1024**3
    debian_image.make_disk(tree, clean_raw, size, str(uuid.uuid4()))
    _replace(tree, "/var/www/html/eicar.com", EICAR.encode())
    _replace(tree, "/var/www/html/up/shell.php", b"<?php @eval($_POST['pass']);?>\n")
    real_ls = (tree / "usr/bin/ls").read_bytes()
    _replace(tree, "/usr/bin/ls", real_ls[:-16] + b"trojaned-bytes!!", 0o755)
    _replace(tree, "/etc/machine-id", b"0123456789abcdef0123456789abcdef\n")
    (tree / "srv/shared").mkdir(parents=True, exist_ok=True)
    (tree / "srv/shared").chmod(0o777)
    debian_image.make_disk(tree, planted_raw, size, str(uuid.uuid4()))
    try:
        yield {
            "clean": scan_image(clean_raw, "raw", today=TODAY),
            "planted": scan_image(planted_raw, "raw", today=TODAY),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _found(result) -> set[tuple[str, str]]:
    return {(f.check_id, f.evidence[0].path if f.evidence else "") for f in result.findings}


def test_the_clean_real_image_has_exactly_its_known_findings(scans):
    clean = scans["clean"]
    assert {check for check, _path in _found(clean)} == {"ssh.password_auth", "firewall.none", "ssh.host_keys"}
    malware = clean.stats["malware"]
    assert malware["package_files_modified"] == 0 and malware["files_verified"] > 10_000
    assert malware["priority_complete"] and malware["rest_complete"]
    assert len(clean.packages) > 200


def test_every_planted_problem_is_found_and_nothing_else_changes(scans):
    clean, planted = _found(scans["clean"]), _found(scans["planted"])
    assert planted - clean == {
        ("malware.detected", "/var/www/html/eicar.com"),
        ("malware.detected", "/var/www/html/up/shell.php"),
        ("malware.package_modified", "/usr/bin/ls"),
        ("hygiene.machine_id", "/etc/machine-id"),
        ("permissions.world_writable", "/srv/shared"),
    }
    assert clean <= planted
    (trojan,) = [f for f in scans["planted"].findings if f.check_id == "malware.package_modified"]
    assert trojan.severity == "high" and trojan.data["package"] == "coreutils"
    assert not scans["planted"].passed
