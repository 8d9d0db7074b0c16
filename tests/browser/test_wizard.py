"""alice creates a product through every wizard step in real chromium, as the issue's 'done when' describes."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from shelf.accounts.models import User
from shelf.products.models import Revision
from shelf.scanning.models import Scan
from tests.products.conftest import PDF_BYTES, make_image, png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_wizard_end_to_end(live_server, page, tmp_path):
    call_command("demo_data", verbosity=0)
    alice = User.objects.get(username="alice")
    image = make_image(alice.organizations.get(), scan_verdict=None)
    picture, document = tmp_path / "shot.png", tmp_path / "guide.pdf"
    picture.write_bytes(png_bytes())
    document.write_bytes(PDF_BYTES)

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "shelf-demo")
    page.click("button[type=submit].primary")
    page.click("nav >> text=Products")
    page.click("text=New product")
    page.check("input[name=access_type][value=image]")
    page.click("text=Next step")
    page.check("input[name=category][value=database-relational]")
    page.click("text=Next step")
    page.fill("#id_name", "MySQL 8 一键部署")
    for tag in ("database", "mysql"):
        page.locator(".tag-entry").first.fill(tag)
        page.locator(".tag-entry").first.press("Enter")
    expect(page.locator(".tag-box").first.locator(".tag")).to_have_count(2)
    page.click("text=Save draft")
    expect(page.locator(".messages")).to_contain_text("Draft saved")
    expect(page.locator(".rules")).to_contain_text("Image version is required")

    # Leave at step 3, come back from the product list: it continues there.
    page.click("nav >> text=Products")
    page.click("text=Continue editing")
    expect(page.locator("h2")).to_have_text("Basic info")
    expect(page.locator(".tag-box").first.locator(".tag")).to_have_count(2)
    # Back to the category: nothing is lost.
    page.click("text=Previous step")
    expect(page.locator("input[name=category][value=database-relational]")).to_be_checked()
    page.click("text=Next step")
    expect(page.locator("#id_name")).to_have_value("MySQL 8 一键部署")
    page.locator(".tag-entry").nth(1).fill("MySQL 8.0")
    page.locator(".tag-entry").nth(1).press("Enter")
    page.fill("#id_version", "v1.0")
    page.locator("input[name=agreement]").first.check()
    page.click("text=Next step")
    page.select_option(f"select[name=delivery-{image.region.code}]", str(image.pk))
    page.click("text=Next step")
    expect(page.locator(".step-security")).to_contain_text("not scanned yet")
    page.click("text=Next step")
    page.check("input[name=billing_mode][value=prepaid]")
    page.fill("#id_price_monthly", "59.00")
    page.click("text=Next step")
    page.set_input_files("#pictures input[type=file]", str(picture))
    page.click("text=Upload picture")
    expect(page.locator(".pictures img")).to_have_count(1)
    page.set_input_files("#document input[type=file]", str(document))
    page.click("text=Upload document")
    expect(page.locator("#document")).to_contain_text("guide.pdf")
    page.fill("#id_summary", "MySQL 8 ready in one click.")
    page.fill("#id_details", "## Features\n\nTuned MySQL 8.\n\n## Support\n\n7x8, support@example.com")
    page.click("text=Next step")

    # Submit is refused while the image has no passed scan, with the reason.
    page.click("text=Submit for review")
    expect(page.locator(".banner.error")).to_contain_text("has not been scanned yet")
    Scan.objects.create(image=image, status="done", verdict="passed")
    product_id = Revision.objects.get(name="MySQL 8 一键部署").product_id
    page.goto(f"{live_server.url}/provider/products/{product_id}/edit/review/")
    page.click("text=Submit for review")
    expect(page.locator(".messages")).to_contain_text("Submitted for review")
    assert Revision.objects.get(name="MySQL 8 一键部署").status == "in_review"

    page.click("text=Preview")
    expect(page.locator("h1").last).to_have_text("MySQL 8 一键部署")
    expect(page.locator(".price")).to_contain_text("CNY 59.00 / month")
    page.goto(f"{live_server.url}/provider/products/")
    page.click("text=Withdraw from review")
    expect(page.locator(".messages")).to_contain_text("Withdrawn")
    page.click("text=Continue editing")
    assert Revision.objects.get(name="MySQL 8 一键部署").status == "draft"
