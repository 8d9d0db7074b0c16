"""Every write on instances: creation, one function per state transition, the back end's outcomes.

States (Tencent CVM's and Nova's, in Shelf's words):
    pending → launching → running;  running → stopping → stopped → starting → running;
    stopped → capturing → stopped (a build server's disk made into an image);
    running → rebooting → running;  any live state → terminating → terminated;
    launching/starting → failed (with the reason);  a live state → lost (the back end no longer runs it).
A state is assigned only in `_transition`, under the row lock the caller's service took; follow-up work on the back
end is enqueued with transaction.on_commit, and the jobs (shelf.compute.tasks) report back through the services at
the bottom of this module.
"""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shelf.accounts.models import User
from shelf.audit.services import audit_record
from shelf.catalog.models import Region
from shelf.compute.models import BootCheck, Instance
from shelf.compute.signals import instance_failed, instance_state_changed
from shelf.errors import Conflict, RuleViolations, Violation, raise_if
from shelf.images.models import Image

S = Instance.State

# Which transitions exist: to-state -> the states it may come from. Everything else is refused.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.LAUNCHING: (S.PENDING,),
    S.RUNNING: (S.LAUNCHING, S.STARTING, S.REBOOTING),
    S.STOPPING: (S.RUNNING, S.REBOOTING),
    # running → stopped: the guest powered itself off; starting/rebooting → stopped: it did not (re)boot
    S.STOPPED: (S.STOPPING, S.STARTING, S.REBOOTING, S.RUNNING, S.CAPTURING),
    S.STARTING: (S.STOPPED, S.LOST),
    S.REBOOTING: (S.RUNNING,),
    S.TERMINATING: (
        S.PENDING,
        S.LAUNCHING,
        S.RUNNING,
        S.STOPPING,
        S.STOPPED,
        S.STARTING,
        S.REBOOTING,
        S.FAILED,
        S.LOST,
    ),
    S.TERMINATED: (S.TERMINATING,),
    S.FAILED: (S.PENDING, S.LAUNCHING),
    # A stopped build server's disk being made into an image: no start or terminate until it is done.
    S.CAPTURING: (S.STOPPED,),
    S.LOST: (S.LAUNCHING, S.RUNNING, S.STOPPING, S.STOPPED, S.STARTING, S.REBOOTING),
}
# States in which the instance holds back-end resources a terminate must free.
LIVE_STATES = (S.LAUNCHING, S.RUNNING, S.STOPPING, S.STOPPED, S.STARTING, S.REBOOTING, S.LOST, S.CAPTURING)
HOSTNAME_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
SSH_KEY_RE = re.compile(
    r"^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+) [A-Za-z0-9+/=]+( .*)?$"
)
MAX_PORTS = 16


def can_transition(instance: Instance, to: str) -> bool:
    return instance.state in TRANSITIONS[to]


def _locked(instance: Instance) -> Instance:
    return Instance.objects.select_for_update().select_related("region", "image").get(pk=instance.pk)


def _transition(instance: Instance, *, actor, to: str, action: str, reason: str = "", data: dict | None = None) -> None:
    """The one place a state is assigned: guard, save, audit row, signals — inside the caller's transaction."""
    if not can_transition(instance, to):
        raise Conflict(
            _("The instance is %(state)s; it cannot become %(to)s.")
            % {"state": Instance.State(instance.state).label, "to": Instance.State(to).label},
            code="invalid_state",
        )
    previous = instance.state
    instance.state = to
    instance.state_reason = reason
    now = timezone.now()
    if to == S.RUNNING:
        instance.running_at = now
    elif to == S.TERMINATED:
        instance.terminated_at = now
    instance.save()
    audit_record(
        actor=actor,
        target=instance,
        action=action,
        organization=instance.organization,  # a buyer's server (none): not in the image provider's audit trail
        from_status=previous,
        to_status=to,
        reason=reason,
        data=data,
    )
    instance_state_changed.send(sender=Instance, instance=instance, previous=previous, to=to)
    if to in (S.FAILED, S.LOST):
        instance_failed.send(sender=Instance, instance=instance, reason=reason)


def _enqueue(task_name: str, instance: Instance) -> None:
    from shelf.compute import tasks  # the tasks module imports these services

    job = getattr(tasks, task_name)
    instance_id = str(instance.pk)
    transaction.on_commit(lambda: job.enqueue(instance_id))


