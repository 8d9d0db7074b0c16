"""Reads of scans. The gate of the product wizard asks `latest_scan` for each delivered image."""

from django.db.models import QuerySet

from shelf.scanning.models import Scan


def latest_scan(image) -> Scan | None:
    """The most recent scan of the image, finished or not."""
    return Scan.objects.filter(image=image).order_by("-created_at").first()


def scans_of(image) -> QuerySet[Scan]:
    return Scan.objects.filter(image=image).order_by("-created_at")
