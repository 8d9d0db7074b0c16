"""`make run`'s demo data: alice's products (the LNMP stack and the boot test server, see tests/orders/test_demo_boot.py)
are listed on real images the real scanner passed, and a second run adds nothing."""

import re

import pytest
from django.core.management import call_command
from django.test import Client

from shelf.console.demo.boot import BOOT_NAME
from shelf.console.demo.product import DEMO_IMAGE, DEMO_NAME
from shelf.images.builders import tools_missing
from shelf.images.models import Image
from shelf.products.models import Product, Revision
from shelf.scanning.models import Scan
from shelf.storefront.models import CatalogEntry

pytestmark = pytest.mark.skipif(bool(tools_missing()), reason="image tools missing (make system-deps installs them)")


def counts() -> dict:
    return {model.__name__: model.objects.count() for model in (Image, Scan, Product, Revision, CatalogEntry)}


def test_demo_data_lists_alices_products_on_scanned_images_once(db):
    call_command("demo_data", verbosity=0)
    first = counts()
    call_command("demo_data", verbosity=0)
    # Images and scans: alice's two and the marketplace team's base image (tests/images/test_base_demo.py).
    assert counts() == first == {"Image": 3, "Scan": 3, "Product": 2, "Revision": 2, "CatalogEntry": 2}
    assert set(Revision.objects.filter(status="listed").values_list("name", flat=True)) == {DEMO_NAME, BOOT_NAME}

    revision = Revision.objects.get(name=DEMO_NAME)
    assert revision.status == "listed"
    assert revision.product.organization.memberships.filter(user__username="alice").exists()
    scan = Scan.objects.get(image__name=DEMO_IMAGE)
    assert scan.status == "done" and scan.verdict == "passed"
    assert scan.os["pretty_name"] == "Debian GNU/Linux 12 (bookworm)"
    assert {"nginx", "mariadb-server", "php8.2-fpm"} <= {p["name"] for p in scan.packages}

    # What a visitor of `make run` finds: by a two-character Chinese word, an English word, the category.
    client = Client()
    for query in ({"q": "建站"}, {"q": "stack"}, {"category": "website"}):
        html = client.get("/products/", query).content.decode()
        assert re.findall(r'<span class="card-name">([^<]*)</span>', html) == [DEMO_NAME], query
    html = client.get("/products/", {"q": "镜像"}).content.decode()
    assert sorted(re.findall(r'<span class="card-name">([^<]*)</span>', html)) == sorted([DEMO_NAME, BOOT_NAME])
    # The LNMP stack is the home page's featured product.
    featured = client.get("/").content.decode().split('id="featured"')[1].split("</section>")[0]
    assert re.findall(r'<span class="card-name">([^<]*)</span>', featured) == [DEMO_NAME]
    page = client.get(f"/products/{revision.product_id}/").content.decode()
    assert "CNY 59.00" in page and "<code>nginx</code>" in page and "lnmp-quick-start.pdf" in page


def test_without_the_image_tools_the_users_still_work_and_the_product_is_reported_missing(db, monkeypatch, tmp_path):
    import io

    from shelf.accounts.models import User

    monkeypatch.setenv("PATH", str(tmp_path))  # no mkfs.ext4, sgdisk or qemu-img
    err = io.StringIO()
    call_command("demo_data", verbosity=0, stderr=err)
    assert User.objects.filter(username__in=["alice", "bob", "olivia", "bruce"]).count() == 4
    assert "Demo product not listed" in err.getvalue() and "Boot test product not listed" in err.getvalue()
    assert not Product.objects.exists()
    monkeypatch.undo()
    call_command("demo_data", verbosity=0)  # the next run, with the tools, lists them
    assert set(Revision.objects.values_list("status", flat=True)) == {"listed"} and Revision.objects.count() == 2
