import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from shelf.products.models import Revision
from tests.products.conftest import PDF_BYTES, complete_fields, make_image, png_bytes


def submitted_product(client, image) -> str:
    product = client.post("products", json=complete_fields(image)).json()
    for kind, name, data in (("pictures", "a.png", png_bytes()), ("document", "guide.pdf", PDF_BYTES)):
        response = client.client.post(
            f"/api/v1/products/{product['id']}/{kind}", {"file": SimpleUploadedFile(name, data)}, headers=client.headers
        )
        assert response.status_code == 201, response.json()
    assert client.post(f"products/{product['id']}/submit").status_code == 200
    return product["id"]


@pytest.fixture
def submission(api, alice):
    """alice's product, in review; returns (alice's client, product id, revision id)."""
    client = api(alice)
    product_id = submitted_product(client, make_image(alice.organizations.get()))
    return client, product_id, Revision.objects.get(product_id=product_id, status="in_review").pk


@pytest.fixture
def olivia2(db):
    from shelf.accounts.services import operator_create

    return operator_create(username="oscar", email="oscar@example.com", password="correct-Horse-battery-9")
