"""A listed product of alice's sold in ap-guangzhou, the seeded server sizes, bruce with money.

The launch job compute enqueues on commit is kept, not run (DummyBackend): these tests are about orders, and
compute's own tests boot real guests. Tests assert that exactly the expected launch was enqueued.
"""

from decimal import Decimal

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from shelf.accounts.services import buyer_signup
from shelf.catalog.models import Category, Region
from shelf.images.models import Image
from shelf.orders.models import InstanceOffer
from shelf.orders.services import topup
from shelf.products.models import Delivery, Product, Revision
from tests.conftest import PASSWORD


def openssh_public(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


@pytest.fixture
def ssh_key() -> str:
    return openssh_public(ed25519.Ed25519PrivateKey.generate()) + " bruce@laptop"


@pytest.fixture
def weak_rsa_key() -> str:
    return openssh_public(rsa.generate_private_key(public_exponent=65537, key_size=1024))  # noqa: S505 - the weak key the rule refuses


@pytest.fixture(autouse=True)
def _launches_kept(settings):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default", "scans"]}
    }


@pytest.fixture(autouse=True)
def _sizes(request):
    """Transactional tests flush the seeded sizes with everything else: seed them again."""
    marker = request.node.get_closest_marker("django_db")
    if marker and marker.kwargs.get("transaction"):
        from django.apps import apps

        from shelf.orders.reference import seed

        request.getfixturevalue("transactional_db")
        seed(apps)


def enqueued_launches() -> list:
    from django_tasks import default_task_backend

    return [r for r in default_task_backend.results if r.task.name == "launch_instance"]


def listed_product(organization, *, regions=("ap-guangzhou",), billing_mode="prepaid", virtual_gib=10, **prices):
    """A product whose revision 1 is listed, delivering an available image of `virtual_gib` in each region."""
    product = Product.objects.create(organization=organization)
    defaults = (
        {"price_monthly": Decimal("99.00"), "price_yearly": Decimal("999.00")}
        if billing_mode == "prepaid"
        else {"price_hourly": Decimal("0.05")}
    )
    revision = Revision.objects.create(
        product=product,
        status=Revision.Status.LISTED,
        name="LAMP 环境（Debian 12）",
        category=Category.objects.filter(parent__isnull=False).first(),
        billing_mode=billing_mode,
        **{**defaults, **prices},
    )
    for code in regions:
        image = Image.objects.create(
            organization=organization,
            region=Region.objects.get(code=code),
            name="Debian 12 LAMP",
            disk_format="qcow2",
            status=Image.Status.AVAILABLE,
            virtual_size=virtual_gib * 1024**3,
            stored_size=1024**3,
            sha256="a" * 64,
        )
        Delivery.objects.create(revision=revision, region=image.region, image=image)
    return product


@pytest.fixture
def product(alice):
    return listed_product(alice.organizations.get())


@pytest.fixture
def hourly_product(alice):
    return listed_product(alice.organizations.get(), billing_mode="postpaid")


@pytest.fixture
def rich_bruce(bruce, olivia):
    topup(actor=olivia, user=bruce, amount="1000.00", reason="welcome credit")
    return bruce


@pytest.fixture
def carol(db):
    return buyer_signup(username="carol", email="carol@example.com", password=PASSWORD)


def offer(region="ap-guangzhou", code="S5.SMALL1") -> InstanceOffer:
    return InstanceOffer.objects.select_related("instance_type").get(region__code=region, instance_type__code=code)


def order_body(product, ssh_key, **overrides) -> dict:
    body = {
        "product": str(product.pk),
        "region": "ap-guangzhou",
        "instance_type": "S5.SMALL1",
        "months": 1,
        "ssh_public_key": ssh_key,
        "name": "web-1",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def place(client, body: dict, key: str | None = "key-1"):
    """POST /api/v1/orders with an Idempotency-Key header (none when key is None)."""
    headers = {**client.headers, **({"Idempotency-Key": key} if key is not None else {})}
    return client.client.post("/api/v1/orders", data=body, content_type="application/json", headers=headers)
