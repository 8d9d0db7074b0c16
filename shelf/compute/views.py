"""Web pages for instances: "My instances" for buyers (operators see every instance and the acceleration)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shelf.accounts.access import operator_required, provider_required
from shelf.compute import services
from shelf.compute.backends import accel
from shelf.compute.console import console_read
from shelf.compute.models import Instance
from shelf.compute.selectors import instances_controlled_by, instances_for
from shelf.errors import Conflict, RuleViolations
from shelf.forms import message_error
from shelf.images.selectors import images_owned_by

ACTIONS = {
    "start": services.instance_start,
    "stop": services.instance_stop,
    "reboot": services.instance_reboot,
    "terminate": services.instance_terminate,
}
CONSOLE_TAIL = 64 * 1024


def _signed_in(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not (request.user.is_buyer or request.user.is_operator):
        raise Http404
    return None


def instance_list(request):
    if response := _signed_in(request):
        return response
    return render(request, "compute/instance_list.html", {"instances": instances_for(request.user)})


def instance_detail(request, instance_id):
    if response := _signed_in(request):
        return response
    instance = get_object_or_404(instances_for(request.user), pk=instance_id)
    text, next_offset, _start = console_read(instance, offset=0, limit=1 << 30)
    if len(text) > CONSOLE_TAIL:
        text = text[-CONSOLE_TAIL:]
    allowed = {name: services.can_transition(instance, to) for name, to in _TARGETS.items()}
    return render(
        request,
        "compute/instance_detail.html",
        {"instance": instance, "console": text, "console_next": next_offset, "allowed": allowed},
    )


_TARGETS = {
    "start": Instance.State.STARTING,
    "stop": Instance.State.STOPPING,
    "reboot": Instance.State.REBOOTING,
    "terminate": Instance.State.TERMINATING,
}


@require_POST
def instance_action(request, instance_id, action):
    if response := _signed_in(request):
        return response
    if action not in ACTIONS:
        raise Http404
    instance = get_object_or_404(instances_controlled_by(request.user), pk=instance_id)
    try:
        ACTIONS[action](actor=request.user, instance=instance)
    except (Conflict, RuleViolations) as exc:
        message_error(request, exc)
    return redirect("compute:detail", instance_id=instance.pk)


@operator_required
def operator_instances(request):
    decision = accel.cached(settings.DATA_DIR)
    return render(
        request,
        "compute/operator_instances.html",
        {
            "instances": instances_for(request.user),
            "accel": decision,
            "backend": settings.SHELF_COMPUTE_BACKEND,
            "memory_mib": settings.SHELF_COMPUTE_MEMORY_MIB,
        },
    )


@provider_required
@require_POST
def boot_check_rerun(request, image_id):
    """The provider asks for a new boot check from his image page (operators do it from the review page)."""
    image = get_object_or_404(images_owned_by(request.user), pk=image_id)
    try:
        services.boot_check_rerun(actor=request.user, image=image)
    except Conflict as exc:
        message_error(request, exc)
    else:
        messages.success(request, _("Boot check queued."))
    return redirect("images:detail", image_id=image.pk)
