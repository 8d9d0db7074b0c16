"""Base images (公共镜像, docs/adr/0007): operators publish the marketplace organisation's images; providers list them."""

from __future__ import annotations

import pytest

from shelf.accounts.services import provider_signup
from shelf.audit.models import AuditEvent
from shelf.errors import Conflict
from shelf.images.models import Image
from shelf.images.selectors import base_images_for
from shelf.images.services import base_image_publish, base_image_unpublish, image_delete
from tests.compute.conftest import available_image
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    """A member of the marketplace's own organisation (slug `shelf`, SHELF_BASE_IMAGE_ORGANIZATION's default)."""
    user, organization = provider_signup(
        username="shelfstaff", email="staff@example.com", password=PASSWORD, organization_name="Shelf"
    )
    assert organization.slug == "shelf"
    return user


@pytest.fixture
def marketplace_image(staff):
    return available_image(staff.organizations.first())


def test_publish_and_unpublish_are_audited_and_idempotent(marketplace_image, olivia, alice, bruce):
    assert not base_images_for(alice).exists()
    image = base_image_publish(actor=olivia, image=marketplace_image)
    assert image.is_base and image.base_published_at
    assert base_image_publish(actor=olivia, image=image).base_published_at == image.base_published_at
    assert list(base_images_for(alice)) == [image]
    assert list(base_images_for(olivia)) == [image]
    assert not base_images_for(bruce).exists()  # buyers launch nothing from base images
    image = base_image_unpublish(actor=olivia, image=image)
    assert not image.is_base and image.base_published_at is None
    assert not base_images_for(alice).exists()
    actions = list(AuditEvent.objects.filter(target_id=str(image.pk)).values_list("action", flat=True))
    assert sorted(actions) == ["image.base_publish", "image.base_unpublish"]


def test_a_providers_image_is_never_published(alice, olivia):
    image = available_image(alice.organizations.first())
    with pytest.raises(Conflict) as exc:
        base_image_publish(actor=olivia, image=image)
    assert exc.value.code == "not_marketplace_image"
    assert not Image.objects.get(pk=image.pk).is_base


def test_only_an_available_image_is_published(marketplace_image, olivia):
    Image.objects.filter(pk=marketplace_image.pk).update(status=Image.Status.VALIDATING)
    with pytest.raises(Conflict) as exc:
        base_image_publish(actor=olivia, image=marketplace_image)
    assert exc.value.code == "not_available"


def test_the_setting_names_the_marketplace_organisation(settings, alice, olivia):
    settings.SHELF_BASE_IMAGE_ORGANIZATION = alice.organizations.first().slug
    assert base_image_publish(actor=olivia, image=available_image(alice.organizations.first())).is_base


def test_a_published_image_is_not_deleted(marketplace_image, staff, olivia):
    base_image_publish(actor=olivia, image=marketplace_image)
    with pytest.raises(Conflict) as exc:
        image_delete(actor=staff, image=marketplace_image)
    assert exc.value.code == "base_image"
    assert Image.objects.filter(pk=marketplace_image.pk).exists()


def test_api(api, marketplace_image, olivia, alice, bruce):
    url = f"base-images/{marketplace_image.pk}"
    assert api(alice).post(f"{url}/publish").status_code == 404  # providers do not publish
    assert api(bruce).get("base-images/candidates").status_code == 404
    assert [c["id"] for c in api(olivia).get("base-images/candidates").json()] == [str(marketplace_image.pk)]
    answer = api(olivia).post(f"{url}/publish")
    assert answer.status_code == 200 and answer.json()["published"] is True
    listed = api(alice).get("base-images?region=ap-guangzhou").json()
    assert [b["id"] for b in listed] == [str(marketplace_image.pk)] and listed[0]["region"] == "ap-guangzhou"
    assert api(alice).get("base-images?region=ap-shanghai").json() == []
    assert api(bruce).get("base-images").json() == []
    other = available_image(alice.organizations.first())
    refused = api(olivia).post(f"base-images/{other.pk}/publish")
    assert refused.status_code == 409 and refused.json()["errors"][0]["code"] == "not_marketplace_image"
    assert api(olivia).post(f"{url}/unpublish").json()["published"] is False
    assert api(alice).get("base-images").json() == []


def test_operator_pages(web, marketplace_image, olivia, alice):
    page = web(olivia).get("/operator/base-images/")
    assert page.status_code == 200 and marketplace_image.name in page.content.decode()
    answer = web(olivia).post(f"/operator/base-images/{marketplace_image.pk}/publish/")
    assert answer.status_code == 302 and Image.objects.get(pk=marketplace_image.pk).is_base
    assert web(alice).get("/operator/base-images/").status_code == 404
    assert web(alice).post(f"/operator/base-images/{marketplace_image.pk}/unpublish/").status_code == 404
    web(olivia).post(f"/operator/base-images/{marketplace_image.pk}/unpublish/")
    assert not Image.objects.get(pk=marketplace_image.pk).is_base
