"""The local back end against real qemu processes: the boot image launched, read, stopped, started, rebooted,
terminated, killed behind Shelf's back, and refused when the host's memory budget is spent.

Few and small guests (TCG, 128 MiB, 1 GiB overlays); every process is stopped at teardown (the `vm` fixture)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from shelf.audit.models import AuditEvent
from shelf.compute import tasks
from shelf.compute.backends import get_backend
from shelf.compute.bootimage import BOOT_MARK, SEED_MARK
from shelf.compute.models import Instance
from shelf.compute.signals import instance_failed
from tests.compute.conftest import KEY, available_image, create
from tests.conftest import ApiClient

S = Instance.State
pytestmark = pytest.mark.django_db


def _refresh(instance: Instance) -> Instance:
    return Instance.objects.get(pk=instance.pk)


def _pid(instance: Instance) -> int | None:
    path = Path(get_backend().root, instance.backend_ref, "qemu.pid")
    try:
        pid = int(path.read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def _console_until(api: ApiClient, instance: Instance, marker: str, timeout: float = 90) -> str:
    """Follow the console through the API (offset paging) until `marker` appears."""
    text, offset, deadline = "", 0, time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = api.get(f"instances/{instance.pk}/console?offset={offset}").json()
        assert answer["offset"] == offset
        text += answer["text"]
        offset = answer["next_offset"]
        if marker in text:
            return text
        time.sleep(0.3)
    raise AssertionError(f"{marker!r} not on the console within {timeout} s:\n{text[-2000:]}")


def _launch(owner, image, **kw) -> Instance:
    instance = create(owner, image, **kw)
    return tasks.run_launch(instance) or _refresh(instance)


def test_lifecycle_against_qemu(vm, bruce, settings, django_capture_on_commit_callbacks):
    api = ApiClient(bruce)
    started = time.monotonic()
    instance = _launch(bruce, vm, hostname="shop-7", ports=[80])
    assert instance.state == S.RUNNING, instance.state_reason
    print(f"\norder to running (first console line): {time.monotonic() - started:.2f} s")
    pid = _pid(instance)
    assert pid and os.getppid() != pid
    # daemonized: qemu is nobody's child here, so a worker or web restart does not take it along
    assert int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]) != os.getpid()
    directory = Path(settings.DATA_DIR, "instances", instance.backend_ref)
    assert {"disk.qcow2", "seed.img", "console.log", "spec.json"} <= {p.name for p in directory.iterdir()}
    assert set(instance.forwarded_ports) == {"22", "80"} and instance.ssh_command.startswith("ssh -p ")

    text = _console_until(api, instance, f"{BOOT_MARK} ready")
    assert f"{SEED_MARK} hostname=shop-7" in text
    assert f"{SEED_MARK} ssh-key={KEY}" in text
    assert f"{SEED_MARK} instance-id={instance.backend_ref}" in text

    detail = api.get(f"instances/{instance.pk}").json()
    assert detail["state"] == "running" and detail["ssh_command"] == instance.ssh_command

    # A fresh back end object (as after a restart of Shelf) finds it again, and reconciliation leaves it be.
    from shelf.compute.backends import _backend_for

    _backend_for.cache_clear()
    assert [b.ref for b in get_backend().list()] == [instance.backend_ref]
    assert tasks.reconcile()["lost"] == []

    with django_capture_on_commit_callbacks(execute=True):  # the job runs when the API's transaction commits
        answer = api.post(f"instances/{instance.pk}/stop")
    assert answer.status_code == 202 and answer.json()["state"] == "stopping"
    instance = _refresh(instance)
    assert instance.state == S.STOPPED and _pid(instance) is None
    stopped = AuditEvent.objects.filter(target_id=str(instance.pk), action="instance.stopped").get()
    assert stopped.data["detail"] == "powered off by the guest (ACPI)"
    assert "power button: powering off" in api.get(f"instances/{instance.pk}/console").json()["text"]

    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"instances/{instance.pk}/start").status_code == 202
    instance = _refresh(instance)
    assert instance.state == S.RUNNING and _pid(instance)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"instances/{instance.pk}/reboot").status_code == 202
    instance = _refresh(instance)
    assert instance.state == S.RUNNING
    assert api.post(f"instances/{instance.pk}/reboot").status_code == 202  # the second waits in `rebooting`
    assert api.post(f"instances/{instance.pk}/reboot").status_code == 409

    pid = _pid(instance)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"instances/{instance.pk}/terminate").status_code == 202
    instance = _refresh(instance)
    assert instance.state == S.TERMINATED and instance.terminated_at
    assert not directory.exists()  # process, overlay and seed gone
    assert not Path(f"/proc/{pid}").exists() or b"shelf-" not in Path(f"/proc/{pid}/cmdline").read_bytes()


def test_hard_stop_when_the_guest_ignores_acpi(vm, bruce, settings):
    # Right after the first console line the kernel is still booting: nothing listens to the power button yet.
    settings.SHELF_COMPUTE_STOP_TIMEOUT = 1
    instance = _launch(bruce, vm)
    assert instance.state == S.RUNNING
    from shelf.compute.services import instance_stop

    instance = tasks.run_stop(instance_stop(actor=bruce, instance=instance))
    assert instance.state == S.STOPPED and _pid(instance) is None
    how = AuditEvent.objects.get(target_id=str(instance.pk), action="instance.stopped").data["detail"]
    assert how.startswith("stopped hard after 1 s"), how
    from shelf.compute.services import instance_terminate

    assert tasks.run_terminate(instance_terminate(actor=bruce, instance=instance)).state == S.TERMINATED


def test_budget_and_a_killed_process(vm, bruce, settings):
    settings.SHELF_COMPUTE_MEMORY_MIB = 200
    failures = []

    def on_failed(sender, instance, reason, **kw):
        failures.append((instance.pk, instance.state, reason))

    instance_failed.connect(on_failed)
    try:
        first = _launch(bruce, vm)
        assert first.state == S.RUNNING
        second = _launch(bruce, vm)
        assert second.state == S.FAILED
        assert "no room for 128 MiB" in second.state_reason and "128 of its 200 MiB" in second.state_reason
        assert not Path(settings.DATA_DIR, "instances", str(second.pk)).exists()

        os.kill(_pid(first), signal.SIGKILL)
        time.sleep(0.5)
        assert tasks.reconcile()["lost"] == [first.backend_ref]
        first = _refresh(first)
        assert first.state == S.LOST and "process is gone" in first.state_reason
        assert tasks.reconcile()["lost"] == []  # once
    finally:
        instance_failed.disconnect(on_failed)
    assert [(pk, state) for pk, state, _ in failures] == [(second.pk, "failed"), (first.pk, "lost")]

    # lost keeps its disk: the buyer may start it again
    from shelf.compute.services import instance_start, instance_terminate

    first = tasks.run_start(instance_start(actor=bruce, instance=first))
    assert first.state == S.RUNNING and _pid(first)

    # The guest powering itself off (as `poweroff` over SSH would) is a stop, not a loss.
    _console_until(ApiClient(bruce), first, f"{BOOT_MARK} ready")
    pid = _pid(first)
    assert get_backend()._qmp(Path(get_backend().root, first.backend_ref), "system_powerdown")
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert tasks.reconcile()["stopped"] == [first.backend_ref]
    first = _refresh(first)
    assert first.state == S.STOPPED and first.state_reason == "The guest powered itself off."
    first = tasks.run_terminate(instance_terminate(actor=bruce, instance=first))
    assert first.state == S.TERMINATED and _pid(first) is None


def test_an_image_that_does_not_boot_fails_with_the_reason(vm, bruce, alice, settings):
    settings.SHELF_COMPUTE_BOOT_TIMEOUT = 3
    blank = available_image(alice.organizations.first())  # 512 zero bytes: no boot sector
    instance = _launch(bruce, blank)
    assert instance.state == S.FAILED
    assert "printed nothing on its serial console within 3 seconds" in instance.state_reason
    assert not Path(settings.DATA_DIR, "instances", str(instance.pk)).exists()


def test_canary_decision(accel_decision):
    assert accel_decision["accel"] in ("kvm", "tcg") and accel_decision["reason"]
    if not os.path.exists("/dev/kvm"):
        assert accel_decision["accel"] == "tcg"
