"""`make run`'s demo data lists alice's boot test server, and bruce can buy it: the instance really boots and its
console shows the hostname and SSH key from the cloud-init seed. Every qemu started is stopped."""

import re
import shutil
import time
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.core.management import call_command
from django.test import Client

from shelf.accounts.models import User
from shelf.catalog.models import Region
from shelf.compute import bootimage
from shelf.compute.console import console_read
from shelf.compute.models import Instance
from shelf.compute.services import instance_terminate
from shelf.console.demo.boot import BOOT_NAME
from shelf.console.demo.product import DEMO_NAME
from shelf.orders.models import InstanceType
from shelf.orders.pricing import Term
from shelf.orders.services import order_place
from shelf.products.models import Revision
from shelf.scanning.models import Scan
from tests.compute.conftest import accel_decision, boot_image, kill_leftovers  # noqa: F401 - fixtures
from tests.orders.conftest import openssh_public

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        bool(
            missing := bootimage.tools_missing()
            + [t for t in ("qemu-system-x86_64", "qemu-img") if not shutil.which(t)]
        ),
        reason=f"tools missing: {', '.join(missing)} (make system-deps installs them)",
    ),
]


@pytest.fixture
def booting(settings, accel_decision, boot_image):  # noqa: F811 - the imported fixtures
    """Launch jobs run where enqueued, on the local back end; kills any qemu left over after."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default", "scans"]}
    }
    settings.SHELF_COMPUTE_BACKEND = "local"
    settings.SHELF_COMPUTE_ACCEL = accel_decision["accel"]
    settings.SHELF_COMPUTE_MEMORY_MIB = 1536
    settings.SHELF_COMPUTE_BOOT_TIMEOUT = 120
    settings.SHELF_COMPUTE_STOP_TIMEOUT = 20
    yield
    killed = kill_leftovers(settings.DATA_DIR)
    assert not killed, f"a test left qemu processes running: {killed}"


def _console_until(instance, text: str, timeout: float = 120) -> str:
    """The console log once it holds `text` ("running" is the process up; the guest then boots for a while)."""
    deadline = time.monotonic() + timeout
    while text not in (console := console_read(instance)[0]) and time.monotonic() < deadline:
        time.sleep(0.5)
    return console


def test_bruce_buys_the_demo_boot_server_and_sees_it_boot(booting):
    call_command("demo_data", verbosity=0)
    listed = dict(Revision.objects.filter(status="listed").values_list("name", "product_id"))
    assert set(listed) == {DEMO_NAME, BOOT_NAME}
    revision = Revision.objects.get(name=BOOT_NAME)
    scan = Scan.objects.get(image=revision.deliveries.get().image)
    assert (scan.status, scan.verdict) == ("done", "passed")
    counts = (Revision.objects.count(), Scan.objects.count())
    call_command("demo_data", verbosity=0)
    assert (Revision.objects.count(), Scan.objects.count()) == counts  # a second run adds nothing

    # A visitor finds it by a two-character Chinese word and an English one.
    for query in ("测试", "busybox"):
        html = Client().get("/products/", {"q": query}).content.decode()
        assert re.findall(r'<span class="card-name">([^<]*)</span>', html) == [BOOT_NAME], query

    bruce = User.objects.get(username="bruce")
    key = openssh_public(ed25519.Ed25519PrivateKey.generate()) + " bruce@laptop"
    order, created = order_place(
        buyer=bruce,
        product=revision.product,
        region=Region.objects.get(code="ap-guangzhou"),
        instance_type=InstanceType.objects.get(code="S5.SMALL1"),
        disk_gib=None,
        term=Term("month", 1),
        ssh_public_key=key,
        name="demo-1",
        idempotency_key=str(uuid.uuid4()),
    )
    assert created
    instance = Instance.objects.get(pk=order.instance_id)
    try:
        assert instance.state == Instance.State.RUNNING, instance.state_reason
        console = _console_until(instance, f"{bootimage.BOOT_MARK} ready")
        assert f"{bootimage.SEED_MARK} hostname=demo-1" in console
        assert f"{bootimage.SEED_MARK} ssh-key={key}" in console
    finally:
        instance_terminate(actor=bruce, instance=instance)
    instance.refresh_from_db()
    assert instance.state == Instance.State.TERMINATED
