"""alice's listed demo product, made the way a real one is: a real disk image imported through the image services,
validated and scanned by the real scanner, a product filled in, submitted by alice and approved by olivia.

Idempotent: a listed demo product is left alone; an interrupted run continues from where it stopped.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from pathlib import Path

from django.db import transaction

from shelf.accounts.models import User
from shelf.catalog.models import Agreement, Category
from shelf.images.builders import DPKG_STATUS, convert, debian12_tree, ext4_from_tree, partitioned, write
from shelf.images.models import Image
from shelf.products.models import Revision

DEMO_IMAGE = "Debian 12 LNMP (demo)"
DEMO_REGION = "ap-guangzhou"
DEMO_NAME = "LNMP Web Stack 建站镜像（Debian 12）"
DEMO_SUMMARY = "一键建站的 LNMP 镜像：Debian 12 预装 Nginx、MariaDB 与 PHP 8.2，开箱即用。A ready LNMP web stack."
DEMO_DETAILS = """\
## 功能 Features

Nginx 1.22、MariaDB 10.11 与 PHP 8.2（FPM）已安装并配置好，开机即可部署网站。
Nginx, MariaDB and PHP-FPM are installed and wired together; upload your site and go.

## 适用场景 Use cases

企业官网、博客、WordPress 等 PHP 建站。Company sites, blogs and other PHP applications.

## 使用指南 Usage guide

1. 启动服务器后用 SSH 密钥登录（用户 `debian`）。Log in with your SSH key as `debian`.
2. 运行 `sudo mysql_secure_installation` 设置数据库密码。Set the database password.
3. 把网站文件放到 `/var/www/html`。Put your site in `/var/www/html`.

## 服务流程 Service process

购买后自动交付；遇到问题提交工单，我们在 1 个工作日内答复。Delivered on purchase; tickets answered within one business day.

## 售后支持 After-sales support

7×8 小时技术支持（工作日 9:00–17:00）。Support 7x8 hours on business days.

## 联系方式 Contact

support@alice-images.example.com
"""
DEMO_PACKAGES = """
Package: nginx
Status: install ok installed
Architecture: amd64
Version: 1.22.1-9+deb12u1
Description: small, powerful, scalable web/proxy server

Package: mariadb-server
Status: install ok installed
Architecture: amd64
Source: mariadb
Version: 1:10.11.6-0+deb12u1
Description: MariaDB database server (metapackage depending on the latest version)

Package: php8.2-fpm
Status: install ok installed
Architecture: amd64
Source: php8.2
Version: 8.2.26-1~deb12u1
Description: server-side, HTML-embedded scripting language (FPM-CGI binary)
"""


def ensure_demo_product(*, alice: User, olivia: User) -> tuple[Revision, bool]:
    """alice's listed demo product; True when this call listed it."""
    return ensure_listed(
        alice=alice,
        olivia=olivia,
        name=DEMO_NAME,
        image=lambda organization: scanned_image(
            alice,
            organization,
            name=DEMO_IMAGE,
            build=disk_image,
            description="Debian 12 with Nginx, MariaDB and PHP-FPM",
            os_hint="Debian 12",
        ),
        draft=_demo_draft,
    )


def ensure_listed(*, alice: User, olivia: User, name: str, image, draft) -> tuple[Revision, bool]:
    """alice's listed product `name`: `image(organization)` gives its scanned image, `draft(alice, organization,
    image)` fills in a new draft; submitted by alice and approved by olivia. True when this call listed it."""
    organization = alice.organizations.get()
    listed = Revision.objects.filter(product__organization=organization, name=name, status=Revision.Status.LISTED)
    if listed.exists():
        return listed.get(), False
    scanned = image(organization)
    revision = Revision.objects.filter(product__organization=organization, name=name).order_by("-created_at").first()
    if revision is None or revision.status not in (Revision.Status.DRAFT, Revision.Status.IN_REVIEW):
        revision = draft(alice, organization, scanned)
    if revision.status == Revision.Status.DRAFT:
        from shelf.products.services import product_submit

        revision = product_submit(actor=alice, revision=revision)
    from shelf.reviews.services import CHECKLIST, review_approve, review_claim

    review_claim(operator=olivia, revision=revision)
    checklist = {key: True for key, _label in CHECKLIST}
    # The demo disk is a scanned file tree without a kernel: its boot check cannot pass (the audit row says why).
    exception = "Demo data: the demo disk has no kernel, it is scanned but never booted."
    return review_approve(operator=olivia, revision=revision, checklist=checklist, boot_check_exception=exception), True


def demo_tree(tree: Path) -> Path:
    """The demo image's root: the benign Debian 12 tree with nginx, MariaDB and PHP-FPM in its package database."""
    debian12_tree(tree)
    write(tree, "var/lib/dpkg/status", DPKG_STATUS + DEMO_PACKAGES)
    write(tree, "etc/nginx/nginx.conf", "user www-data;\nevents {}\nhttp { include /etc/nginx/sites-enabled/*; }\n")
    write(tree, "var/www/html/index.html", "<h1>It works</h1>\n")
    return tree


def disk_image(directory: Path, tree: Path | None = None) -> Path:
    """A small disk (GPT, one ext4 partition) of `tree` (the demo tree by default), as qcow2 (about a megabyte)."""
    tree = tree or demo_tree(directory / "tree")
    disk = partitioned(ext4_from_tree(tree, directory / "root.ext4"), directory / "disk.raw", "gpt")
    return convert(disk, directory / "disk.qcow2", "qcow2")


