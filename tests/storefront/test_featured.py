"""Featured products: operators put listed products on the home page, in their order, through the console, the
product page and the API; nobody else can, and a product not on sale is never shown."""

import re

import pytest

from shelf.audit.models import AuditEvent
from shelf.products.services import product_delist
from shelf.storefront.models import FeaturedProduct
from shelf.storefront.services import FEATURED_MAX
from tests.conftest import web_client

pytestmark = pytest.mark.django_db


def featured_names(client) -> list[str]:
    html = client.get("/").content.decode()
    if 'id="featured"' not in html:
        return []
    section = html.split('id="featured"')[1].split("</section>")[0]
    return re.findall(r'<span class="card-name">([^<]+)</span>', section)


def test_an_operator_features_products_from_their_pages_and_orders_them(client, make_listed, olivia):
    first, second = make_listed(name="First image"), make_listed(name="Second image")
    operator = web_client(olivia)
    assert featured_names(client) == []
    for revision in (first, second):
        page = operator.get(f"/products/{revision.product_id}/").content.decode()
        assert "Feature on the home page" in page
        answer = operator.post(
            "/operator/featured/",
            {"product_id": str(revision.product_id), "action": "add", "next": f"/products/{revision.product_id}/"},
        )
        assert answer.status_code == 302 and answer["Location"] == f"/products/{revision.product_id}/"
    assert "Remove from featured" in operator.get(f"/products/{first.product_id}/").content.decode()
    assert featured_names(client) == ["First image", "Second image"]
    operator.post("/operator/featured/", {"product_id": str(second.product_id), "action": "up"})
    assert featured_names(client) == ["Second image", "First image"]
    listing = operator.get("/operator/featured/").content.decode()
    assert listing.index("Second image") < listing.index("First image")
    operator.post("/operator/featured/", {"product_id": str(second.product_id), "action": "remove"})
    assert featured_names(client) == ["First image"]
    assert (
        list(
            AuditEvent.objects.filter(action__in=["product.feature", "product.unfeature"]).values_list(
                "action", flat=True
            )
        ).count("product.feature")
        == 2
    )


def test_visitors_and_buyers_see_no_featuring_control(client, make_listed, bruce):
    revision = make_listed()
    for who in (client, web_client(bruce)):
        assert "Feature on the home page" not in who.get(f"/products/{revision.product_id}/").content.decode()
    assert web_client(bruce).get("/operator/featured/").status_code == 404
    assert client.get("/operator/featured/").status_code == 302  # to the sign-in page


def test_a_delisted_product_leaves_the_home_page_and_returns_when_listed_again(client, make_listed, olivia, alice):
    revision = make_listed(name="Comes and goes")
    web_client(olivia).post("/operator/featured/", {"product_id": str(revision.product_id), "action": "add"})
    assert featured_names(client) == ["Comes and goes"]
    product_delist(actor=olivia, product=revision.product, reason="Broken download link.")
    assert featured_names(client) == []
    assert "not shown until it is listed again" in web_client(olivia).get("/operator/featured/").content.decode()
    assert FeaturedProduct.objects.filter(product=revision.product).exists()


def test_api_features_only_listed_products_up_to_the_cap(api, make_listed, olivia, bruce, alice):
    listed = make_listed(name="On sale")
    draft = make_listed(name="Draft", status="draft")
    operator = api(olivia)
    answer = operator.put(f"/api/v1/featured/{listed.product_id}")
    assert answer.status_code == 200, answer.content
    assert answer.json()["product_id"] == str(listed.product_id)
    assert operator.put(f"/api/v1/featured/{listed.product_id}").status_code == 200  # again: no change
    assert FeaturedProduct.objects.count() == 1
    refused = operator.put(f"/api/v1/featured/{draft.product_id}")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "product_id"
    # Anyone may read the featured row; nobody but operators may change it.
    public = api(None).get("/api/v1/featured")
    assert public.status_code == 200 and [item["name"] for item in public.json()] == ["On sale"]
    for user in (bruce, alice):
        assert api(user).put(f"/api/v1/featured/{listed.product_id}").status_code == 404
        assert api(user).delete(f"/api/v1/featured/{listed.product_id}").status_code == 404
    assert api(None).delete(f"/api/v1/featured/{listed.product_id}").status_code == 401
    assert FeaturedProduct.objects.count() == 1
    assert operator.delete(f"/api/v1/featured/{listed.product_id}").status_code == 204
    assert operator.delete(f"/api/v1/featured/{listed.product_id}").status_code == 404
    assert api(None).get("/api/v1/featured").json() == []


def test_at_most_the_cap_is_featured(api, make_listed, olivia):
    operator = api(olivia)
    revisions = [make_listed(name=f"Image {n}") for n in range(FEATURED_MAX + 1)]
    for revision in revisions[:FEATURED_MAX]:
        assert operator.put(f"/api/v1/featured/{revision.product_id}").status_code == 200
    refused = operator.put(f"/api/v1/featured/{revisions[-1].product_id}")
    assert refused.status_code == 422 and "remove one first" in refused.json()["errors"][0]["message"]
    assert FeaturedProduct.objects.count() == FEATURED_MAX


def test_a_bad_product_id_in_the_console_is_explained(olivia):
    answer = web_client(olivia).post("/operator/featured/", {"product_id": "not-an-id", "action": "add"}, follow=True)
    assert "Give the product" in answer.content.decode()
    assert FeaturedProduct.objects.count() == 0


def test_featuring_a_product_that_does_not_exist_is_404(api, olivia):
    assert api(olivia).put("/api/v1/featured/4b7c5e4e-0000-4000-8000-000000000000").status_code == 404
