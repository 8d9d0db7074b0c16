"""`make run`'s demo data: alice's product is listed on a real image the real scanner passed, and a second run adds
nothing."""

import re

import pytest
from django.core.management import call_command
from django.test import Client

from shelf.console.demo.product import DEMO_NAME
from shelf.images.builders import tools_missing
from shelf.images.models import Image
from shelf.products.models import Product, Revision
from shelf.scanning.models import Scan
from shelf.storefront.models import CatalogEntry

pytestmark = pytest.mark.skipif(bool(tools_missing()), reason="image tools missing (make system-deps installs them)")


def counts() -> dict:
    return {model.__name__: model.objects.count() for model in (Image, Scan, Product, Revision, CatalogEntry)}


def test_demo_data_lists_alices_product_on_a_scanned_image_once(db):
    call_command("demo_data", verbosity=0)
    first = counts()
    call_command("demo_data", verbosity=0)
    assert counts() == first == {"Image": 1, "Scan": 1, "Product": 1, "Revision": 1, "CatalogEntry": 1}

    revision = Revision.objects.get()
    assert revision.status == "listed" and revision.name == DEMO_NAME
    assert revision.product.organization.memberships.filter(user__username="alice").exists()
    scan = Scan.objects.get()
    assert scan.status == "done" and scan.verdict == "passed"
    assert scan.os["pretty_name"] == "Debian GNU/Linux 12 (bookworm)"
    assert {"nginx", "mariadb-server", "php8.2-fpm"} <= {p["name"] for p in scan.packages}

    # What a visitor of `make run` finds: by a two-character Chinese word, an English word, the category.
    client = Client()
    for query in ({"q": "建站"}, {"q": "镜像"}, {"q": "stack"}, {"category": "website"}):
        html = client.get("/products/", query).content.decode()
        assert re.findall(r'<span class="card-name">([^<]*)</span>', html) == [DEMO_NAME], query
    page = client.get(f"/products/{revision.product_id}/").content.decode()
    assert "CNY 59.00" in page and "<code>nginx</code>" in page and "lnmp-quick-start.pdf" in page
