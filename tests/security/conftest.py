"""One shared set of objects for the isolation matrix, built once per module inside a transaction rolled back after.

Every object belongs to one owner: alice's organisation (alan, the role "member", is in it) for the provider side,
bruce ("buyer") for the buyer side, the operators for reference data. bob's organisation ("other_member") and carol
("other_buyer") own look-alikes of their own, so a selector that forgets its owner filter shows up as a 200 where a
404 is expected.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from shelf.accounts.models import User
from shelf.accounts.services import buyer_signup, membership_add, operator_create, provider_signup, token_create
from shelf.catalog.models import Category, Region
from shelf.catalog.services import agreement_create
from shelf.compute.services import build_server_launch, instance_booted, instance_launch_begin, instance_launched
from shelf.images.services import base_image_publish, image_import_start
from shelf.orders.models import InstanceOffer, InstanceType, Order
from shelf.orders.services import topup
from shelf.prereview.services import word_add
from shelf.products.models import Revision
from shelf.scanning.models import FindingException, Scan
from shelf.scanning.yara_rules import yara_rule_save
from shelf.webhooks.models import Delivery as WebhookDelivery
from shelf.webhooks.services import webhook_create
from tests.compute.conftest import KEY, available_image
from tests.conftest import PASSWORD, ApiClient
from tests.orders.conftest import order_body, place
from tests.products.conftest import make_image
from tests.reviews.conftest import submitted_product

# Columns every request may write without changing anything anyone owns.
VOLATILE = {"accounts.ApiToken": {"last_used_at"}, "accounts.User": {"last_login"}}


@dataclass
class World:
    users: dict[str, User | None]
    tokens: dict[str, str]  # role -> raw bearer token
    ids: dict[str, object] = field(default_factory=dict)  # what a URL argument names -> its value
    data_dir: object = None
    baseline: dict = field(default_factory=dict)  # snapshot() of the built world: every test starts from it


def _approve(operator: ApiClient, revision_id: int) -> None:
    from shelf.reviews.services import CHECKLIST

    assert operator.post(f"reviews/{revision_id}/claim").status_code == 200
    checklist = {"checklist": {key: True for key, _label in CHECKLIST}}
    response = operator.post(f"reviews/{revision_id}/approve", json=checklist)
    assert response.status_code == 200, response.json()


def _provider_side(world: World, user: User, olivia: User, prefix: str) -> None:
    """What a provider organisation owns: images, an upload, a scan with its SBOM, products, webhooks, agreement."""
    ids, org = world.ids, user.organizations.get()
    client, operator = ApiClient(user), ApiClient(olivia)
    hook = webhook_create(actor=user, organization=org, url=f"https://{prefix}.example.com/hook")
    ids[f"{prefix}webhook"] = hook.pk
    image = make_image(org)
    scan = image.scans.get()
    Scan.objects.filter(pk=scan.pk).update(packages=[{"name": "openssl", "version": "3.0.11", "ecosystem": "Debian"}])
    ids[f"{prefix}image"], ids[f"{prefix}scan"] = image.pk, scan.pk
    ids[f"{prefix}exception"] = FindingException.objects.create(
        image=image,
        check_id="vuln",
        key="CVE-2024-0001",
        justification="Not reachable.",
        expires_at=timezone.localdate() + timedelta(days=30),
        granted_by=olivia,
    ).pk
    upload = image_import_start(
        actor=user, organization=org, name="Half uploaded", region_code="ap-guangzhou", disk_format="raw", size=4096
    )
    ids[f"{prefix}upload"] = upload.pk
    ids[f"{prefix}agreement"] = agreement_create(
        actor=user, organization=org, title=f"{prefix} terms", body="Use it kindly."
    ).pk
    # A listed product (pictures and a document, through review) and one waiting in review.
    listed = submitted_product(client, image)
    _approve(operator, Revision.objects.get(product_id=listed, status="in_review").pk)
    ids[f"{prefix}product"] = listed
    ids[f"{prefix}picture"] = Revision.objects.get(product_id=listed).pictures.get().pk
    in_review = submitted_product(client, make_image(org, name="Another"))
    ids[f"{prefix}review_product"] = in_review
    ids[f"{prefix}revision"] = Revision.objects.get(product_id=in_review).pk
    ids[f"{prefix}review_picture"] = Revision.objects.get(product_id=in_review).pictures.get().pk
    assert WebhookDelivery.objects.filter(webhook=hook, event="product.approved").exists()  # for its deliveries


def _build_world(data_dir) -> World:
    alice, _ = provider_signup(
        username="alice", email="alice@example.com", password=PASSWORD, organization_name="Alice"
    )
    bob, _ = provider_signup(username="bob", email="bob@example.com", password=PASSWORD, organization_name="Bob")
    staff, _ = provider_signup(
        username="staff", email="staff@example.com", password=PASSWORD, organization_name="Shelf"
    )
    bruce = buyer_signup(username="bruce", email="bruce@example.com", password=PASSWORD)
    carol = buyer_signup(username="carol", email="carol@example.com", password=PASSWORD)
    olivia = operator_create(username="olivia", email="olivia@example.com", password=PASSWORD)
    # The role "member" is alan: in alice's organisation, the maker of none of its objects.
    alan = User.objects.create_user(
        username="alan", email="alan@example.com", password=PASSWORD, kind=User.Kind.PROVIDER
    )
    membership_add(actor=alice, organization=alice.organizations.get(), user=alan)
    users = {
        "anonymous": None,
        "buyer": bruce,
        "other_buyer": carol,
        "member": alan,
        "other_member": bob,
        "operator": olivia,
    }
    world = World(users=users, tokens={}, data_dir=data_dir)
    for role, user in users.items():
        if user is not None:
            world.tokens[role] = token_create(user=user, name="matrix")[1]
    ids = world.ids
    ids["token"] = token_create(user=alice, name="alice's second")[0].pk
    _provider_side(world, alice, olivia, "")
    _provider_side(world, bob, olivia, "other_")

    # Buyer side: bruce's order of alice's product, its running instance, its prepaid term and ledger entries.
    for buyer in (bruce, carol):
        topup(actor=olivia, user=buyer, amount="1000.00", reason="matrix credit")
    from shelf.products.models import Product

    product = Product.objects.get(pk=ids["product"])
    for prefix, buyer in (("", bruce), ("other_", carol)):
        response = place(ApiClient(buyer), order_body(product, KEY), key=f"matrix-{prefix}")
        assert response.status_code == 201, response.json()
        order = Order.objects.select_related("instance").get(pk=response.json()["id"])
        instance = instance_launch_begin(instance=order.instance)
        instance = instance_launched(
            instance=instance, ref=f"matrix-{prefix}", forwarded_ports={}, ssh_host="127.0.0.1", console={}
        )
        instance_booted(instance=instance, expected=instance.state)
        ids[f"{prefix}order"], ids[f"{prefix}instance"] = order.pk, order.instance.pk

    # The marketplace's base image and alice's build server launched from it.
    base = base_image_publish(actor=olivia, image=available_image(staff.organizations.get()))
    ids["base_image"] = base.pk
    ids["base_candidate"] = available_image(staff.organizations.get()).pk
    ids["build_server"] = build_server_launch(
        actor=alice,
        organization=alice.organizations.get(),
        base_image=base,
        name="Build box",
        ssh_public_key=KEY,
        memory_mib=128,
        idempotency_key=str(uuid.uuid4()),
    ).pk
    ids["other_build_server"] = build_server_launch(
        actor=bob,
        organization=bob.organizations.get(),
        base_image=base,
        name="Build box",
        ssh_public_key=KEY,
        memory_mib=128,
        idempotency_key=str(uuid.uuid4()),
    ).pk

    # Operators' reference data.
    operator = ApiClient(olivia)
    response = operator.post(
        "operator/commission-rates",
        json={"category": Category.objects.filter(parent__isnull=False).first().slug, "rate_percent": "15.00"},
    )
    assert response.status_code == 201, response.json()
    ids["rate"] = response.json()["id"]
    ids["region"] = Region.objects.get(code="ap-guangzhou").pk
    ids["region_code"] = "ap-guangzhou"
    ids["category"] = Category.objects.first().pk
    ids["instance_type"] = InstanceType.objects.first().pk
    ids["offer"] = InstanceOffer.objects.first().pk
    ids["word"] = word_add(actor=olivia, word="matrixword", kind="cloud_vendor").pk
    ids["rule_set"] = yara_rule_save(
        actor=olivia, name="matrix", source='rule matrix { strings: $a = "x" condition: $a }'
    ).pk
    from shelf.catalog.models import Agreement

    ids["public_agreement"] = Agreement.objects.filter(organization__isnull=True).first().pk
    ids["org_slug"] = alice.organizations.get().slug
    ids["period"] = timezone.localdate().strftime("%Y-%m")
    ids["buyer_key"] = KEY.split()[1]  # what a provider never sees of his buyers' orders
    return world


@functools.cache
def _snapshot_queries() -> list[tuple[str, str]]:
    queries = []
    for model in apps.get_models():
        if model.__module__.startswith("shelf."):
            meta, skip = model._meta, VOLATILE.get(model._meta.label, ())
            columns = ", ".join(
                connection.ops.quote_name(f.column) for f in meta.concrete_fields if f.attname not in skip
            )
            table, pk = connection.ops.quote_name(meta.db_table), connection.ops.quote_name(meta.pk.column)
            queries.append((meta.label, f"SELECT {columns} FROM {table} ORDER BY {pk}"))  # noqa: S608 - quoted model names
    return queries


def snapshot() -> dict:
    """Every row of every Shelf table, less the columns a mere request writes (plain SQL: it runs per request)."""
    with connection.cursor() as cursor:
        state = {}
        for label, sql in _snapshot_queries():
            cursor.execute(sql)
            state[label] = cursor.fetchall()
        return state


def local_files(data_dir: Path) -> dict:
    """Settings that keep every stored object in `data_dir`, whatever storage the environment selects: the matrix
    is about who may reach an object, and its shared objects outlive the per-test S3 buckets of tests/conftest.py
    (S3's own paths have their own tests)."""
    return {
        "DATA_DIR": data_dir,
        "SHELF_STORAGE": "shelf.storage.local.LocalStorage",
        "STORAGES": {
            **django_settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": data_dir / "media"},
            },
        },
    }


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("matrix-data")
    with django_db_blocker.unblock(), override_settings(**local_files(data_dir)), transaction.atomic():
        world = _build_world(data_dir)
        world.baseline = snapshot()
        yield world
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _data_dir(settings, world):
    """The shared objects' files (pictures, documents) live in the module's data directory, not a per-test one."""
    for name, value in local_files(world.data_dir).items():
        setattr(settings, name, value)
