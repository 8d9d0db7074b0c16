"""Web pages for instances: "My instances" for buyers (operators see every instance and the acceleration), and
providers' build servers with the base images to launch them from and the capture of a stopped one."""

import uuid

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from shelf.accounts.access import operator_required, provider_required
from shelf.accounts.selectors import organization_for_write
from shelf.compute import services
from shelf.compute.backends import accel
from shelf.compute.console import console_read
from shelf.compute.models import Instance
from shelf.compute.selectors import build_servers_for, build_servers_owned_by, instances_controlled_by, instances_for
from shelf.errors import Conflict, RuleViolations
from shelf.forms import ServiceError, add_error, message_error
from shelf.images.selectors import base_images_for, images_for, images_owned_by

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


# --- build servers (providers) -------------------------------------------------------------------------------------


class BuildServerForm(forms.Form):
    base_image = forms.ChoiceField(label=_("Base image"))
    name = forms.CharField(label=_("Name"), max_length=100)
    ssh_public_key = forms.CharField(
        label=_("SSH public key"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One OpenSSH public key line; you log in with it to set the server up."),
    )
    vcpus = forms.IntegerField(label=_("vCPUs"), initial=1, min_value=1)
    memory_mib = forms.IntegerField(label=_("Memory (MiB)"), initial=512, min_value=64)
    disk_gib = forms.IntegerField(
        label=_("System disk (GiB)"), required=False, min_value=1, help_text=_("Default: the base image's size.")
    )

    def __init__(self, *args, base_images, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["base_image"].choices = [
            (str(image.pk), f"{image.name} ({image.region.code})") for image in base_images
        ]


class CaptureForm(forms.Form):
    name = forms.CharField(label=_("Image name"), max_length=100)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


@provider_required
def build_servers(request):
    """The provider's build servers and the base images to launch one from."""
    return render(
        request,
        "compute/build_servers.html",
        {
            "servers": build_servers_for(request.user).exclude(state=Instance.State.TERMINATED),
            "base_images": base_images_for(request.user).order_by("region__code", "name"),
            "limit": settings.SHELF_BUILD_SERVERS_PER_ORGANIZATION,
        },
    )


@provider_required
def build_server_new(request):
    base_images = base_images_for(request.user).order_by("region__code", "name")
    form = BuildServerForm(request.POST or None, base_images=base_images, initial=request.GET.dict())
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            server = services.build_server_launch(
                actor=request.user,
                organization=organization_for_write(request.user, request.POST.get("organization")),
                base_image=get_object_or_404(base_images, pk=data["base_image"]),
                name=data["name"],
                ssh_public_key=data["ssh_public_key"],
                vcpus=data["vcpus"],
                memory_mib=data["memory_mib"],
                disk_gib=data["disk_gib"],
                idempotency_key=request.POST.get("idempotency_key") or str(uuid.uuid4()),
            )
        except ServiceError as exc:
            add_error(form, exc)
        else:
            messages.success(request, _("Build server “%(name)s” is launching.") % {"name": server.name})
            return redirect("compute:build_server", instance_id=server.pk)
    return render(
        request,
        "compute/build_server_new.html",
        {"form": form, "idempotency_key": request.POST.get("idempotency_key") or str(uuid.uuid4())},
    )


@provider_required
def build_server_detail(request, instance_id):
    server = get_object_or_404(build_servers_for(request.user), pk=instance_id)
    text, next_offset, _start = console_read(server, offset=0, limit=1 << 30)
    allowed = {name: services.can_transition(server, to) for name, to in _TARGETS.items() if name != "reboot"}
    allowed["capture"] = server.state == Instance.State.STOPPED
    return render(
        request,
        "compute/instance_detail.html",
        {
            "instance": server,
            "console": text[-CONSOLE_TAIL:],
            "console_next": next_offset,
            "allowed": allowed,
            "captures": images_for(request.user).filter(captured_from=str(server.pk)),
            "capture_form": CaptureForm(initial={"name": f"{server.name} image"}),
            "build_server_page": True,
        },
    )


@provider_required
@require_POST
def build_server_action(request, instance_id, action):
    if action not in ACTIONS or action == "reboot":
        raise Http404
    server = get_object_or_404(build_servers_for(request.user), pk=instance_id)
    try:
        ACTIONS[action](actor=request.user, instance=server)
    except ServiceError as exc:
        message_error(request, exc)
    return redirect("compute:build_server", instance_id=server.pk)


@provider_required
@require_POST
def build_server_capture(request, instance_id):
    server = get_object_or_404(build_servers_owned_by(request.user), pk=instance_id)
    form = CaptureForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect("compute:build_server", instance_id=server.pk)
    try:
        image = services.build_server_capture(
            actor=request.user,
            instance=server,
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
        )
    except ServiceError as exc:
        message_error(request, exc)
        return redirect("compute:build_server", instance_id=server.pk)
    messages.success(
        request, _("Capturing “%(name)s”: it is validated and scanned like an upload.") % {"name": image.name}
    )
    return redirect("images:detail", image_id=image.pk)
