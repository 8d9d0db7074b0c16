import io

import pytest
from PIL import Image as PILImage

from shelf.catalog.models import Agreement, Category, Region
from shelf.compute.models import BootCheck
from shelf.images.models import Image
from shelf.scanning.models import Scan


def png_bytes(size=(390, 260), dpi=(72, 72), color=(30, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", size, color).save(buffer, "PNG", dpi=dpi)
    return buffer.getvalue()


def pdf_bytes(size: int | None = None) -> bytes:
    """A real one-page PDF (written by pypdf, so a PDF parser opens it), padded to exactly `size` bytes if given."""
    from pypdf import PdfWriter

    def write(padding: int) -> bytes:
        writer = PdfWriter()
        writer.add_blank_page(612, 792)
        if padding:
            writer.add_metadata({"/Padding": "x" * padding})
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    data, padding = write(0), 1
    while size is not None and len(data) != size:  # offsets in the xref table grow with the padding: converge
        padding += size - len(write(padding))
        data = write(padding)
    return data


PDF_BYTES = pdf_bytes()


def make_image(
    organization,
    region_code="ap-guangzhou",
    *,
    status="available",
    scan_verdict="passed",
    name="Debian 12 LAMP",
    boot_check="passed",
):
    """An image row as the import pipeline leaves it, with a finished scan of the given verdict (or none) and, after
    a passing scan, a boot check of the given status (or none)."""
    image = Image.objects.create(
        organization=organization,
        region=Region.objects.get(code=region_code),
        name=name,
        disk_format="qcow2",
        status=status,
        virtual_size=10 * 1024**3,
        stored_size=1024**3,
        sha256="a" * 64,
    )
    if scan_verdict:
        scan = Scan.objects.create(image=image, status="done", verdict=scan_verdict)
        if scan_verdict == "passed" and boot_check:
            # What the boot check after a passing scan leaves (tests do not boot these placeholder disks).
            BootCheck.objects.create(image=image, scan=scan, status=boot_check, hostname="shelf-check-fixture")
    return image


def complete_fields(image) -> dict:
    """Every field of a product that may be submitted, for the API."""
    return {
        "category": Category.objects.filter(parent__isnull=False).first().slug,
        "name": "LAMP 环境（Debian 12）",
        "tags": ["web", "lamp"],
        "software": ["Apache 2.4", "MySQL 8.0", "PHP 8.2"],
        "version": "v1.0",
        "agreement": Agreement.objects.filter(organization__isnull=True).first().pk,
        "deliveries": {image.region.code: str(image.pk)},
        "billing_mode": "prepaid",
        "price_monthly": "99.00",
        "price_yearly": "999.00",
        "summary": "A ready LAMP stack.",
        "details": "## Features\n\nApache, MySQL and PHP, ready to use.\n\n## Support\n\n7x8, support@example.com",
    }


@pytest.fixture
def alice_org(alice):
    return alice.organizations.get()


@pytest.fixture
def alice_image(alice_org):
    return make_image(alice_org)
