"""`shelf instance ...` against a live server and a real guest: the jobs run where they are enqueued (the test
settings' immediate back end), so each command returns once the back end is done."""

import time

import pytest

from shelf.accounts.services import token_create
from shelf.compute.bootimage import BOOT_MARK, SEED_MARK
from shelf.compute.models import Instance
from tests.cli.conftest import shelf_cli  # noqa: F401 - the fixture
from tests.compute.conftest import create

pytestmark = pytest.mark.django_db(transaction=True)


def flat(text: str) -> str:
    return " ".join(text.split())


def test_instance_commands(vm, bruce, shelf_cli):  # noqa: F811
    token = token_create(user=bruce, name="cli")[1]
    instance = create(bruce, vm, name="cli-box", hostname="cli-box")  # committed: launched at once, to running
    assert Instance.objects.get(pk=instance.pk).state == "running"

    listed = shelf_cli("instance", "list", token=token)
    assert listed.returncode == 0, listed.stderr
    assert str(instance.pk) in listed.stdout and "running" in listed.stdout
    shown = shelf_cli("instance", "show", str(instance.pk), token=token)
    assert "state: running" in flat(shown.stdout) and "SSH (if the image runs sshd): ssh -p " in flat(shown.stdout)

    deadline = time.monotonic() + 90
    while True:
        console = shelf_cli("instance", "console", str(instance.pk), token=token)
        if f"{BOOT_MARK} ready" in console.stdout or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert f"{SEED_MARK} hostname=cli-box" in console.stdout

    stopped = shelf_cli("instance", "stop", str(instance.pk), "--wait", token=token)
    assert stopped.returncode == 0 and "state: stopped" in flat(stopped.stdout), stopped.stdout + stopped.stderr
    again = shelf_cli("instance", "stop", str(instance.pk), token=token)
    assert again.returncode == 1 and "invalid_state" in again.stderr
    refused = shelf_cli("instance", "terminate", str(instance.pk), token=token, input="n\n")
    assert refused.returncode != 0 and Instance.objects.get(pk=instance.pk).state == "stopped"
    gone = shelf_cli("instance", "terminate", str(instance.pk), "--yes", "--wait", token=token)
    assert gone.returncode == 0 and "state: terminated" in flat(gone.stdout)
    assert shelf_cli("instance", "show", "00000000-0000-0000-0000-000000000000", token=token).returncode == 1
