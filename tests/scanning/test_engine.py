"""Opening images safely, every container and volume layout, the result shape, and incompleteness."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from shelf.scanning.engine import ENGINE_VERSION, ScanResult, scan_image, scan_target
from shelf.scanning.engine.checks import families
from tests.images.builders import ext4_from_tree, link, run, write
from tests.scanning.conftest import TODAY, ids

LAYOUTS = [
    pytest.param({"fs": "ext4"}, id="ext4-bare"),
    pytest.param({"fs": "ext4", "table": "mbr"}, id="ext4-mbr"),
    pytest.param({"fs": "ext4", "table": "gpt"}, id="ext4-gpt"),
    pytest.param({"fs": "xfs", "table": "gpt"}, id="xfs-gpt"),
    pytest.param({"fs": "ext4", "table": "gpt", "fmt": "qcow2"}, id="qcow2"),
    pytest.param({"fs": "ext4", "table": "mbr", "fmt": "vmdk"}, id="vmdk"),
    pytest.param({"fs": "ext4", "table": "gpt", "fmt": "vhd"}, id="vhd"),
    pytest.param({"fs": "xfs", "table": "mbr", "fmt": "vhdx"}, id="vhdx-xfs"),
]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_benign_image_has_no_findings_in_any_layout(image_factory, layout):
    result = image_factory.scan("benign", **layout)
    assert result.findings == [], [(f.check_id, f.title, f.evidence) for f in result.findings]
    assert result.incomplete == []
    assert result.passed
    assert result.os.distro == "debian" and result.os.version == "12" and result.os.arch == "x86_64"
    assert result.os.eol is False
    assert {p.name for p in result.packages} >= {"libssl3", "openssh-server", "cloud-init"}


def test_result_is_json_and_has_stats(benign: ScanResult):
    data = json.loads(json.dumps(benign.to_dict()))
    assert data["engine_version"] == ENGINE_VERSION
    assert data["os"]["pretty_name"] == "Debian GNU/Linux 12 (bookworm)"
    stats = data["stats"]
    assert stats["files_read"] > 0 and stats["bytes_read"] > 0 and stats["seconds"] >= 0
    assert set(stats["per_check"]) >= {"os", "packages", *families()}
    # Reads what the checks need, not the disk: the malware family reads every file of this small tree (4.5 MiB of
    # data on a 32 MiB disk), other families only their few files; metadata is read again for every path.
    assert stats["image_bytes_read"] < 16 * 1024 * 1024


def test_families_are_registered_in_order():
    assert families() == [
        "os", "accounts", "ssh", "hygiene", "secrets", "firewall", "web", "passwords", "eol_software", "malware",
        "services", "permissions", "logging",
    ]  # fmt: skip


def test_checks_selects_families_and_ids(image_factory):
    path = image_factory.image("planted-accounts-select", _root_password)
    only_ssh = scan_image(path, "raw", checks=["ssh"], today=TODAY)
    assert "accounts.password_hash" not in ids(only_ssh)
    assert set(only_ssh.stats["per_check"]) == {"os", "packages", "ssh"}
    by_id = scan_image(path, "raw", checks=["accounts.password_hash"], today=TODAY)
    assert ids(by_id) == ["accounts.password_hash"]
    with pytest.raises(ValueError):
        scan_image(path, "raw", checks=["nope"])


def _root_password(tree: Path) -> None:
    shadow = (tree / "etc/shadow").read_text().replace("root:*:", "root:$6$salt$abcdefghijklmnop:")
    (tree / "etc/shadow").write_text(shadow)


# ---- opening: only the given file, only as the given format ---------------------------------------------


def test_qcow2_backing_file_is_not_followed(tmp_path, image_factory):
    base = image_factory.image("benign")
    overlay = tmp_path / "overlay.qcow2"
    run("qemu-img", "create", "-f", "qcow2", "-F", "raw", "-b", base, overlay)
    result = scan_image(overlay, "qcow2", today=TODAY)
    assert result.findings == [] and result.os is None
    assert any("backing file" in reason for reason in result.incomplete)


def test_wrong_format_is_not_probed(image_factory):
    qcow2 = image_factory.image("benign", table="gpt", fmt="qcow2")
    as_raw = scan_image(qcow2, "raw", today=TODAY)  # a qcow2 read as raw bytes holds no filesystem
    assert as_raw.incomplete and not as_raw.findings
    raw = image_factory.image("benign")
    as_qcow2 = scan_image(raw, "qcow2", today=TODAY)
    assert as_qcow2.incomplete and "not a qcow2" in as_qcow2.incomplete[0]
    assert scan_image(raw, "vmdk").incomplete and scan_image(raw, "vhdx").incomplete


def test_unknown_format_and_bad_paths_are_incomplete(tmp_path, image_factory):
    raw = image_factory.image("benign")
    assert "unsupported disk format" in scan_image(raw, "iso").incomplete[0]
    assert scan_image(tmp_path / "missing.img", "raw").incomplete
    assert "not a regular file" in scan_image("/", "raw").incomplete[0]  # never the host's own root
    link_path = tmp_path / "link.img"
    link_path.symlink_to(raw)
    assert scan_image(link_path, "raw").incomplete  # O_NOFOLLOW: exactly the validated file
    garbage = tmp_path / "garbage.img"
    garbage.write_bytes(os.urandom(1024 * 1024))
    result = scan_image(garbage, "raw")
    assert result.incomplete and not result.passed


def test_empty_filesystem_is_incomplete_not_passed(image_factory):
    result = image_factory.scan("empty", empty=True)
    assert result.os is None and result.findings == []
    assert any("unknown operating system" in r for r in result.incomplete)
    assert not result.passed


def test_scan_target_refuses_the_local_host():
    from dissect.target import Target

    class LocalLoader:
        pass

    target = Target()
    target._loader = LocalLoader()
    with pytest.raises(ValueError):
        scan_target(target)


def test_symlinks_resolve_inside_the_image_not_on_the_host(tmp_path, image_factory):
    host_dir = tmp_path / "host-side"
    host_dir.mkdir()
    (host_dir / "passwd").write_text("evil:x:0:0::/root:/bin/sh\n")

    def plant(tree: Path) -> None:
        (tree / "etc/passwd").unlink()
        link(tree, "etc/passwd", str(host_dir / "passwd"))  # absolute link to a path that exists only on the host

    result = image_factory.scan("symlink-escape", plant)
    assert "accounts.extra_uid0" not in ids(result)
    assert any("/etc/passwd not found" in r for r in result.incomplete)


AUDIT_SCRIPT = textwrap.dedent(
    """
    import json, sys
    opened, listed = [], []
    on = [False]
    def hook(event, args):
        if not on[0]:
            return
        if event == "open":
            opened.append(str(args[0]))
        elif event in ("os.listdir", "os.scandir"):
            listed.append(str(args[0]))
    sys.addaudithook(hook)
    from shelf.scanning.engine import scan_image
    on[0] = True
    cold = scan_image(sys.argv[1], sys.argv[2])
    on[0] = False
    cold_opened, cold_listed = list(opened), list(listed)
    opened.clear(); listed.clear()
    on[0] = True
    warm = scan_image(sys.argv[1], sys.argv[2])
    on[0] = False
    print(json.dumps({"cold": [cold_opened, cold_listed], "warm": [opened, listed],
                      "findings": [f.check_id for f in warm.findings], "incomplete": warm.incomplete}))
    """
)


@pytest.mark.parametrize("fmt", ["qcow2", "backing"])
def test_nothing_but_the_image_is_read_from_the_host(tmp_path, image_factory, fmt):
    """Audit hooks see every open(): besides Python's own modules only the image file itself is opened."""
    if fmt == "backing":
        image = tmp_path / "overlay.qcow2"
        run("qemu-img", "create", "-f", "qcow2", "-F", "raw", "-b", image_factory.image("benign"), image)
        fmt = "qcow2"
    else:
        image = image_factory.image("benign", table="gpt", fmt="qcow2")
    script = tmp_path / "audit.py"
    script.write_text(AUDIT_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), str(image), fmt],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # Python's and the project's code, and the time-zone database some dissect module loads at import time.
    code_dirs = {sys.prefix, sys.base_prefix, str(Path(__file__).resolve().parents[2] / "shelf"), "/usr/share/zoneinfo"}
    for phase in ("cold", "warm"):
        opened, listed = report[phase]
        data_files = [p for p in opened if not p.isdigit() and not any(p.startswith(d + "/") for d in code_dirs)]
        assert data_files == [str(image)], (phase, data_files)
        assert all(any(p.startswith(d + "/") for d in code_dirs) for p in listed), (phase, listed)
    assert report["warm"][1] == []  # no directory of the host is listed once the code is loaded


