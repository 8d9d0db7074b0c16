"""`shelf base-image ...`, `shelf build-server ...` and `shelf image capture` against a live server, without a guest:
the host's memory budget is set to nothing, so a launch fails at once with its reason (the VM test boots one)."""

from __future__ import annotations

import pytest

from shelf.accounts.services import token_create
from shelf.compute.models import Instance
from shelf.images.models import Image
from tests.cli.conftest import shelf_cli  # noqa: F401 - the fixture
from tests.compute.conftest import KEY, available_image
from tests.compute.test_capture import staff  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db(transaction=True)


def flat(text: str) -> str:
    return " ".join(text.split())


def test_commands(staff, olivia, alice, bob, settings, tmp_path, shelf_cli):  # noqa: F811
    settings.SHELF_COMPUTE_MEMORY_MIB = 0
    image = available_image(staff.organizations.first())
    operator, provider, other = (token_create(user=u, name="cli")[1] for u in (olivia, alice, bob))
    assert str(image.pk) not in shelf_cli("base-image", "list", token=provider).stdout
    refused = shelf_cli("base-image", "publish", str(image.pk), token=provider)
    assert refused.returncode == 1 and "not_found" in refused.stderr
    done = shelf_cli("base-image", "publish", str(image.pk), token=operator)
    assert done.returncode == 0 and "published" in done.stdout, done.stderr
    assert str(image.pk) in shelf_cli("base-image", "list", token=provider).stdout

    key = tmp_path / "id.pub"
    key.write_text(KEY + "\n")
    bad = tmp_path / "bad.pub"
    bad.write_text("not a key\n")
    wrong = shelf_cli("build-server", "launch", str(image.pk), "--name", "b", "--ssh-key", str(bad), token=provider)
    assert wrong.returncode == 1 and "ssh_public_key" in wrong.stderr and not Instance.objects.exists()
    launched = shelf_cli(
        "build-server", "launch", str(image.pk), "--name", "cli-build", "--ssh-key", str(key), "--memory", "128",
        "--wait", token=provider,
    )  # fmt: skip
    server = Instance.objects.get(name="cli-build")
    assert launched.returncode == 1 and server.state == "failed"  # no room on the host: failed with the reason
    assert "no room for 128 MiB" in flat(launched.stdout)
    listed = shelf_cli("build-server", "list", token=provider)
    assert str(server.pk) in listed.stdout and "failed" in listed.stdout
    assert str(server.pk) not in shelf_cli("build-server", "list", token=other).stdout
    shown = shelf_cli("build-server", "show", str(server.pk), token=provider)
    assert f"base image: {image.pk}" in shown.stdout

    not_stopped = shelf_cli("image", "capture", str(server.pk), "--name", "Mine", token=provider)
    assert not_stopped.returncode == 1 and "not_stopped" in not_stopped.stderr
    theirs = shelf_cli("image", "capture", str(server.pk), "--name", "Theirs", token=other)
    assert theirs.returncode == 1 and "not_found" in theirs.stderr
    assert not Image.objects.filter(captured_from=str(server.pk)).exists()

    withdrawn = shelf_cli("base-image", "unpublish", str(image.pk), token=operator)
    assert withdrawn.returncode == 0 and "withdrawn" in withdrawn.stdout
    assert str(image.pk) not in shelf_cli("base-image", "list", token=provider).stdout
