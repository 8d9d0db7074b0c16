from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shelf.accounts.access import provider_required
from shelf.forms import ServiceError, message_error
from shelf.images.selectors import images_owned_by
from shelf.images.services import image_copy_start, image_delete


@provider_required
@require_POST
def image_copy(request, image_id):
    image = get_object_or_404(images_owned_by(request.user), pk=image_id)
    try:
        copy = image_copy_start(actor=request.user, image=image, region_code=request.POST.get("region", ""))
    except ServiceError as exc:
        message_error(request, exc)
        return redirect("images:detail", image_id=image.pk)
    messages.success(request, _("Copying to %(region)s.") % {"region": copy.region.code})
    return redirect("images:detail", image_id=copy.pk)


@provider_required
@require_POST
def image_remove(request, image_id):
    image = get_object_or_404(images_owned_by(request.user), pk=image_id)
    try:
        image_delete(actor=request.user, image=image)
    except ServiceError as exc:
        message_error(request, exc)
        return redirect("images:detail", image_id=image.pk)
    messages.success(request, _("Image “%(name)s” deleted.") % {"name": image.name})
    return redirect("images:list")
