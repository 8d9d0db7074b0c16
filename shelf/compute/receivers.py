"""What compute does when a lower app announces something."""

from django.conf import settings
from django.dispatch import receiver
from django.template.loader import render_to_string

from shelf.compute.selectors import latest_boot_check
from shelf.compute.services import boot_check_request
from shelf.scanning.models import Scan
from shelf.scanning.signals import image_page_panels, scan_finished


@receiver(scan_finished)
def boot_check_after_scan(sender, scan: Scan, image, **kwargs) -> None:
    """A scan that passed asks for the image's boot check (its job runs on commit); off with SHELF_BOOT_CHECK."""
    if settings.SHELF_BOOT_CHECK and scan.verdict == Scan.Verdict.PASSED:
        boot_check_request(image=image, scan=scan)


@receiver(image_page_panels)
def boot_check_panel(sender, image, request, **kwargs) -> str | None:
    """The provider's image page shows the image's latest boot check (the page checked he may see the image)."""
    if image.status != image.Status.AVAILABLE:
        return None
    return render_to_string(
        "compute/_boot_check_panel.html",
        {"check": latest_boot_check(image), "image": image},
        request=request,
    )
