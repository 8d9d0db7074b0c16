"""The provider sees why his image's boot check failed and runs it again from the image page, in chromium."""

import pytest
from playwright.sync_api import expect

from shelf.compute.models import BootCheck
from shelf.compute.selectors import latest_boot_check
from tests.conftest import PASSWORD
from tests.products.conftest import make_image

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_provider_reruns_a_failed_boot_check(live_server, page, alice, settings, tmp_path):
    # The new check's job is kept, not run: this test is about the page (tests/compute boots real guests).
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}
    image = make_image(alice.organizations.get(), boot_check=BootCheck.Status.FAILED)
    BootCheck.objects.filter(image=image).update(
        reason="The guest printed nothing on its serial console within 120 seconds."
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.goto(f"{live_server.url}/provider/images/{image.pk}/")
    panel = page.locator("#boot-check")
    expect(panel).to_contain_text("printed nothing on its serial console")
    panel.screenshot(path=str(tmp_path / "boot-check-failed.png"))
    page.click("text=Run the boot check again")
    expect(page.locator("body")).to_contain_text("Boot check queued.")
    expect(page.locator("#boot-check [data-boot-check]")).to_have_attribute("data-boot-check", "pending")
    expect(page.locator("text=Run the boot check again")).to_have_count(0)
    page.screenshot(path=str(tmp_path / "boot-check-queued.png"), full_page=True)
    assert latest_boot_check(image).attempt == 2
    print(f"\nscreenshots in {tmp_path}")