def test_ext4_directly_from_a_tree(tmp_path):
    """The image builder itself: a minimal tree scans as an unknown OS with the reason recorded."""
    tree = tmp_path / "tree"
    write(tree, "hello.txt", "hi\n")
    image = ext4_from_tree(tree, tmp_path / "tiny.img")
    result = scan_image(image, "raw", today=TODAY)
    assert result.os is None and result.incomplete


def test_read_errors_make_the_scan_incomplete_not_passed(image_factory, monkeypatch):
    from shelf.scanning.engine.context import ScanContext, ScanReadError

    original = ScanContext.read_bytes

    def failing(self, path, limit=4 * 1024 * 1024):
        if path == "/etc/shadow":
            raise ScanReadError("/etc/shadow: bad extent tree")
        return original(self, path, limit)

    monkeypatch.setattr(ScanContext, "read_bytes", failing)
    result = scan_image(image_factory.image("benign"), "raw", today=TODAY)
    assert "accounts: read error: /etc/shadow: bad extent tree" in result.incomplete
    assert not result.passed


def test_a_crashing_check_is_incomplete(image_factory, monkeypatch):
    from shelf.scanning.engine.checks import firewall

    def boom(*args):
        raise RuntimeError("unexpected layout")

    monkeypatch.setattr(firewall, "nft_rules", boom)
    result = scan_image(image_factory.image("benign"), "raw", today=TODAY)
    assert "firewall: internal error RuntimeError: unexpected layout" in result.incomplete


