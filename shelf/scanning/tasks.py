"""Scan jobs. They run on the `scans` queue so scan workers can be scaled apart from the rest."""

from django.dispatch import receiver
from django_tasks import task

from shelf.images.models import Image
from shelf.images.signals import image_available
from shelf.scanning.models import Scan


@task(queue_name="scans")
def run_scan(scan_id: str) -> str:
    from shelf.scanning.services import scan_run
    from shelf.workers import resumed_after_a_dead_worker

    scan = Scan.objects.filter(pk=scan_id).first()
    if scan is None:
        return "gone"
    scan = scan_run(scan=scan, resume=resumed_after_a_dead_worker())
    return scan.verdict or scan.status


@task(queue_name="default")
def import_vulndb(source: str) -> dict:
    """Import OSV data (scheduled in production) and rescan what listed products sell."""
    from shelf.scanning.services import vulndb_rescan
    from shelf.scanning.vulndb import vulndb_import

    run = vulndb_import(source)
    return {
        "added": run.added,
        "updated": run.updated,
        "rescans": vulndb_rescan() if run.added or run.updated else 0,
    }


@receiver(image_available)
def scan_new_image(sender, image_id, **kwargs):
    """Every image is scanned automatically when it becomes available."""
    from shelf.scanning.services import scan_request

    image = Image.objects.filter(pk=image_id).first()
    if image is not None:
        scan_request(image=image, trigger=Scan.Trigger.IMPORT)
