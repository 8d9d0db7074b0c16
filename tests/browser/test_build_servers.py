"""The base image and build server pages in real chromium, under the Content-Security-Policy, with a real guest:
olivia publishes the boot image, alice launches a build server from it, stops it (asked first), captures it (asked
first) and lands on the new image's page. Screenshots go to the test's tmp directory."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from shelf.compute.models import Instance
from shelf.compute.services import instance_terminate
from shelf.images.models import Image
from tests.compute.conftest import KEY, available_image, boot_image, vm  # noqa: F401 - fixtures
from tests.compute.test_capture import staff  # noqa: F401 - the fixture
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="session")
def accel_decision():
    return {"accel": "tcg", "reason": "browser tests run guests under TCG"}


def login(page, url, username):  # noqa: F811
    page.goto(f"{url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")


def test_publish_launch_stop_capture(live_server, browser, vm, boot_image, staff, olivia, alice, tmp_path):  # noqa: F811
    from shelf.scanning.models import ScanPolicy

    policy = ScanPolicy.current()
    policy.require_vulndb = False
    policy.save()
    base = available_image(staff.organizations.first(), boot_image.disk)
    Image.objects.filter(pk=base.pk).update(name="Debian 12 boot test", os_hint="Debian 12")

    operator = browser.new_context(locale="en-US").new_page()
    login(operator, live_server.url, "olivia")
    operator.goto(f"{live_server.url}/operator/base-images/")
    operator.once("dialog", lambda dialog: dialog.accept())
    operator.click("button:has-text('Publish')")
    expect(operator.locator("td strong")).to_have_text("Published")
    operator.screenshot(path=str(tmp_path / "operator-base-images.png"), full_page=True)
    assert Image.objects.get(pk=base.pk).is_base

    provider = browser.new_context(locale="en-US").new_page()
    provider.set_default_timeout(120_000)  # each POST below waits for its job on a loaded host
    login(provider, live_server.url, "alice")
    provider.goto(f"{live_server.url}/provider/build-servers/")
    provider.click("a:has-text('Launch build server')")
    provider.fill("#id_name", "web build")
    provider.fill("#id_ssh_public_key", KEY)
    provider.fill("#id_memory_mib", "128")
    provider.click("button:has-text('Launch')")  # the launch job runs as the request commits: the guest boots
    expect(provider.locator("[data-field=state]")).to_have_text("running", timeout=180_000)
    server = Instance.objects.get(name="web build")
    try:
        asked = []
        provider.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
        provider.click("button:has-text('Stop')")
        assert asked and asked[0].startswith("Stop this instance?")
        expect(provider.locator("[data-field=state]")).to_have_text("stopped", timeout=120_000)
        provider.screenshot(path=str(tmp_path / "build-server-stopped.png"), full_page=True)
        provider.fill("#capture #id_name", "Web stack")
        provider.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
        provider.click("button:has-text('Capture image')")
        assert asked[-1] == "Capture this build server as a new custom image?"
        # the request returns once the immediate task back end has copied, validated and scanned it
        expect(provider.locator("h1")).to_contain_text("Web stack", timeout=300_000)
        provider.screenshot(path=str(tmp_path / "captured-image.png"), full_page=True)
        image = Image.objects.get(captured_from=str(server.pk))
        assert image.status == Image.Status.AVAILABLE, image.failure_reason
        provider.goto(f"{live_server.url}/provider/build-servers/{server.pk}/")
        expect(provider.locator("#capture")).to_contain_text("Web stack")
    finally:
        instance_terminate(actor=alice, instance=Instance.objects.get(pk=server.pk))
        operator.context.close()
        provider.context.close()
    print(f"\nscreenshots in {tmp_path}")