def scanned_image(
    alice: User, organization, *, name: str, build, description: str, os_hint: str, region: str = DEMO_REGION
) -> Image:
    """alice's image `name`, available and scanned: `build(directory)` writes its qcow2 disk, which is imported,
    validated and scanned synchronously if not yet."""
    from shelf.images.services import image_import_complete, image_import_start, image_upload_chunk
    from shelf.images.tasks import run_validation
    from shelf.scanning.models import Scan
    from shelf.scanning.selectors import latest_scan
    from shelf.scanning.services import scan_request, scan_run

    image = (
        Image.objects.filter(organization=organization, name=name, status=Image.Status.AVAILABLE)
        .order_by("-created_at")
        .first()
    )
    if image is None:
        with tempfile.TemporaryDirectory(prefix="shelf-demo-") as tmp:
            disk = build(Path(tmp))
            size = disk.stat().st_size
            image = image_import_start(
                actor=alice,
                organization=organization,
                name=name,
                region_code=region,
                disk_format="qcow2",
                size=size,
                description=description,
                os_hint=os_hint,
            )
            with disk.open("rb") as body:
                image_upload_chunk(actor=alice, image=image, start=0, length=size, total=size, body=body)
            with disk.open("rb") as body:
                sha256 = hashlib.file_digest(body, "sha256").hexdigest()
        image = image_import_complete(actor=alice, image=image, sha256=sha256)
        image.refresh_from_db()
        if image.status == Image.Status.VALIDATING:  # a queued job (the database task backend): validate now
            image = run_validation(image)
        if image.status != Image.Status.AVAILABLE:
            raise RuntimeError(f"the image {name!r} was refused: {image.failure_reason}")
    scan = latest_scan(image)
    if scan is None:
        scan = scan_request(image=image, trigger=Scan.Trigger.IMPORT)
    if scan.status == Scan.Status.QUEUED:  # the worker would run it later; the demo wants the result now
        scan = scan_run(scan=scan)
    if scan.verdict != Scan.Verdict.PASSED:
        raise RuntimeError(f"the scan of {name!r} did not pass: {scan.verdict or scan.status} {scan.error}")
    return image


def draft(alice: User, organization, *, changes: dict, picture: bytes, guide: bytes, filename: str) -> Revision:
    """A complete draft of alice's: the wizard's fields on the operators' agreement template, a picture, a guide."""
    from shelf.products.services import document_set, picture_add, product_create

    template = Agreement.objects.filter(organization__isnull=True, is_active=True).first()
    with transaction.atomic():
        revision = product_create(
            actor=alice, organization=organization, changes={"agreement": template.pk, "version": "v1.0", **changes}
        )
    picture_add(actor=alice, revision=revision, fileobj=io.BytesIO(picture))
    document_set(actor=alice, revision=revision, fileobj=io.BytesIO(guide), filename=filename)
    return Revision.objects.get(pk=revision.pk)


def _demo_draft(alice: User, organization, image: Image) -> Revision:
    assert Category.objects.filter(slug="website-cms").exists()
    return draft(
        alice,
        organization,
        changes={
            "category": "website-cms",
            "name": DEMO_NAME,
            "tags": ["LNMP", "建站", "Nginx", "PHP"],
            "software": ["Nginx 1.22", "MariaDB 10.11", "PHP 8.2"],
            "deliveries": {DEMO_REGION: str(image.pk)},
            "billing_mode": "prepaid",
            "price_monthly": "59.00",
            "price_yearly": "599.00",
            "summary": DEMO_SUMMARY,
            "details": DEMO_DETAILS,
        },
        picture=picture_png(),
        guide=guide_pdf(),
        filename="lnmp-quick-start.pdf",
    )


LNMP_BADGES = (("Nginx", (0, 150, 57)), ("MariaDB", (192, 118, 90)), ("PHP", (119, 123, 180)))


def picture_png(title: str = "LNMP Web Stack", subtitle: str = "Debian 12", badges=LNMP_BADGES) -> bytes:
    """A product picture: 390 x 260 px, 72 dpi, naming the product and the company (the review checklist)."""
    from PIL import Image as PILImage
    from PIL import ImageDraw

    picture = PILImage.new("RGB", (390, 260), (16, 78, 160))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, 196, 390, 260), fill=(10, 52, 110))
    for i, (label, color) in enumerate(badges):
        draw.rounded_rectangle((24 + i * 118, 110, 130 + i * 118, 160), radius=8, fill=color)
        draw.text((36 + i * 118, 128), label, fill=(255, 255, 255), font_size=18)
    draw.text((24, 30), title, fill=(255, 255, 255), font_size=34)
    draw.text((24, 74), subtitle, fill=(200, 220, 255), font_size=20)
    draw.text((24, 214), "Alice Images Ltd.", fill=(255, 255, 255), font_size=20)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", dpi=(72, 72))
    return buffer.getvalue()


LNMP_GUIDE = (
    "LNMP Web Stack (Debian 12) - quick start",
    "1. Log in with your SSH key as the user debian.",
    "2. Run: sudo mysql_secure_installation",
    "3. Put your site in /var/www/html; Nginx serves it with PHP-FPM.",
    "Support: support@alice-images.example.com (7x8 hours, business days)",
)


def guide_pdf(lines=LNMP_GUIDE) -> bytes:
    """A one-page PDF quick-start guide with real text (written by hand: no PDF writer with text is bundled)."""
    text = "BT /F1 12 Tf 56 760 Td 16 TL " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text.encode()),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()
