"""Orders that really launch: compute's local back end boots the test image under qemu (jobs run where enqueued).

`shelf buy --wait` against a live server reaches `running` and shows the SSH command; an order that does not fit
the host's memory budget fails with the reason and its charge comes back as a refund row. Every qemu is stopped.
"""

from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from shelf.accounts.services import token_create
from shelf.compute.models import Instance
from shelf.compute.services import instance_terminate
from shelf.orders.models import LedgerEntry, Order
from shelf.orders.selectors import balance_of
from shelf.orders.services import topup
from shelf.products.models import Delivery, Product, Revision
from tests.cli.conftest import shelf_cli  # noqa: F401 - fixture
from tests.compute.conftest import accel_decision, boot_image, vm  # noqa: F401 - fixtures
from tests.orders.conftest import openssh_public, order_body, place

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _launches_kept(settings):
    """Here the launch job runs (overrides the package's DummyBackend)."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default", "scans"]}
    }


@pytest.fixture
def bootable_product(vm, alice, settings):  # noqa: F811 - the imported fixture
    settings.SHELF_COMPUTE_MEMORY_MIB = 1536  # room for one S5.SMALL1 (1 GiB), not for two
    product = Product.objects.create(organization=alice.organizations.get())
    revision = Revision.objects.create(
        product=product,
        status=Revision.Status.LISTED,
        name="Boot test",
        billing_mode="prepaid",
        price_monthly=Decimal("9.90"),
    )
    Delivery.objects.create(revision=revision, region=vm.region, image=vm)
    return product


def _terminate_all(actor):
    for instance in Instance.objects.exclude(state__in=[Instance.State.TERMINATED, Instance.State.FAILED]):
        instance_terminate(actor=actor, instance=instance)  # the job runs on commit: process, overlay, seed gone


def test_shelf_buy_waits_until_the_server_runs(
    shelf_cli,  # noqa: F811 - the imported fixture
    bruce,
    olivia,
    bootable_product,
    tmp_path,
):
    topup(actor=olivia, user=bruce, amount="100.00", reason="credit")
    key = openssh_public(ed25519.Ed25519PrivateKey.generate()) + " bruce@laptop"
    (tmp_path / "id.pub").write_text(key)
    token = token_create(user=bruce, name="cli")[1]
    try:
        done = shelf_cli(
            "buy",
            str(bootable_product.pk),
            "--region",
            "ap-guangzhou",
            "--type",
            "S5.SMALL1",
            "--months",
            "1",
            "--ssh-key",
            str(tmp_path / "id.pub"),
            "--name",
            "shop-1",
            "--yes",
            "--wait",
            "--timeout",
            "180",
            token=token,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "running" in done.stdout and "ssh -p " in done.stdout
        order = Order.objects.get()
        assert order.instance.state == Instance.State.RUNNING and order.instance.hostname == "shop-1"
        assert balance_of(bruce) == Decimal("45.10")  # 100 - (45.00 + 9.90)
    finally:
        _terminate_all(bruce)
    assert Instance.objects.get().state == Instance.State.TERMINATED


def test_an_order_that_does_not_fit_the_host_is_refunded(api, bruce, olivia, bootable_product, settings):
    topup(actor=olivia, user=bruce, amount="200.00", reason="credit")
    client = api(bruce)
    key = openssh_public(ed25519.Ed25519PrivateKey.generate())
    try:
        first = place(client, order_body(bootable_product, key, name="a"), key="a")
        assert first.status_code == 201, first.json()
        second = place(client, order_body(bootable_product, key, name="b"), key="b")
        assert second.status_code == 201, second.json()
        failed = Instance.objects.get(pk=second.json()["instance"])
        assert failed.state == Instance.State.FAILED and failed.state_reason
        order = Order.objects.get(pk=second.json()["id"])
        assert order.status == Order.Status.FAILED
        refund = LedgerEntry.objects.get(kind="refund")
        assert (refund.order, refund.amount) == (order, Decimal("54.90"))
        assert balance_of(bruce) == Decimal("145.10")  # one order paid, the other refunded
        assert client.get(f"orders/{order.pk}").json()["status"] == "failed"
    finally:
        _terminate_all(bruce)
