"""The slow test (`make test-slow`, never in `make test`): a full Debian 12 image with real cloud-init and sshd,
bought by bruce through POST /api/v1/orders, boots on the local back end, and bruce logs in over the forwarded port
with his key; the guest's hostname and cloud-init instance-id are the order's. Every qemu started is stopped.

Costs: the image is built once (minutes, cached under /var/cache/shelf-boot), then each run boots it under TCG
(cloud-init needs about a minute before sshd answers)."""

from __future__ import annotations

import hashlib
import json
import math
import shlex
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from shelf.compute.models import Instance
from shelf.orders.services import topup
from shelf.products.models import Delivery
from shelf.storage import get_storage
from tests.compute.conftest import kill_leftovers
from tests.conftest import ApiClient
from tests.orders.conftest import listed_product, openssh_public

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
INSTANCE_ID = "/var/lib/cloud/data/instance-id"
AUTHORIZED_KEYS = "/root/.ssh/authorized_keys"
SSH_TIMEOUT = 600  # seconds from `running` until sshd answers with the key installed (about 70 s measured)


@pytest.fixture(scope="session")
def full_image():
    from shelf.compute import fullimage

    if missing := fullimage.tools_missing() + [t for t in ("qemu-system-x86_64", "ssh") if not shutil.which(t)]:
        pytest.skip(f"cannot build or boot the full Debian image: missing {', '.join(missing)}")
    started = time.monotonic()
    image = fullimage.build()
    took = time.monotonic() - started
    print(f"\nfull Debian image {image.key}: {'built' if image.build_seconds else 'cached'} in {took:.1f} s")
    return image


@pytest.fixture
def booting(settings, full_image, accel_decision):
    """The local back end with room for a 1 GiB guest; launch jobs run on commit; kills any qemu left after."""
    settings.SHELF_COMPUTE_BACKEND = "local"
    settings.SHELF_COMPUTE_ACCEL = accel_decision["accel"]
    settings.SHELF_COMPUTE_MEMORY_MIB = 2048
    settings.SHELF_COMPUTE_BOOT_TIMEOUT = 180
    settings.SHELF_COMPUTE_STOP_TIMEOUT = 30
    yield full_image
    killed = kill_leftovers(settings.DATA_DIR)
    assert not killed, f"the test left qemu processes running: {killed}"


def _sell(organization, disk: Path):
    """alice's listed product delivering `disk` (qcow2) in ap-guangzhou, its stored object the real file."""
    info = json.loads(
        subprocess.run(["qemu-img", "info", "--output=json", disk], capture_output=True, check=True).stdout
    )
    product = listed_product(organization, virtual_gib=math.ceil(info["virtual-size"] / 1024**3))
    image = Delivery.objects.get(revision__product=product).image
    digest = hashlib.sha256()

    def chunks():
        with open(disk, "rb") as fh:
            while chunk := fh.read(8 << 20):
                digest.update(chunk)
                yield chunk

    get_storage().write(image.storage_key, chunks())
    image.sha256, image.stored_size, image.virtual_size = digest.hexdigest(), disk.stat().st_size, info["virtual-size"]
    image.save()
    return product


def _keypair(directory: Path) -> tuple[Path, str]:
    key = ed25519.Ed25519PrivateKey.generate()
    private = directory / "id_ed25519"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    )
    private.chmod(0o600)
    return private, openssh_public(key) + " bruce@laptop"


def _ssh(ssh_command: str, private: Path, remote: str) -> subprocess.CompletedProcess:
    """The command the buyer is shown, with his key and without host-key bookkeeping (a fresh guest each run)."""
    program, *rest = shlex.split(ssh_command)
    options = ["-i", str(private), "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no"]
    options += ["-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=20"]
    options += ["-o", "LogLevel=ERROR"]
    return subprocess.run([program, *options, *rest, remote], capture_output=True, text=True, timeout=60, check=False)


def test_bruce_buys_a_full_debian_server_and_logs_in_over_ssh(
    booting, alice, bruce, olivia, tmp_path, settings, django_capture_on_commit_callbacks
):
    product = _sell(alice.organizations.get(), booting.disk)
    topup(actor=olivia, user=bruce, amount="1000.00", reason="slow test credit")
    private, public = _keypair(tmp_path)
    api = ApiClient(bruce)
    body = {
        "product": str(product.pk),
        "region": "ap-guangzhou",
        "instance_type": "S5.SMALL1",
        "months": 1,
        "ssh_public_key": public,
        "name": "debian-full",
    }
    ordered = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):  # the launch job runs when the order commits
        answer = api.client.post(
            "/api/v1/orders",
            data=body,
            content_type="application/json",
            headers={**api.headers, "Idempotency-Key": str(uuid.uuid4())},
        )
    assert answer.status_code == 201, answer.json()
    instance = Instance.objects.get(pk=answer.json()["instance"])
    try:
        assert instance.state == Instance.State.RUNNING, instance.state_reason
        running = time.monotonic()
        shown = api.get(f"instances/{instance.pk}").json()
        assert shown["ssh_command"] == instance.ssh_command and instance.ssh_command.startswith("ssh -p ")

        deadline, attempt = running + SSH_TIMEOUT, None
        while time.monotonic() < deadline:
            attempt = _ssh(instance.ssh_command, private, f"hostname; cat {INSTANCE_ID} {AUTHORIZED_KEYS}")
            if attempt.returncode == 0:
                break
            time.sleep(3)
        logged_in = time.monotonic()
        console = api.get(f"instances/{instance.pk}/console").json()["text"]
        assert attempt is not None and attempt.returncode == 0, (attempt.stderr if attempt else "", console[-3000:])
        print(
            f"\norder to running: {running - ordered:.1f} s; running to SSH login: {logged_in - running:.1f} s; "
            f"order to SSH login: {logged_in - ordered:.1f} s"
        )
        hostname, instance_id, *keys = attempt.stdout.splitlines()
        assert hostname == instance.hostname == shown["hostname"]
        assert instance_id == instance.backend_ref  # the seed's meta-data, as cloud-init read it
        # The key reached root through cloud-init (the image ships none): bruce's, and only his.
        assert [k.split()[1] for k in keys if k.strip()] == [public.split()[1]]
    finally:
        with django_capture_on_commit_callbacks(execute=True):
            api.post(f"instances/{instance.pk}/terminate")
    instance.refresh_from_db()
    assert instance.state == Instance.State.TERMINATED
    assert not Path(settings.DATA_DIR, "instances", instance.backend_ref).exists()  # overlay and seed gone
