"""Background jobs for instances: each takes an id, reloads the row and does nothing if the work is done.

The jobs only drive the back end and report through the services; the qemu processes they start are daemons of
their own, so a worker (or the whole of Shelf) may restart at any time: `reconcile` puts the rows right afterwards.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from shelf.compute.backends import get_backend
from shelf.compute.backends.base import BackendError, BackendInstance, InsufficientCapacity, LaunchSpec, NotFound
from shelf.compute.models import BootCheck, Instance
from shelf.compute.services import (
    boot_check_begin,
    boot_check_finish,
    build_server_captured,
    instance_booted,
    instance_fail,
    instance_launch_begin,
    instance_launched,
    instance_lose,
    instance_stopped,
    instance_terminated,
)
from shelf.images.models import Image
from shelf.images.services import image_capture_finish, image_validation_failed
from shelf.storage import get_storage

S = Instance.State
POLL_SECONDS = 0.2
INLINE_WAIT = 0.0  # seconds a job watches a boot itself before a deferred job takes over (one look)
WATCH_EVERY = timedelta(seconds=0.5)
# A row in a transitional state that has not moved for this long lost its job (a worker killed mid-job).
STALLED_AFTER = timedelta(minutes=10)
CHECK_CONSOLE_KEPT = 256 * 1024  # console bytes a boot check holds while it looks for the hostname
QEMU_FORMATS = {"vhd": "vpc"}

log = logging.getLogger(__name__)


def spec_for(instance: Instance) -> LaunchSpec:
    image = instance.image
    return LaunchSpec(
        instance_id=str(instance.pk),
        region=instance.region.code,
        image_key=image.storage_key,
        image_format=image.disk_format,
        image_sha256=image.sha256,
        vcpus=instance.vcpus,
        memory_mib=instance.memory_mib,
        disk_gib=instance.disk_gib,
        ssh_public_key=instance.ssh_public_key,
        hostname=instance.hostname,
        user_data=instance.user_data,
        ports=tuple(instance.ports or ()),
    )


def _reload(instance_id: str) -> Instance | None:
    return Instance.objects.select_related("region", "image", "image__organization").filter(pk=instance_id).first()


def _ref(instance: Instance) -> str:
    # The local back end names an instance by the idempotency key Shelf gives it, the instance's id.
    return instance.backend_ref or str(instance.pk)


def _console_tail(backend, ref: str, size: int = 2048) -> str:
    try:
        data, end = backend.console(ref, 0, limit=1 << 30)
    except BackendError:
        return ""
    return data[-size:].decode("utf-8", errors="replace")


def boot_step(instance: Instance, *, expected: str, boot_offset: int, deadline: float) -> Instance | None:
    """One look at a booting guest: the instance once settled (running, failed, stopped again), None while booting."""
    backend = get_backend()
    ref = _ref(instance)
    seen = backend.describe(ref)
    if seen.state == "running" and seen.console_size > boot_offset:
        done = instance_booted(instance=instance, expected=expected, data={"console_offset": boot_offset})
        return done or _reload(instance.pk)
    current = _reload(instance.pk)
    if current is None or current.state != expected:
        return current  # terminated or stopped meanwhile: whoever moved it owns it now
    if seen.state not in ("stopped", "absent") and time.time() <= deadline:
        return None
    if seen.state in ("stopped", "absent"):
        reason = _("The guest stopped before it printed anything on its console: %(detail)s") % {
            "detail": seen.detail or _("the process exited")
        }
    else:
        reason = _("The guest printed nothing on its serial console within %(n)s seconds.") % {
            "n": settings.SHELF_COMPUTE_BOOT_TIMEOUT
        }
    tail = _console_tail(backend, ref)
    if expected == S.LAUNCHING:
        # Free the host at once; the reason and what the console showed stay on the row.
        backend.terminate(ref)
        return instance_fail(instance=current, reason=reason, console_tail=tail) or _reload(instance.pk)
    backend.stop(ref, timeout=0)
    return instance_stopped(instance=current, reason=reason) or _reload(instance.pk)


def wait_for_boot(instance: Instance, *, expected: str, boot_offset: int, deadline: float | None = None) -> Instance:
    """Watch the guest until it prints on its console since `boot_offset` (→ running) or the boot timeout.

    Where the task back end can defer jobs (the database queue), a job watches for INLINE_WAIT seconds and then hands
    over to a `watch_boot` job WATCH_EVERY later, so a slow boot does not hold a worker that scans and other launches
    need; elsewhere (the immediate back end of tests) it watches to the end itself.
    """
    deadline = deadline or time.time() + settings.SHELF_COMPUTE_BOOT_TIMEOUT
    defer = watch_boot.get_backend().supports_defer
    inline_until = time.monotonic() + (INLINE_WAIT if defer else float("inf"))
    while True:
        done = boot_step(instance, expected=expected, boot_offset=boot_offset, deadline=deadline)
        if done is not None:
            return done
        if time.monotonic() > inline_until:
            watch_boot.using(run_after=timezone.now() + WATCH_EVERY).enqueue(
                str(instance.pk), expected, boot_offset, deadline
            )
            return _reload(instance.pk)
        time.sleep(POLL_SECONDS)


def run_launch(instance: Instance) -> Instance:
    instance = instance_launch_begin(instance=instance)
    if instance is None:
        return None
    backend = get_backend()
    spec = spec_for(instance)
    started = time.monotonic()
    try:
        with get_storage().local_copy(spec.image_key, f"disk.{spec.image_format}") as path:
            seen = backend.launch(replace(spec, image_path=path), idempotency_key=str(instance.pk))
    except InsufficientCapacity as exc:
        return instance_fail(instance=instance, reason=str(exc), data={"code": "insufficient_capacity"})
    except (BackendError, OSError) as exc:
        log.exception("launch of instance %s failed", instance.pk)
        return instance_fail(instance=instance, reason=_("The back end could not launch it: %(e)s") % {"e": exc})
    log.info("instance %s: process started in %.3f s", instance.pk, time.monotonic() - started)
    instance = instance_launched(
        instance=instance,
        ref=seen.ref,
        forwarded_ports={str(k): v for k, v in seen.forwarded_ports.items()},
        ssh_host=seen.ssh_host,
        console={"boot_offset": seen.boot_offset},
    )
    if instance.state in (S.TERMINATING, S.TERMINATED):
        # The buyer terminated while the back end was creating it: the terminate job may have found nothing.
        backend.terminate(seen.ref)
        return instance_terminated(instance=instance) or instance
    return wait_for_boot(instance, expected=S.LAUNCHING, boot_offset=seen.boot_offset)


def _lost_or(instance: Instance, exc: NotFound) -> Instance:
    return instance_lose(instance=instance, reason=_("The back end no longer knows it: %(e)s") % {"e": exc}) or instance


def run_start(instance: Instance) -> Instance:
    if instance.state != S.STARTING:
        return instance
    backend = get_backend()
    try:
        seen = backend.start(_ref(instance))
    except InsufficientCapacity as exc:
        return instance_stopped(instance=instance, reason=str(exc)) or instance
    except NotFound as exc:
        return _lost_or(instance, exc)
    except BackendError as exc:
        return instance_stopped(instance=instance, reason=str(exc)) or instance
    instance = instance_launched(
        instance=instance,
        ref=seen.ref,
        forwarded_ports={str(k): v for k, v in seen.forwarded_ports.items()},
        ssh_host=seen.ssh_host,
        console={**instance.console_info, "boot_offset": seen.boot_offset},
    )
    return wait_for_boot(instance, expected=S.STARTING, boot_offset=seen.boot_offset)


def run_stop(instance: Instance) -> Instance:
    if instance.state != S.STOPPING:
        return instance
    backend = get_backend()
    try:
        seen = backend.stop(_ref(instance), timeout=settings.SHELF_COMPUTE_STOP_TIMEOUT)
    except NotFound as exc:
        return _lost_or(instance, exc)
    return instance_stopped(instance=instance, data={"detail": seen.detail}) or _reload(instance.pk)


def run_reboot(instance: Instance) -> Instance:
    if instance.state != S.REBOOTING:
        return instance
    backend = get_backend()
    try:
        seen = backend.reboot(_ref(instance))
    except NotFound as exc:
        return _lost_or(instance, exc)
    return wait_for_boot(instance, expected=S.REBOOTING, boot_offset=seen.boot_offset)


def run_terminate(instance: Instance) -> Instance:
    if instance.state != S.TERMINATING:
        return instance
    get_backend().terminate(_ref(instance))
    return instance_terminated(instance=instance) or _reload(instance.pk)


def run_capture(instance: Instance) -> Instance:
    """Flatten the stopped build server's disk into its capture's image, store it and hand it to validation (and
    so to the scan), then the server is stopped again; a failure fails the image with the reason, never the server.
    The importing image is found by its `captured_from`, so a requeued job (reconcile) finds the same one."""
    if instance.state != S.CAPTURING:
        return instance
    image = Image.objects.filter(captured_from=str(instance.pk), status=Image.Status.IMPORTING).first()
    reason = ""
    if image is not None:
        captures = Path(settings.DATA_DIR) / "compute" / "captures"
        captures.mkdir(parents=True, exist_ok=True)
        destination = captures / f"{image.pk}.qcow2"
        started = time.monotonic()
        try:
            get_backend().export_disk(_ref(instance), destination)
            flattened = time.monotonic() - started
            image = image_capture_finish(image=image, path=destination)
            log.info(
                "build server %s captured as image %s: disk flattened in %.2f s, stored (and, where jobs run at "
                "once, validated and scanned) after %.2f s",
                instance.pk,
                image.pk,
                flattened,
                time.monotonic() - started,
            )
        except (BackendError, OSError) as exc:
            log.exception("capture of build server %s failed", instance.pk)
            reason = _("The disk could not be captured: %(e)s") % {"e": exc}
            image = image_validation_failed(image=image, code="capture_failed", reason=reason)
        finally:
            destination.unlink(missing_ok=True)
    else:
        reason = _("The image being captured was deleted before its disk was copied.")
    return build_server_captured(instance=instance, image=image, reason=reason) or _reload(instance.pk)


def reconcile() -> dict[str, list[str]]:
    """Put the rows right after a restart or a dead worker, from what the back end actually runs.

    - a running or rebooting instance whose guest powered itself off → stopped; whose process died otherwise → lost;
    - a stopping instance whose process is gone → stopped;
    - a stopped instance whose disk is gone → lost; a launching one past the boot timeout whose guest printed → running;
    - a row stuck in a transitional state for STALLED_AFTER → its job again (jobs are idempotent);
    - what the back end holds for no live instance (terminated rows, deleted rows) → terminated there.
    Lost instances are not restarted behind the buyer's back: he sees `lost` and may start (disk kept) or terminate.
    """
    backend = get_backend()
    held: dict[str, BackendInstance] = {b.ref: b for b in backend.list()}
    now = timezone.now()
    done: dict[str, list[str]] = {"lost": [], "stopped": [], "running": [], "requeued": [], "orphans": []}
    rows = Instance.objects.filter(backend=backend.name).exclude(state__in=(S.TERMINATED, S.FAILED))
    for instance in rows.select_related("region", "image"):
        ref = _ref(instance)
        seen = held.get(ref)
        stale = instance.updated_at < now - STALLED_AFTER
        state = instance.state
        if state in (S.RUNNING, S.REBOOTING) and seen is not None and seen.state == "stopped" and seen.exit == "clean":
            # The guest powered itself off (poweroff over SSH): stopped, as a cloud shows it, disk kept.
            if instance_stopped(instance=instance, reason=_("The guest powered itself off."), expected=(state,)):
                done["stopped"].append(ref)
        elif state in (S.RUNNING, S.REBOOTING) and (seen is None or seen.state in ("stopped", "absent")):
            why = seen.detail if seen else ""
            reason = _("Its process is gone (the host restarted or it was killed)%(why)s.") % {
                "why": f": {why}" if why else ""
            }
            if instance_lose(instance=instance, reason=reason, expected=state):
                done["lost"].append(ref)
        elif state == S.STOPPED and seen is None:
            if instance_lose(instance=instance, reason=_("Its disk is gone from the host."), expected=state):
                done["lost"].append(ref)
        elif state == S.STOPPING and (seen is None or seen.state in ("stopped", "absent")):
            if instance_stopped(instance=instance):
                done["stopped"].append(ref)
        elif state == S.LAUNCHING and seen is not None and stale:
            # Its watch was lost with a worker: one last look decides (running, or failed past the timeout).
            settled = boot_step(
                instance, expected=state, boot_offset=int(instance.console_info.get("boot_offset", 0)), deadline=0
            )
            if settled is not None and settled.state == S.RUNNING:
                done["running"].append(ref)
        elif stale and state in JOBS and not settings.SHELF_JOBS_RERUN_BY_QUEUE:  # RQ reruns a dead worker's job
            log.warning("requeueing %s of instance %s, stalled since %s", state, instance.pk, instance.updated_at)
            Instance.objects.filter(pk=instance.pk).update(updated_at=timezone.now())
            JOBS[state].enqueue(str(instance.pk))
            done["requeued"].append(ref)
    live = {_ref(i) for i in Instance.objects.filter(backend=backend.name).exclude(state__in=(S.TERMINATED, S.FAILED))}
    # A boot check's guest is no instance's, but its job still watches it (its own `finally` terminates it);
    # a check whose job died with a worker fails after its timeout and STALLED_AFTER, and its guest goes.
    done["boot_checks"] = []
    lost_after = now - timedelta(seconds=settings.SHELF_BOOT_CHECK_TIMEOUT) - STALLED_AFTER
    for check in BootCheck.objects.filter(status=BootCheck.Status.RUNNING):
        if check.started_at and check.started_at < lost_after:
            reason = _("The boot check's job was lost before it finished (a worker stopped): the guest was removed.")
            if boot_check_finish(check=check, passed=False, reason=reason):
                done["boot_checks"].append(check.ref)
        else:
            live.add(check.ref)
    for ref in set(held) - live:
        log.warning("terminating %s on the %s back end: no live instance holds it", ref, backend.name)
        backend.terminate(ref)
        done["orphans"].append(ref)
    return done


def reconcile_quietly() -> dict | None:
    try:
        return reconcile()
    except Exception:  # housekeeping's other work must not depend on the back end answering
        log.exception("instance reconciliation failed")
        return None


@task(queue_name="default")
def launch_instance(instance_id: str) -> str:
    instance = _reload(instance_id)
    if instance is None:
        return "gone"
    instance = run_launch(instance) or _reload(instance_id)
    return instance.state


@task(queue_name="default")
def start_instance(instance_id: str) -> str:
    instance = _reload(instance_id)
    return run_start(instance).state if instance else "gone"


@task(queue_name="default")
def stop_instance(instance_id: str) -> str:
    instance = _reload(instance_id)
    return run_stop(instance).state if instance else "gone"


@task(queue_name="default")
def reboot_instance(instance_id: str) -> str:
    instance = _reload(instance_id)
    return run_reboot(instance).state if instance else "gone"


@task(queue_name="default")
def terminate_instance(instance_id: str) -> str:
    instance = _reload(instance_id)
    return run_terminate(instance).state if instance else "gone"


@task(queue_name="default")
def capture_instance(instance_id: str) -> str:
    instance = _reload(instance_id)
    return run_capture(instance).state if instance else "gone"


@task(queue_name="default", priority=-10)  # behind launches and stops waiting in the queue: they are the buyer's
def watch_boot(instance_id: str, expected: str, boot_offset: int, deadline: float) -> str:
    instance = _reload(instance_id)
    if instance is None:
        return "gone"
    return wait_for_boot(instance, expected=expected, boot_offset=boot_offset, deadline=deadline).state


@task(queue_name="default")
def reconcile_instances() -> dict:
    return reconcile()


def _throwaway_key() -> str:
    """A fresh public key whose private half is never kept: the seed needs one, nobody logs in."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    public = Ed25519PrivateKey.generate().public_key()
    raw = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return f"{raw} shelf-boot-check"


