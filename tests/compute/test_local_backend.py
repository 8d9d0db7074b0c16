"""The local back end's parts that need no guest: the bounded console log and its absolute offsets, the seed disk,
refs that are not names, the budget arithmetic."""

import json
import subprocess

import pytest

from shelf.compute.backends import local
from shelf.compute.backends.base import InsufficientCapacity, LaunchSpec, NotFound
from shelf.compute.backends.local import LocalQemuBackend

REF = "0f0e0d0c-0b0a-0908-0706-050403020100"


@pytest.fixture
def backend(tmp_path):
    return LocalQemuBackend(data_dir=str(tmp_path), memory_mib=512, accel="tcg")


def test_console_is_bounded_with_absolute_offsets(backend, monkeypatch):
    monkeypatch.setattr(local, "CONSOLE_MAX", 100)
    directory = backend.root / REF
    directory.mkdir(parents=True)
    (directory / "spec.json").write_text(json.dumps({"memory_mib": 128, "forwarded_ports": {}}))
    log = directory / "console.log"
    log.write_bytes(b"a" * 60)
    assert backend.console(REF, 0) == (b"a" * 60, 60)
    with open(log, "ab") as fh:  # as qemu appends
        fh.write(b"b" * 60)
    data, end = backend.console(REF, 60)  # past CONSOLE_MAX: moved to console.1, offsets unchanged
    assert (data, end) == (b"b" * 60, 120) and log.stat().st_size == 0
    with open(log, "ab") as fh:
        fh.write(b"c" * 10)
    assert backend.console(REF, 0) == (b"a" * 60 + b"b" * 60 + b"c" * 10, 130)
    assert backend.console(REF, 125) == (b"c" * 5, 130)
    assert backend.console(REF, 50, limit=20) == (b"a" * 10 + b"b" * 10, 70)
    with open(log, "ab") as fh:
        fh.write(b"d" * 100)
    backend.console(REF, 130)  # trims again: the a/b segment is dropped
    data, end = backend.console(REF, 0)
    assert (data, end) == (b"c" * 10 + b"d" * 100, 230)  # an offset older than what is kept starts at the oldest


def test_seed_is_a_cidata_vfat_with_the_key_and_hostname(backend, tmp_path):
    spec = LaunchSpec(
        instance_id="i",
        region="ap-guangzhou",
        image_key="k",
        image_format="raw",
        image_sha256="",
        vcpus=1,
        memory_mib=128,
        disk_gib=1,
        ssh_public_key="ssh-ed25519 AAAAkey bruce@laptop",
        hostname="web-1",
        user_data="#!/bin/sh\necho hi\n",
    )
    seed = backend._seed(tmp_path, spec, REF)
    label = subprocess.run(["blkid", "-o", "value", "-s", "LABEL", str(seed)], capture_output=True, text=True)
    assert label.stdout.strip() == "cidata"
    meta = subprocess.run(["mtype", "-i", str(seed), "::meta-data"], capture_output=True, text=True).stdout
    user = subprocess.run(["mtype", "-i", str(seed), "::user-data"], capture_output=True, text=True).stdout
    assert f"instance-id: {REF}" in meta and "local-hostname: web-1" in meta
    assert "#cloud-config" in user and "  - ssh-ed25519 AAAAkey bruce@laptop" in user
    assert "text/x-shellscript" in user and "echo hi" in user  # the buyer's user-data as its own part


def test_refs_and_budget(backend):
    with pytest.raises(NotFound):
        backend.console("../etc", 0)
    assert backend.describe(REF).state == "absent"
    assert backend.list() == []
    backend.terminate(REF)  # unknown: done
    backend._check_budget(REF, 512)
    with pytest.raises(InsufficientCapacity, match="no room for 513 MiB"):
        backend._check_budget(REF, 513)
