"""`shelf scan FILE` runs the server's scanner and policy locally; `shelf image scan ID` runs it on the server."""

import json
import subprocess

import pytest

from tests.images.builders import TREE_TOOLS, convert, debian12_tree, ext4_from_tree, tools_missing, write

if tools_missing(TREE_TOOLS):
    pytest.skip("image tools missing", allow_module_level=True)

from tests.cli.conftest import CHECKOUT, SHELF

RECORD = {
    "schema_version": "1.6.0",
    "id": "DEBIAN-CVE-2099-0001",
    "modified": "2026-11-01T00:00:00Z",
    "affected": [
        {
            "package": {"ecosystem": "Debian:12", "name": "glibc"},
            "ecosystem_specific": {"urgency": "high"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.36-9+deb12u5"}]}],
        }
    ],
}
UNRELATED = {
    **RECORD,
    "id": "DEBIAN-CVE-2099-0002",
    "affected": [{**RECORD["affected"][0], "package": {"ecosystem": "Debian:12", "name": "nothing-installed"}}],
}


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-scan")
    tree = debian12_tree(root / "tree")
    clean = ext4_from_tree(tree, root / "clean.raw")
    write(tree, "home/debian/.bash_history", "sudo su\n")
    dirty = convert(ext4_from_tree(tree, root / "dirty.raw"), root / "dirty.qcow2", "qcow2")
    (root / "osv-unrelated").mkdir()
    (root / "osv-unrelated" / "a.json").write_text(json.dumps(UNRELATED))
    (root / "osv-glibc").mkdir()
    (root / "osv-glibc" / "a.json").write_text(json.dumps(RECORD))
    return root, clean, dirty


def run(*args):
    return subprocess.run(
        [SHELF, "scan", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "COLUMNS": "200", "HOME": "/tmp", **CHECKOUT},
    )


def test_clean_image_would_pass(images):
    root, clean, _dirty = images
    result = run(clean, "--osv", root / "osv-unrelated")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED" in result.stdout and "No findings." in result.stdout


def test_planted_problem_fails_with_evidence_and_fix(images, tmp_path):
    root, _clean, dirty = images
    result = run(dirty, "--osv", root / "osv-unrelated", "--sbom", tmp_path / "sbom.json")
    assert result.returncode == 1
    assert (
        "FAILED" in result.stdout
        and "hygiene.history" in result.stdout
        and "/home/debian/.bash_history" in result.stdout
    )
    assert json.loads((tmp_path / "sbom.json").read_text())["bomFormat"] == "CycloneDX"


def test_vulnerability_through_source_package_in_json(images):
    root, clean, _dirty = images
    result = run(clean, "--osv", root / "osv-glibc", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    (vuln,) = [f for f in report["findings"] if f["family"] == "vulnerabilities"]
    assert vuln["data"]["package"] == "libc6" and vuln["data"]["source"] == "glibc" and vuln["blocking"]


def test_without_vulnerability_data_it_would_not_pass(images):
    _root, clean, _dirty = images
    result = run(clean)
    assert result.returncode == 1 and "INCOMPLETE" in result.stdout and "--osv" in result.stdout
    assert run(clean, "--no-vulnerabilities").returncode == 0


def test_hostile_container_refused_like_the_server(tmp_path):
    base = tmp_path / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "8M"], check=True)
    top = tmp_path / "top.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(top)], check=True)
    result = run(top)
    assert result.returncode == 1 and "backing file" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_image_scan_on_the_server_follows_and_reports(shelf_cli, alice, images):
    from shelf.accounts.services import token_create
    from shelf.scanning.models import ScanPolicy

    ScanPolicy.objects.update_or_create(pk=1, defaults={"require_vulndb": False})
    _root, _clean, dirty = images
    token = token_create(user=alice, name="cli")[1]
    imported = shelf_cli("image", "import", str(dirty), "-r", "ap-guangzhou", "-n", "dirty", token=token)
    assert imported.returncode == 0, imported.stderr
    image_id = imported.stdout.strip().splitlines()[-1]
    scanned = shelf_cli("image", "scan", image_id, token=token)
    assert scanned.returncode == 1
    assert "FAILED" in scanned.stdout and "hygiene.history" in scanned.stdout
