from collections import defaultdict

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shelf.accounts.access import provider_required
from shelf.audit.models import AuditEvent
from shelf.catalog.selectors import regions_active
from shelf.errors import Conflict, RuleViolations, TooLarge
from shelf.images.selectors import images_owned_by
from shelf.images.services import image_copy_start, image_delete
from shelf.scanning.models import Scan
from shelf.scanning.selectors import latest_scan


@provider_required
def image_list(request):
    """The provider's images grouped by region, every active region shown so empty ones invite an import."""
    by_region = defaultdict(list)
    images = list(images_owned_by(request.user).select_related("upload"))
    latest = {}
    for scan in Scan.objects.filter(image__in=images).order_by("image_id", "-created_at"):
        latest.setdefault(scan.image_id, scan)
    for image in images:
        image.latest_scan = latest.get(image.pk)
        by_region[image.region_id].append(image)
    regions = [(region, by_region.get(region.pk, [])) for region in regions_active()]
    return render(request, "images/list.html", {"regions": regions})


@provider_required
def image_detail(request, image_id):
    image = get_object_or_404(images_owned_by(request.user), pk=image_id)
    return render(
        request,
        "images/detail.html",
        {
            "image": image,
            "copy_regions": regions_active().exclude(pk=image.region_id),
            "copies": images_owned_by(request.user).filter(source_image=image),
            "audit_events": AuditEvent.objects.for_object(image),
            "latest_scan": latest_scan(image),
        },
    )


@provider_required
@require_POST
def image_copy(request, image_id):
    image = get_object_or_404(images_owned_by(request.user), pk=image_id)
    try:
        copy = image_copy_start(actor=request.user, image=image, region_code=request.POST.get("region", ""))
    except (RuleViolations, Conflict, TooLarge) as exc:
        messages.error(request, str(exc) if isinstance(exc, RuleViolations) else exc.message)
        return redirect("images:detail", image_id=image.pk)
    messages.success(request, _("Copying to %(region)s.") % {"region": copy.region.code})
    return redirect("images:detail", image_id=copy.pk)


@provider_required
@require_POST
def image_remove(request, image_id):
    image = get_object_or_404(images_owned_by(request.user), pk=image_id)
    try:
        image_delete(actor=request.user, image=image)
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("images:detail", image_id=image.pk)
    messages.success(request, _("Image “%(name)s” deleted.") % {"name": image.name})
    return redirect("images:list")