def test_every_finding_uses_a_declared_check_id(image_factory):
    from shelf.scanning.engine import CHECK_IDS
    from tests.scanning.test_accounts import planted as accounts
    from tests.scanning.test_eol_software import add_packages, old_software, package
    from tests.scanning.test_hygiene import leftovers
    from tests.scanning.test_logging import logs_off
    from tests.scanning.test_malware import planted as malware
    from tests.scanning.test_passwords import bundled as passwords
    from tests.scanning.test_permissions import bad as bad_permissions
    from tests.scanning.test_secrets import planted as secrets
    from tests.scanning.test_services import plant_open_services
    from tests.scanning.test_ssh import ED25519_PUB, openssh_private_key
    from tests.scanning.test_web import web_server

    def everything(tree: Path) -> None:
        accounts(tree)
        leftovers(tree)
        secrets(tree)
        write(tree, "etc/os-release", 'NAME="Debian GNU/Linux"\nVERSION_ID="10"\nID=debian\n')
        write(
            tree,
            "etc/ssh/sshd_config.d/00-bad.conf",
            "PasswordAuthentication yes\nPermitRootLogin yes\nPermitEmptyPasswords yes\n",
        )
        write(tree, "etc/ssh/ssh_host_rsa_key", openssh_private_key())
        write(tree, "root/.ssh/authorized_keys", f"ssh-ed25519 {ED25519_PUB}\n")
        write(tree, "root/.ssh/id_rsa", openssh_private_key())
        write(tree, "etc/cloud/cloud-init.disabled", "")
        (tree / "etc/nftables.conf").unlink()
        passwords(tree)
        web_server(tree, bad=True)
        old_software(tree)
        add_packages(tree, package("mariadb-server-10.3", "1:10.3.39-0+deb10u2"))
        malware(tree)
        plant_open_services(tree)
        bad_permissions(tree)
        logs_off(tree)

    result = image_factory.scan("everything", everything)
    # passwords.generated needs a first-boot generator, which turns every passwords.builtin into it: test_passwords.py
    assert set(ids(result)) == set(CHECK_IDS) - {"passwords.generated"}
    assert result.findings[0].severity == "critical" and result.findings[-1].severity == "low"


def test_vmdk_descriptor_pointing_at_other_files_is_refused(tmp_path, image_factory):
    raw = image_factory.image("benign")
    split = tmp_path / "split.vmdk"
    run("qemu-img", "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=twoGbMaxExtentSparse", raw, split)
    assert split.read_bytes()[:4] == b"# Di"  # a text descriptor naming extent files beside it
    result = scan_image(split, "vmdk", today=TODAY)
    assert result.os is None and any("self-contained" in r for r in result.incomplete)
    stream = tmp_path / "stream.vmdk"
    run("qemu-img", "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, stream)
    assert scan_image(stream, "vmdk", today=TODAY).passed