def create_violations(
    *, hostname: str, vcpus: int, memory_mib: int, disk_gib: int, ssh_public_key: str, ports, name: str, image: Image
) -> list[Violation]:
    """Every rule of an instance's spec, reported at once per field (orders runs them before charging)."""
    violations = []
    if not (name or "").strip() or len(name.strip()) > 100:
        violations.append(Violation("name", "invalid", _("Give the instance a name of 1 to 100 characters.")))
    if not HOSTNAME_RE.match(hostname or ""):
        violations.append(
            Violation(
                "hostname",
                "invalid",
                _("A hostname is 1 to 63 lowercase letters, digits and hyphens, not starting or ending with one."),
            )
        )
    if not 1 <= vcpus <= 64:
        violations.append(Violation("vcpus", "out_of_range", _("An instance has 1 to 64 vCPUs.")))
    if not 64 <= memory_mib <= 1024 * 1024:
        violations.append(Violation("memory_mib", "out_of_range", _("An instance has 64 MiB to 1 TiB of memory.")))
    virtual_gib = -(-(image.virtual_size or 0) // 1024**3)
    if not 1 <= disk_gib <= 16384 or disk_gib < virtual_gib:
        violations.append(
            Violation(
                "disk_gib",
                "too_small",
                _("The system disk must be at least the image's virtual size (%(size)s GiB) and at most 16384 GiB.")
                % {"size": max(virtual_gib, 1)},
            )
        )
    key = (ssh_public_key or "").strip()
    if not SSH_KEY_RE.match(key) or "\n" in key:
        violations.append(
            Violation(
                "ssh_public_key", "invalid", _("Give one OpenSSH public key, such as ssh-ed25519 AAAA… you@host.")
            )
        )
    ports = list(ports or ())
    if len(ports) > MAX_PORTS or any(not isinstance(p, int) or not 1 <= p <= 65535 for p in ports):
        violations.append(Violation("ports", "invalid", _("Up to %(n)s TCP ports from 1 to 65535.") % {"n": MAX_PORTS}))
    return violations


def instance_create(
    *,
    owner: User,
    image: Image,
    region: Region,
    name: str,
    hostname: str,
    vcpus: int,
    memory_mib: int,
    disk_gib: int,
    ssh_public_key: str,
    ports: list[int] | tuple[int, ...] = (),
    user_data: str = "",
    idempotency_key: str,
    organization=None,
) -> Instance:
    """A pending instance, launched by a job after the caller's transaction commits; with `organization`, that
    provider organisation's build server (see build_server_launch).

    The same (owner, idempotency_key) answers the instance created first, whatever the other arguments, so a
    retried order never launches twice (Tencent's ClientToken).
    """
    key = (idempotency_key or "").strip()
    if not key or len(key) > 100:
        raise RuleViolations(
            [Violation("idempotency_key", "invalid", _("An idempotency key of 1 to 100 characters is required."))]
        )
    existing = Instance.objects.filter(owner=owner, idempotency_key=key).first()
    if existing is not None:
        return existing
    if image.status != Image.Status.AVAILABLE or image.region_id != region.pk:
        raise Conflict(_("The image is not available in region %(region)s.") % {"region": region.code}, code="image")
    ports = sorted({int(p) for p in ports if isinstance(p, int)} - {22}) if ports else []
    raise_if(
        create_violations(
            hostname=hostname,
            vcpus=vcpus,
            memory_mib=memory_mib,
            disk_gib=disk_gib,
            ssh_public_key=ssh_public_key,
            ports=ports,
            name=name,
            image=image,
        )
    )
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin loses only this insert
            instance = Instance.objects.create(
                owner=owner,
                organization=organization,
                image=image,
                region=region,
                name=name.strip(),
                hostname=hostname,
                vcpus=vcpus,
                memory_mib=memory_mib,
                disk_gib=disk_gib,
                ssh_public_key=ssh_public_key.strip(),
                ports=ports,
                user_data=user_data or "",
                idempotency_key=key,
                backend=_backend_name(),
            )
    except IntegrityError:
        return Instance.objects.get(owner=owner, idempotency_key=key)
    audit_record(
        actor=owner,
        target=instance,
        action="instance.create",
        organization=organization,  # a buyer's server is in no provider's audit trail; a build server in its own
        to_status=instance.state,
        data={"image": str(image.pk), "region": region.code, "vcpus": vcpus, "memory_mib": memory_mib},
    )
    instance_state_changed.send(sender=Instance, instance=instance, previous="", to=instance.state)
    _enqueue("launch_instance", instance)
    return instance


def _backend_name() -> str:
    from django.conf import settings

    return settings.SHELF_COMPUTE_BACKEND


# --- what buyers (and operators) ask for ------------------------------------------------------------------------


HOLD_MESSAGES = {
    Instance.Hold.EXPIRED: gettext_lazy(
        "The instance is isolated because its term expired: renew it to start it again."
    ),
    Instance.Hold.ARREARS: gettext_lazy(
        "The instance is isolated because your balance is in arrears: top up to start it."
    ),
}


@transaction.atomic
def instance_start(*, actor: User, instance: Instance) -> Instance:
    """stopped (or lost with its disk kept) → starting; the job boots it again. Refused while billing holds it."""
    instance = _locked(instance)
    if instance.hold:
        raise Conflict(str(HOLD_MESSAGES[instance.hold]), code="isolated")
    _transition(instance, actor=actor, to=S.STARTING, action="instance.start")
    _enqueue("start_instance", instance)
    return instance


@transaction.atomic
def instance_stop(*, actor: User, instance: Instance) -> Instance:
    """running → stopping; the job powers the guest down (ACPI, then a hard stop after the timeout)."""
    instance = _locked(instance)
    _transition(instance, actor=actor, to=S.STOPPING, action="instance.stop")
    _enqueue("stop_instance", instance)
    return instance


@transaction.atomic
def instance_reboot(*, actor: User, instance: Instance) -> Instance:
    """running → rebooting; the job resets the guest and waits for it to come back."""
    instance = _locked(instance)
    _transition(instance, actor=actor, to=S.REBOOTING, action="instance.reboot")
    _enqueue("reboot_instance", instance)
    return instance


@transaction.atomic
def instance_terminate(*, actor: User, instance: Instance) -> Instance:
    """Any state but terminating/terminated → terminating; the job frees the process, the disk and the seed."""
    instance = _locked(instance)
    _transition(instance, actor=actor, to=S.TERMINATING, action="instance.terminate")
    _enqueue("terminate_instance", instance)
    return instance


@transaction.atomic
def instance_hold_set(*, instance: Instance, hold: str, reason: str = "", actor: User | None = None) -> Instance:
    """Isolate the instance (billing: term expired, arrears): it cannot be started until the hold is cleared.

    Stopping it is the caller's next step (instance_stop); a terminated instance needs no hold.
    """
    instance = _locked(instance)
    if instance.hold == hold or instance.state == S.TERMINATED:
        return instance
    previous, instance.hold = instance.hold, hold
    instance.save(update_fields=["hold", "updated_at"])
    audit_record(
        actor=actor,
        target=instance,
        action="instance.hold",
        organization=None,
        reason=reason,
        data={"hold": hold, "previous": previous},
    )
    return instance


@transaction.atomic
def instance_hold_clear(*, instance: Instance, hold: str, reason: str = "", actor: User | None = None) -> Instance:
    """Lift the hold `hold` (a renewal, a top-up); another kind of hold stays."""
    instance = _locked(instance)
    if instance.hold != hold:
        return instance
    instance.hold = Instance.Hold.NONE
    instance.save(update_fields=["hold", "updated_at"])
    audit_record(
        actor=actor, target=instance, action="instance.unhold", organization=None, reason=reason, data={"hold": hold}
    )
    return instance


# --- what the jobs report -----------------------------------------------------------------------------------------


@transaction.atomic
def instance_launch_begin(*, instance: Instance) -> Instance | None:
    """pending → launching, claimed by one job; None when another job or the buyer got there first."""
    instance = _locked(instance)
    if instance.state != S.PENDING:
        return None
    _transition(instance, actor=None, to=S.LAUNCHING, action="instance.launch")
    return instance


@transaction.atomic
def instance_launched(*, instance: Instance, ref: str, forwarded_ports: dict, ssh_host: str, console: dict) -> Instance:
    """The back end accepted the launch: record its handle and ports whatever the state (a terminate may race)."""
    instance = _locked(instance)
    instance.backend_ref = ref
    instance.forwarded_ports = forwarded_ports
    instance.ssh_host = ssh_host
    instance.console_info = console
    instance.launched_at = instance.launched_at or timezone.now()
    instance.save()
    audit_record(actor=None, target=instance, action="instance.launched", data={"ref": ref, "ports": forwarded_ports})
    return instance


@transaction.atomic
def instance_booted(*, instance: Instance, expected: str, data: dict | None = None) -> Instance | None:
    """launching/starting/rebooting → running once the guest printed on its console; None if the state moved on."""
    instance = _locked(instance)
    if instance.state != expected:
        return None
    _transition(instance, actor=None, to=S.RUNNING, action="instance.running", data=data)
    return instance


@transaction.atomic
def instance_stopped(
    *, instance: Instance, reason: str = "", data: dict | None = None, expected: tuple[str, ...] = ()
) -> Instance | None:
    """stopping (or a start/reboot that did not boot, or `expected`) → stopped; None if the state moved on."""
    instance = _locked(instance)
    if instance.state not in (expected or (S.STOPPING, S.STARTING, S.REBOOTING)):
        return None
    _transition(instance, actor=None, to=S.STOPPED, action="instance.stopped", reason=reason, data=data)
    return instance


@transaction.atomic
def instance_fail(
    *, instance: Instance, reason: str, data: dict | None = None, console_tail: str = ""
) -> Instance | None:
    """pending/launching → failed with the reason the buyer reads (orders refunds on instance_failed).

    `console_tail` is what the guest printed, kept on the row since the back end frees everything of a failed launch.
    """
    instance = _locked(instance)
    if not can_transition(instance, S.FAILED):
        return None
    if console_tail:
        instance.console_info = {**instance.console_info, "tail": console_tail}
    _transition(instance, actor=None, to=S.FAILED, action="instance.failed", reason=reason, data=data)
    return instance


@transaction.atomic
def instance_lose(*, instance: Instance, reason: str, expected: str | None = None) -> Instance | None:
    """A live instance whose process the back end no longer runs → lost (reconciliation)."""
    instance = _locked(instance)
    if (expected is not None and instance.state != expected) or not can_transition(instance, S.LOST):
        return None
    _transition(instance, actor=None, to=S.LOST, action="instance.lost", reason=reason)
    return instance


@transaction.atomic
def instance_terminated(*, instance: Instance) -> Instance | None:
    instance = _locked(instance)
    if instance.state != S.TERMINATING:
        return None
    instance.forwarded_ports = {}
    _transition(instance, actor=None, to=S.TERMINATED, action="instance.terminated")
    return instance


# --- boot checks -------------------------------------------------------------------------------------------------

B = BootCheck.Status


def boot_check_request(*, image: Image, scan=None) -> BootCheck:
    """The boot check of `image` for `scan` (created pending, its job enqueued on commit); the existing one if any."""
    import secrets

    with transaction.atomic():
        Image.objects.select_for_update().filter(pk=image.pk).first()
        check = BootCheck.objects.filter(image=image, scan=scan).first()
        if check is not None:
            return check
        check = BootCheck.objects.create(image=image, scan=scan, hostname=f"shelf-check-{secrets.token_hex(6)}")
        audit_record(
            actor=None,
            target=image,
            action="boot_check.request",
            to_status=B.PENDING,
            data={"boot_check": str(check.pk), "scan": str(scan.pk) if scan else ""},
        )
        transaction.on_commit(lambda: _enqueue_boot_check(check.pk))
    return check


def boot_check_rerun(*, actor, image: Image) -> BootCheck:
    """A new boot check of `image` after its latest one failed (the provider's or an operator's request); audited.

    Conflict while a check is pending or running, and when the latest one passed or there is none yet (the first
    check follows the scan). The new check vouches for the same scan, as attempt n + 1.
    """
    import secrets

    with transaction.atomic():
        Image.objects.select_for_update().filter(pk=image.pk).first()
        latest = BootCheck.objects.filter(image=image).order_by("-created_at").first()
        if latest is None:
            raise Conflict(_("The image has no boot check yet: it is booted once after its scan passes."), "boot_check")
        if latest.status in (B.PENDING, B.RUNNING):
            raise Conflict(_("A boot check of this image is already under way."), "boot_check")
        if latest.status == B.PASSED:
            raise Conflict(_("The image's boot check passed: there is nothing to run again."), "boot_check")
        check = BootCheck.objects.create(
            image=image,
            scan=latest.scan,
            attempt=latest.attempt + 1,
            hostname=f"shelf-check-{secrets.token_hex(6)}",
        )
        audit_record(
            actor=actor,
            target=image,
            action="boot_check.rerun",
            from_status=latest.status,
            to_status=B.PENDING,
            data={"boot_check": str(check.pk), "previous": str(latest.pk), "attempt": check.attempt},
        )
        transaction.on_commit(lambda: _enqueue_boot_check(check.pk))
    return check


def _enqueue_boot_check(check_id) -> None:
    from shelf.compute.tasks import boot_check_image

    boot_check_image.enqueue(str(check_id))


def boot_check_begin(*, check: BootCheck, backend: str) -> BootCheck | None:
    """pending → running; None if another job took it (or it is done)."""
    with transaction.atomic():
        check = BootCheck.objects.select_for_update().filter(pk=check.pk, status=B.PENDING).first()
        if check is None:
            return None
        check.status, check.backend, check.started_at = B.RUNNING, backend, timezone.now()
        check.save(update_fields=["status", "backend", "started_at"])
    return check


def boot_check_finish(
    *,
    check: BootCheck,
    passed: bool,
    reason: str = "",
    first_line_seconds: float | None = None,
    seed_seen_seconds: float | None = None,
    console: str = "",
) -> BootCheck | None:
    """running → passed or failed, with the times and the console's last EXCERPT_MAX bytes; audited."""
    with transaction.atomic():
        check = (
            BootCheck.objects.select_for_update().select_related("image").filter(pk=check.pk, status=B.RUNNING).first()
        )
        if check is None:
            return None
        excerpt = console.encode("utf-8", errors="replace")[-BootCheck.EXCERPT_MAX :].decode("utf-8", errors="ignore")
        check.status = B.PASSED if passed else B.FAILED
        check.reason, check.console_excerpt = reason, excerpt
        check.first_line_seconds, check.seed_seen_seconds = first_line_seconds, seed_seen_seconds
        check.finished_at = timezone.now()
        check.save()
        audit_record(
            actor=None,
            target=check.image,
            action="boot_check.finish",
            from_status=B.RUNNING,
            to_status=check.status,
            reason=reason,
            data={
                "boot_check": str(check.pk),
                "first_line_seconds": first_line_seconds,
                "seed_seen_seconds": seed_seen_seconds,
            },
        )
    return check


# --- build servers: a provider makes a custom image the seed's way (制作镜像) -------------------------------------

# A build server that is not yet terminated or failed counts against its organisation's cap.
BUILD_SERVER_DONE = (S.TERMINATED, S.FAILED)


def build_server_violations(*, vcpus: int, memory_mib: int, disk_gib: int, image: Image) -> list[Violation]:
    """The sizes a provider may give a build server: within SHELF_BUILD_SERVER_MAX_* (instance rules apply too)."""
    from django.conf import settings

    violations = []
    if vcpus > settings.SHELF_BUILD_SERVER_MAX_VCPUS:
        violations.append(
            Violation(
                "vcpus",
                "too_large",
                _("A build server has at most %(n)s vCPUs.") % {"n": settings.SHELF_BUILD_SERVER_MAX_VCPUS},
            )
        )
    if memory_mib > settings.SHELF_BUILD_SERVER_MAX_MEMORY_MIB:
        violations.append(
            Violation(
                "memory_mib",
                "too_large",
                _("A build server has at most %(n)s MiB of memory.")
                % {"n": settings.SHELF_BUILD_SERVER_MAX_MEMORY_MIB},
            )
        )
    if disk_gib > settings.SHELF_BUILD_SERVER_MAX_DISK_GIB:
        violations.append(
            Violation(
                "disk_gib",
                "too_large",
                _("A build server's system disk is at most %(n)s GiB.")
                % {"n": settings.SHELF_BUILD_SERVER_MAX_DISK_GIB},
            )
        )
    return violations


def image_disk_gib(image: Image) -> int:
    """The image's virtual size in whole GiB, rounded up: the smallest system disk that holds it."""
    return max(1, -(-int(image.virtual_size or 0) // 1024**3))


def build_server_launch(
    *,
    actor: User,
    organization,
    base_image: Image,
    name: str,
    ssh_public_key: str,
    hostname: str = "",
    vcpus: int = 1,
    memory_mib: int = 512,
    disk_gib: int | None = None,
    idempotency_key: str,
) -> Instance:
    """A provider's build server: a published base image booted in its region with his SSH key, no order and no
    charge. At most SHELF_BUILD_SERVERS_PER_ORGANIZATION live at once per organisation; the host's memory budget
    applies as to any instance (a launch that does not fit fails with the reason). The same idempotency key answers
    the build server created first."""
    from django.conf import settings

    from shelf.accounts.models import Organization

    disk_gib = image_disk_gib(base_image) if disk_gib is None else disk_gib
    hostname = (hostname or "").strip() or _hostname_from(name)
    with transaction.atomic():
        # The organisation's row lock: two launches at once cannot both take the last place under the cap.
        organization = Organization.objects.select_for_update().get(pk=organization.pk)
        existing = Instance.objects.filter(owner=actor, idempotency_key=(idempotency_key or "").strip()).first()
        if existing is not None:
            return existing
        base = Image.objects.select_for_update().select_related("region").get(pk=base_image.pk)
        if not base.is_base or base.status != Image.Status.AVAILABLE:
            raise Conflict(_("This image is no longer published as a base image."), code="not_base_image")
        # Every rule at once, the build server's caps and an instance's own.
        raise_if(
            build_server_violations(vcpus=vcpus, memory_mib=memory_mib, disk_gib=disk_gib, image=base)
            + create_violations(
                hostname=hostname,
                vcpus=vcpus,
                memory_mib=memory_mib,
                disk_gib=disk_gib,
                ssh_public_key=ssh_public_key,
                ports=(),
                name=name,
                image=base,
            )
        )
        limit = settings.SHELF_BUILD_SERVERS_PER_ORGANIZATION
        live = Instance.objects.filter(organization=organization).exclude(state__in=BUILD_SERVER_DONE).count()
        if live >= limit:
            raise Conflict(
                _(
                    "Your organisation has %(live)s build servers; at most %(limit)s may exist at once. "
                    "Terminate one you no longer need first."
                )
                % {"live": live, "limit": limit},
                code="build_server_limit",
            )
        return instance_create(
            owner=actor,
            organization=organization,
            image=base,
            region=base.region,
            name=name,
            hostname=hostname,
            vcpus=vcpus,
            memory_mib=memory_mib,
            disk_gib=disk_gib,
            ssh_public_key=ssh_public_key,
            idempotency_key=idempotency_key,
        )


def _hostname_from(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9-]+", "-", (name or "").lower()).strip("-")[:63].strip("-")
    return cleaned or "build-server"


def build_server_capture(*, actor: User, instance: Instance, name: str, description: str = "", os_hint: str = ""):
    """A stopped build server → capturing, and a new importing image of its organisation in its region that the
    capture job fills with a standalone copy of the server's disk (its own disk is only read), then validates and
    scans exactly like an upload. 409 unless it is a stopped build server."""
    from shelf.images.services import image_capture_start

    with transaction.atomic():
        instance = _locked(instance)
        if not instance.is_build_server:
            raise Conflict(
                _("Only a build server can be made into an image; a buyer's instance is its buyer's."),
                code="not_build_server",
            )
        if instance.state != S.STOPPED:
            raise Conflict(
                _("Stop the build server first: its disk is captured only while it is stopped (it is %(state)s).")
                % {"state": Instance.State(instance.state).label},
                code="not_stopped",
            )
        image = image_capture_start(
            actor=actor,
            organization=instance.organization,
            region=instance.region,
            name=name,
            captured_from=str(instance.pk),
            estimated_size=instance.image.stored_size,
            description=description,
            os_hint=os_hint or instance.image.os_hint,
            data={"base_image": str(instance.image_id)},
        )
        _transition(instance, actor=actor, to=S.CAPTURING, action="instance.capture", data={"image": str(image.pk)})
        _enqueue("capture_instance", instance)
    return image


@transaction.atomic
def build_server_captured(*, instance: Instance, image: Image | None, reason: str = "") -> Instance | None:
    """capturing → stopped once the capture job is done (with `reason` if it failed); None if it moved on."""
    instance = _locked(instance)
    if instance.state != S.CAPTURING:
        return None
    _transition(
        instance,
        actor=None,
        to=S.STOPPED,
        action="instance.captured",
        reason=reason,
        data={"image": str(image.pk) if image else "", "image_status": image.status if image else "gone"},
    )
    return instance
