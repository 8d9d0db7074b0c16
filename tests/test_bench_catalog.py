"""The catalog benchmark's seed (bench/catalog_seed.py) writes rows the services would accept, the storefront's
own rebuild lists them, and seeding leaves the models as it found them; its wrk output parser reads wrk."""

import pytest

from bench.catalog import _ms, mixed_searches
from bench.catalog_seed import seed
from shelf.products import rules
from shelf.products.models import Product, Revision
from shelf.storefront.selectors import catalog_search
from shelf.storefront.services import catalog_rebuild


@pytest.mark.django_db
def test_seeded_products_pass_the_submit_rules_and_are_listed_in_the_catalog():
    figures = seed(40)
    assert figures["products"] == 40
    revisions = list(Revision.objects.filter(status=Revision.Status.LISTED).select_related("product", "category"))
    assert len(revisions) == 40
    for revision in revisions:
        assert rules.revision_violations(revision) == [], revision.name
    assert len({r.product.created_at for r in revisions}) == 40  # spread over the years, not "now"

    assert catalog_rebuild()["listed"] == 40
    assert catalog_search(q="镜像", limit=100).count == 40  # in every product, as on any image marketplace
    some = revisions[0]
    assert some.product_id in {e.product_id for e in catalog_search(q=some.software[0], limit=100).items}


@pytest.mark.django_db
def test_seeding_gives_the_automatic_dates_back(alice):
    seed(1)
    product = Product.objects.create(organization=alice.organizations.get())
    assert product.created_at is not None
    assert Product._meta.get_field("created_at").auto_now_add


def test_wrk_latencies_in_milliseconds():
    assert [_ms(t) for t in ("850.00us", "5.74ms", "1.12s", "1.00m")] == [0.85, 5.74, 1120.0, 60000.0]


def test_mixed_searches_are_distinct_catalog_urls():
    import random

    paths = mixed_searches(300, random.Random(1))
    assert len(set(paths)) == 300
    assert all(p.startswith("/api/v1/catalog?q=") and p.isascii() for p in paths)
