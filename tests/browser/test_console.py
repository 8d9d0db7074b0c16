"""A person logging in through real chromium: each demo user sees its own console; the language switch works."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "shelf-demo")
    page.click("button[type=submit].primary")


@pytest.mark.parametrize(
    "username,heading,path",
    [
        ("alice", "Provider console", "/provider/"),
        ("bob", "Provider console", "/provider/"),
        ("olivia", "Operator console", "/operator/"),
        ("bruce", "Server images, ready to launch", "/"),
    ],
)
def test_demo_users_land_in_their_console(live_server, page, username, heading, path):
    call_command("demo_data", verbosity=0)
    log_in(page, live_server.url, username)
    page.wait_for_url(f"{live_server.url}{path}")
    assert page.locator("h1").inner_text() == heading
    # Another role's console is not there for them.
    other = "/operator/" if path != "/operator/" else "/provider/"
    response = page.goto(f"{live_server.url}{other}")
    assert response.status == 404


def test_language_switch_and_logout(live_server, page):
    call_command("demo_data", verbosity=0)
    log_in(page, live_server.url, "olivia")
    page.wait_for_url(f"{live_server.url}/operator/")
    page.select_option("select[name=language]", "zh-hans")
    expect(page.locator("h1")).to_have_text("运营控制台")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.select_option("select[name=language]", "en")
    expect(page.locator("h1")).to_have_text("Operator console")
    page.click("text=Log out")
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("text=Log in").first.is_visible()


def test_provider_creates_agreement_and_sees_errors_in_place(live_server, page):
    call_command("demo_data", verbosity=0)
    log_in(page, live_server.url, "alice")
    page.wait_for_url(f"{live_server.url}/provider/")
    page.click("nav >> text=Agreements")
    page.click("text=New agreement")
    page.fill("#id_title", "x" * 130)
    page.click("button[type=submit].primary")
    assert "at most 120 characters" in page.locator(".field.invalid").first.inner_text()
    assert page.locator("#id_title").input_value() == "x" * 130  # nothing typed is lost
    page.fill("#id_title", "Alice support terms")
    page.fill("#id_body", "We answer within one business day, 7x8.")
    page.click("button[type=submit].primary")
    assert page.locator("h1").inner_text() == "Alice support terms"
    assert "agreement.create" in page.locator(".audit").inner_text()


def test_api_docs_render_under_the_content_security_policy(live_server, page):
    """Swagger UI is served from static files; the page fixture fails on any policy refusal."""
    response = page.goto(f"{live_server.url}/api/v1/docs")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_be_visible()


def test_delete_asks_first_through_the_static_script(live_server, page):
    """The confirmation was an inline onsubmit handler, which the policy blocks; shelf.js asks instead."""
    from shelf.accounts.models import Organization
    from shelf.images.models import Image
    from tests.products.conftest import make_image

    call_command("demo_data", verbosity=0)
    image = make_image(Organization.objects.get(members__username="alice"), name="to keep")
    log_in(page, live_server.url, "alice")
    page.wait_for_url(f"{live_server.url}/provider/")
    page.goto(f"{live_server.url}/provider/images/{image.pk}/")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("button.danger")
    assert asked == ["Delete this image and its data?"]
    assert Image.objects.filter(pk=image.pk).exists()  # dismissed: nothing deleted
