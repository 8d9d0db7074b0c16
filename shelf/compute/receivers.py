"""What compute does when a lower app announces something."""

from django.conf import settings
from django.dispatch import receiver

from shelf.compute.services import boot_check_request
from shelf.scanning.models import Scan
from shelf.scanning.signals import scan_finished


@receiver(scan_finished)
def boot_check_after_scan(sender, scan: Scan, image, **kwargs) -> None:
    """A scan that passed asks for the image's boot check (its job runs on commit); off with SHELF_BOOT_CHECK."""
    if settings.SHELF_BOOT_CHECK and scan.verdict == Scan.Verdict.PASSED:
        boot_check_request(image=image, scan=scan)
