"""Listed products made the way users make them: through the real services, from draft to approval."""

import io

import pytest

from shelf.accounts.services import operator_create
from shelf.catalog.models import Agreement, Category
from shelf.products.models import Revision
from shelf.products.services import document_set, picture_add, product_create, product_submit
from shelf.reviews.services import CHECKLIST, review_approve, review_claim
from tests.conftest import PASSWORD
from tests.products.conftest import PDF_BYTES, make_image, png_bytes

CHECKED = {key: True for key, _label in CHECKLIST}


def operator(username: str = "otto"):
    """An operator to approve with (made once per test database)."""
    from shelf.accounts.models import User

    return User.objects.filter(username=username).first() or operator_create(
        username=username, email=f"{username}@example.com", password=PASSWORD
    )


def approve(revision: Revision, by=None) -> Revision:
    """Submit-to-listed the way an operator does it: claim, then approve with the full checklist."""
    by = by or operator()
    review_claim(operator=by, revision=revision)
    return review_approve(operator=by, revision=revision, checklist=CHECKED)


def listed_product(
    organization,
    *,
    name: str = "LAMP 环境（Debian 12）",
    summary: str = "A ready LAMP stack.",
    tags: list[str] | None = None,
    software: list[str] | None = None,
    details: str = "## Features\n\nApache, MySQL and PHP, ready to use.",
    category: str = "os-linux",
    billing_mode: str = "prepaid",
    price_monthly: str | None = "99.00",
    price_yearly: str | None = "999.00",
    price_hourly: str | None = "0.50",
    regions: tuple[str, ...] = ("ap-guangzhou",),
    version: str = "v1.0",
    status: str = "listed",
    actor=None,
) -> Revision:
    """A product of `organization` through product_create, a picture, the document, submit and approval.

    `status` stops earlier ("draft", "in_review") or goes on ("rejected", "delisted"). Prices not of the
    billing mode are left out. Returns the revision in that status (reloaded).
    """
    actor = actor or organization.memberships.select_related("user").first().user
    images = {code: make_image(organization, code, name=f"{name[:40]} image") for code in regions}
    prepaid = billing_mode == "prepaid"
    changes = {
        "category": category,
        "name": name,
        "tags": tags if tags is not None else ["web"],
        "software": software if software is not None else ["Apache 2.4"],
        "version": version,
        "agreement": Agreement.objects.filter(organization__isnull=True).first().pk,
        "deliveries": {code: str(image.pk) for code, image in images.items()},
        "billing_mode": billing_mode,
        "price_monthly": price_monthly if prepaid else None,
        "price_yearly": price_yearly if prepaid else None,
        "price_hourly": None if prepaid else price_hourly,
        "summary": summary,
        "details": details,
    }
    revision = product_create(actor=actor, organization=organization, changes=changes)
    picture_add(actor=actor, revision=revision, fileobj=io.BytesIO(png_bytes()))
    document_set(actor=actor, revision=revision, fileobj=io.BytesIO(PDF_BYTES), filename="guide.pdf")
    if status == "draft":
        return Revision.objects.get(pk=revision.pk)
    product_submit(actor=actor, revision=revision)
    if status == "in_review":
        return Revision.objects.get(pk=revision.pk)
    if status == "rejected":
        from shelf.reviews.services import review_reject

        by = operator()
        review_claim(operator=by, revision=revision)
        review_reject(operator=by, revision=revision, reasons={"name": "Say what it is."})
        return Revision.objects.get(pk=revision.pk)
    approve(revision)
    if status == "delisted":
        from shelf.products.services import product_delist

        product_delist(actor=actor, product=revision.product, reason="End of life.")
    return Revision.objects.get(pk=revision.pk)


@pytest.fixture
def make_listed(db, alice):
    """`make_listed(**fields)`: a product listed through the real services (alice's organisation unless
    `organization=` is given); see `listed_product` for the fields."""

    def make(organization=None, **fields) -> Revision:
        return listed_product(organization or alice.organizations.get(), **fields)

    return make


@pytest.fixture
def leaf_category():
    return Category.objects.filter(parent__isnull=False).first()
