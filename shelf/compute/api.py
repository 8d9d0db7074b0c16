"""Instances over HTTP: the buyer's own, a provider's build servers (operators see all); anyone else's is a 404."""

import uuid

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Header, Query, Router, Schema, Status
from pydantic import Field

from shelf.accounts.selectors import organization_for_write
from shelf.compute import services
from shelf.compute.console import console_read
from shelf.compute.schemas import BootCheckOut, BuildServerIn, BuildServerOut, CaptureIn, ConsoleOut, InstanceOut
from shelf.compute.selectors import (
    build_servers_for,
    build_servers_owned_by,
    instances_controlled_by,
    instances_for,
    latest_boot_check,
)
from shelf.errors import RuleViolations, Violation
from shelf.images.schemas import ImageOut
from shelf.images.selectors import base_images_for, images_for

router = Router(tags=["instances"])


class ConsoleQuery(Schema):
    offset: int = Field(0, ge=0, le=2**62)
    limit: int = Field(65536, ge=1, le=1024 * 1024)


@router.get("/instances", response=list[InstanceOut])
def instance_list(request, state: str | None = None):
    instances = instances_for(request.user)
    if state:
        instances = instances.filter(state=state)
    return instances


@router.get("/instances/{uuid:instance_id}", response=InstanceOut, url_name="instance_detail")
def instance_detail(request, instance_id):
    return get_object_or_404(instances_for(request.user), pk=instance_id)


def _act(request, instance_id, service):
    instance = get_object_or_404(instances_controlled_by(request.user), pk=instance_id)
    return Status(202, service(actor=request.user, instance=instance))


@router.post("/instances/{uuid:instance_id}/start", response={202: InstanceOut})
def instance_start(request, instance_id):
    """Boot a stopped (or lost) instance again on its kept disk."""
    return _act(request, instance_id, services.instance_start)


@router.post("/instances/{uuid:instance_id}/stop", response={202: InstanceOut})
def instance_stop(request, instance_id):
    """Power the guest off: ACPI first, a hard stop after the timeout."""
    return _act(request, instance_id, services.instance_stop)


@router.post("/instances/{uuid:instance_id}/reboot", response={202: InstanceOut})
def instance_reboot(request, instance_id):
    return _act(request, instance_id, services.instance_reboot)


@router.post("/instances/{uuid:instance_id}/terminate", response={202: InstanceOut})
def instance_terminate(request, instance_id):
    """Release the instance: its process, disk and seed are deleted."""
    return _act(request, instance_id, services.instance_terminate)


@router.get("/instances/{uuid:instance_id}/console", response=ConsoleOut, url_name="instance_console")
def instance_console(request, instance_id, query: Query[ConsoleQuery]):
    instance = get_object_or_404(instances_for(request.user), pk=instance_id)
    data, next_offset, start = console_read(instance, offset=query.offset, limit=query.limit)
    return {"offset": start, "next_offset": next_offset, "text": data, "state": instance.state}


@router.get("/images/{uuid:image_id}/boot-check", response=BootCheckOut, tags=["images"])
def image_boot_check(request, image_id):
    """The image's latest boot check (booted once after its scan passed). 404 if the image is not yours or was
    never checked."""
    check = latest_boot_check(get_object_or_404(images_for(request.user), pk=image_id))
    if check is None:
        raise Http404
    return check


@router.post("/images/{uuid:image_id}/boot-check/rerun", response={202: BootCheckOut}, tags=["images"])
def image_boot_check_rerun(request, image_id):
    """Boot the image again after its latest boot check failed: the image's provider or an operator. 409 while a
    check is pending or running, or when the latest one passed; audited."""
    image = get_object_or_404(images_for(request.user), pk=image_id)  # his organisation's images; operators all
    return Status(202, services.boot_check_rerun(actor=request.user, image=image))


@router.get("/build-servers", response=list[BuildServerOut], tags=["build servers"])
def build_server_list(request, state: str | None = None):
    """Your organisations' build servers (operators: all). Start, stop, terminate and the console are the
    /instances/{id}/… endpoints."""
    servers = build_servers_for(request.user)
    if state:
        servers = servers.filter(state=state)
    return servers


@router.get("/build-servers/{uuid:instance_id}", response=BuildServerOut, tags=["build servers"])
def build_server_detail(request, instance_id):
    return get_object_or_404(build_servers_for(request.user), pk=instance_id)


@router.post("/build-servers", response={202: BuildServerOut}, tags=["build servers"])
def build_server_new(
    request,
    payload: BuildServerIn,
    idempotency_key: str | None = Header(
        None, alias="Idempotency-Key", description="Retrying with the same key answers the build server made first."
    ),
):
    """Launch a build server from a base image (no order, no charge), within your organisation's cap."""
    organization = organization_for_write(request.user, payload.organization)  # 404 unless a provider
    base = base_images_for(request.user).filter(pk=payload.base_image).first() if payload.base_image else None
    if base is None:
        raise RuleViolations(
            [
                Violation(
                    "base_image",
                    "unknown" if payload.base_image else "required",
                    _("Choose a published base image (GET /base-images)."),
                )
            ]
        )
    server = services.build_server_launch(
        actor=request.user,
        organization=organization,
        base_image=base,
        name=payload.name or "",
        ssh_public_key=payload.ssh_public_key or "",
        hostname=payload.hostname or "",
        vcpus=payload.vcpus,
        memory_mib=payload.memory_mib,
        disk_gib=payload.disk_gib,
        idempotency_key=idempotency_key or str(uuid.uuid4()),
    )
    return Status(202, server)


@router.post("/build-servers/{uuid:instance_id}/capture", response={202: ImageOut}, tags=["build servers"])
def build_server_capture(request, instance_id, payload: CaptureIn):
    """Make a custom image of a stopped build server: a standalone copy of its disk, validated and scanned like an
    upload (poll GET /images/{id}). 409 unless it is stopped; another organisation's server is a 404."""
    server = get_object_or_404(build_servers_owned_by(request.user), pk=instance_id)
    image = services.build_server_capture(
        actor=request.user,
        instance=server,
        name=payload.name or "",
        description=payload.description or "",
        os_hint=payload.os_hint or "",
    )
    return Status(202, image)