def _ssh_banner(host: str, port: int | None) -> bool:
    import socket

    if not port:
        return False
    try:
        with socket.create_connection((host or "127.0.0.1", port), timeout=0.5) as sock:
            sock.settimeout(0.5)
            return sock.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def run_boot_check(check: BootCheck) -> BootCheck:
    """Launch the image with a throwaway hostname and key, watch its console for the hostname (or an SSH banner on
    the forwarded port) until SHELF_BOOT_CHECK_TIMEOUT, record the outcome; the guest and its files are always
    removed afterwards."""
    backend = get_backend()
    started = boot_check_begin(check=check, backend=backend.name)
    if started is None:
        return BootCheck.objects.get(pk=check.pk)
    check, image = started, started.image
    ref = check.ref
    timeout = settings.SHELF_BOOT_CHECK_TIMEOUT
    outcome: dict = {"passed": False, "reason": ""}
    console = b""
    try:
        spec = LaunchSpec(
            instance_id=ref,
            region=image.region.code,
            image_key=image.storage_key,
            image_format=image.disk_format,
            image_sha256=image.sha256,
            vcpus=1,
            memory_mib=settings.SHELF_BOOT_CHECK_MEMORY_MIB,
            disk_gib=max(1, -(-int(image.virtual_size or 0) // 2**30)),
            ssh_public_key=_throwaway_key(),
            hostname=check.hostname,
        )
        t0 = time.monotonic()
        try:
            with get_storage().local_copy(spec.image_key, f"disk.{spec.image_format}") as path:
                seen = backend.launch(replace(spec, image_path=path), idempotency_key=ref)
        except (BackendError, OSError) as exc:
            outcome["reason"] = _("The back end could not launch it: %(e)s") % {"e": exc}
            seen = None
        offset = seen.boot_offset if seen else 0
        needle = check.hostname.encode()
        ssh_port = (seen.forwarded_ports.get(22) or seen.forwarded_ports.get("22")) if seen else None
        while seen is not None:
            chunk, offset = backend.console(ref, offset)
            console = (console + chunk)[-CHECK_CONSOLE_KEPT:]
            now = time.monotonic() - t0
            if console and outcome.get("first_line_seconds") is None:
                outcome["first_line_seconds"] = round(now, 3)
            if needle in console or _ssh_banner(seen.ssh_host, ssh_port):
                outcome.update(passed=True, seed_seen_seconds=round(now, 3))
                break
            state = backend.describe(ref)
            if state.state in ("stopped", "absent"):
                outcome["reason"] = _(
                    "The guest stopped before it showed the throwaway hostname %(host)s: %(detail)s"
                ) % {"host": check.hostname, "detail": state.detail or _("the process exited")}
                break
            if now > timeout:
                outcome["reason"] = (
                    _("The guest showed no sign of reading its seed (the hostname %(host)s) within %(n)s seconds.")
                    if console
                    else _("The guest printed nothing on its serial console within %(n)s seconds.")
                ) % {"host": check.hostname, "n": timeout}
                break
            time.sleep(POLL_SECONDS)
    except Exception as exc:  # the check must end recorded, whatever went wrong
        log.exception("boot check %s failed", check.pk)
        outcome["reason"] = _("The boot check could not run: %(e)s") % {"e": exc}
    finally:
        try:
            backend.terminate(ref)
        except Exception:
            log.exception("boot check %s: terminate failed", check.pk)
        done = boot_check_finish(
            check=check,
            passed=outcome["passed"],
            reason=outcome["reason"],
            first_line_seconds=outcome.get("first_line_seconds"),
            seed_seen_seconds=outcome.get("seed_seen_seconds"),
            console=console.decode("utf-8", errors="replace"),
        )
    return done or BootCheck.objects.get(pk=check.pk)


@task(queue_name="default", priority=-20)  # behind the buyers' launches
def boot_check_image(check_id: str) -> str:
    check = BootCheck.objects.select_related("image__region").filter(pk=check_id).first()
    return run_boot_check(check).status if check else "gone"


JOBS = {
    S.PENDING: launch_instance,
    S.STARTING: start_instance,
    S.STOPPING: stop_instance,
    S.REBOOTING: reboot_instance,
    S.TERMINATING: terminate_instance,
    S.CAPTURING: capture_instance,
}
