"""Family `hygiene`: shell histories, leftover logs, cloud-init installed and enabled."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.images.builders import link, write
from tests.scanning.conftest import ids, only


def leftovers(tree: Path) -> None:
    write(tree, "root/.bash_history", "apt-get update\nmysql -uroot -psecret\n")
    write(tree, "home/debian/.python_history", "import os\n")
    write(tree, "home/debian/.zsh_history", "")  # empty: fine
    write(tree, "home/debian/.lesshst", ".less-history-file:\n")  # not a shell history
    write(tree, "var/log/syslog", "Nov 28 builder kernel: hello\n")
    write(tree, "var/log/auth.log", "sshd: Accepted password for root\n")
    write(tree, "var/log/apt/history.log", "Start-Date: 2026-11-01\n")
    write(tree, "var/log/syslog.2.gz", b"\x1f\x8b\x08\x00")
    write(tree, "var/log/messages.1", "old\n")
    write(tree, "var/log/journal/0123456789abcdef/system.journal", b"LPKSHHRH" + b"\x00" * 100)
    write(tree, "var/log/empty.log", "")
    write(tree, "var/log/README", "not a log\n")


def test_histories_and_logs(image_factory):
    result = image_factory.scan("leftovers", leftovers)
    histories = {f.evidence[0].path: f for f in result.findings if f.check_id == "hygiene.history"}
    assert set(histories) == {"/root/.bash_history", "/home/debian/.python_history"}
    root = histories["/root/.bash_history"]
    assert root.severity == "medium" and root.data == {"user": "root", "bytes": 37}
    assert "psecret" not in str(result.to_dict())  # history contents are never copied

    logs = only(result, "hygiene.logs")
    assert logs.severity == "low"
    assert {e.path for e in logs.evidence} == {
        "/var/log/syslog",
        "/var/log/auth.log",
        "/var/log/apt/history.log",
        "/var/log/syslog.2.gz",
        "/var/log/messages.1",
        "/var/log/journal/0123456789abcdef/system.journal",
    }
    assert logs.data["files"] == 6


def test_cloud_init_missing(image_factory):
    def remove(tree: Path) -> None:
        (tree / "usr/bin/cloud-init").unlink()
        status = (
            (tree / "var/lib/dpkg/status").read_text().replace("Package: cloud-init\n", "Package: cloud-guest-utils\n")
        )
        (tree / "var/lib/dpkg/status").write_text(status)
        shutil.rmtree(tree / "etc/systemd/system/cloud-init.target.wants")

    finding = only(image_factory.scan("no-cloud-init", remove), "hygiene.cloud_init")
    assert finding.severity == "medium" and "not installed" in finding.title


def test_cloud_init_installed_but_not_enabled(image_factory):
    def unlink(tree: Path) -> None:
        shutil.rmtree(tree / "etc/systemd/system/cloud-init.target.wants")

    finding = only(image_factory.scan("cloud-init-off", unlink), "hygiene.cloud_init")
    assert "none of its services is enabled" in finding.title


def test_cloud_init_enabled_by_preset(image_factory):
    def preset(tree: Path) -> None:
        shutil.rmtree(tree / "etc/systemd/system/cloud-init.target.wants")
        write(
            tree,
            "lib/systemd/system-preset/90-cloud.preset",
            "enable cloud-init-local.service\nenable cloud-init.service\n",
        )

    assert "hygiene.cloud_init" not in ids(image_factory.scan("cloud-init-preset", preset))


def test_cloud_init_disabled(image_factory):
    def disable(tree: Path) -> None:
        write(tree, "etc/cloud/cloud-init.disabled", "")

    finding = only(image_factory.scan("cloud-init-disabled", disable), "hygiene.cloud_init")
    assert finding.evidence[0].path == "/etc/cloud/cloud-init.disabled"


def test_cloud_init_masked(image_factory):
    def mask(tree: Path) -> None:
        link(tree, "etc/systemd/system/cloud-init.service", "/dev/null")

    finding = only(image_factory.scan("cloud-init-masked", mask), "hygiene.cloud_init")
    assert "masked" in finding.evidence[0].text


def test_machine_id_left_behind(image_factory):
    def machine_ids(tree: Path) -> None:
        (tree / "etc/machine-id").write_text("0123456789abcdef0123456789abcdef\n")
        (tree / "var/lib/dbus").mkdir(parents=True, exist_ok=True)
        (tree / "var/lib/dbus/machine-id").symlink_to("/etc/machine-id")

    finding = only(image_factory.scan("machine-id", machine_ids), "hygiene.machine_id")
    assert finding.evidence[0].path == "/etc/machine-id" and finding.severity == "medium"
    assert "01234567" in finding.evidence[0].text


def test_machine_id_empty_or_uninitialized_is_fine(image_factory):
    def empty(tree: Path) -> None:
        (tree / "etc/machine-id").write_text("")
        (tree / "var/lib/dbus").mkdir(parents=True, exist_ok=True)
        (tree / "var/lib/dbus/machine-id").write_text("uninitialized\n")

    assert "hygiene.machine_id" not in ids(image_factory.scan("machine-id-empty", empty))
