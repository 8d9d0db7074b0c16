"""Instances over HTTP: the buyer's own (operators see all); another buyer's instance is a 404."""

from django.http import Http404
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema, Status
from pydantic import Field

from shelf.compute import services
from shelf.compute.console import console_read
from shelf.compute.schemas import BootCheckOut, ConsoleOut, InstanceOut
from shelf.compute.selectors import instances_controlled_by, instances_for, latest_boot_check
from shelf.images.selectors import images_for

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
