"""A buyer's instance page in real chromium, under the Content-Security-Policy, with a real guest behind it: the
console follows the guest's output, the state refreshes by itself, the power buttons ask first."""

import pytest
from playwright.sync_api import expect

from shelf.compute import tasks
from shelf.compute.bootimage import BOOT_MARK, SEED_MARK
from shelf.compute.models import Instance
from shelf.compute.services import instance_start
from tests.compute.conftest import boot_image, create, vm  # noqa: F401 - fixtures
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="session")
def accel_decision():
    return {"accel": "tcg", "reason": "browser tests run guests under TCG"}


def test_instance_page_follows_the_guest(live_server, page, vm, bruce):  # noqa: F811
    instance = create(bruce, vm, name="web-shop", hostname="web-shop")  # committed: launched to running at once
    assert Instance.objects.get(pk=instance.pk).state == "running"
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "bruce")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.goto(f"{live_server.url}/instances/{instance.pk}/")
    console = page.locator("#console")
    expect(console).to_contain_text(f"{BOOT_MARK} ready", timeout=90_000)  # appended by instances.js as it comes
    expect(console).to_contain_text(f"{SEED_MARK} hostname=web-shop")
    assert "ssh -p" in page.locator("#ssh-command").inner_text()

    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.click("button:has-text('Stop')")  # the job runs as the request commits
    assert asked and asked[0].startswith("Stop this instance?")
    expect(page.locator("[data-field=state]")).to_have_text("stopped", timeout=60_000)

    # A change made elsewhere (the CLI, another tab) shows up by polling.
    tasks.run_start(instance_start(actor=bruce, instance=Instance.objects.get(pk=instance.pk)))
    expect(page.locator("[data-field=state]")).to_have_text("running", timeout=20_000)

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button.danger")
    expect(page.locator("[data-field=state]")).to_have_text("terminated", timeout=60_000)
    assert Instance.objects.get(pk=instance.pk).state == "terminated"
