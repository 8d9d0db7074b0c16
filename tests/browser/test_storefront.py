"""A visitor in real chromium: the storefront's front page, a search for 建站, the product page; screenshots at a
desktop and a phone width go to /tmp/shots/ (looked at by a person, not compared). The page fixture fails any
Content-Security-Policy violation."""

from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from shelf.console.demo.product import DEMO_NAME

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path("/tmp/shots")


@pytest.mark.parametrize("width,height", [(1280, 900), (390, 844)])
def test_visitor_searches_and_opens_the_product(live_server, page, width, height):
    call_command("demo_data", verbosity=0)
    SHOTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server.url}/")
    expect(page.locator("h1")).to_have_text("Server images, ready to launch")
    expect(page.locator(".category-tile").first).to_be_visible()
    # The LNMP stack is featured, and both demo products are new on Shelf; the search below finds only the one
    # whose text says 建站.
    expect(page.locator("#featured .card-name")).to_have_text([DEMO_NAME])
    expect(page.locator(".product-card .card-name", has_text=DEMO_NAME)).to_have_count(2)
    expect(page.locator(".product-card .card-name")).to_have_count(3)
    page.screenshot(path=SHOTS / f"home-{width}.png", full_page=True)

    page.fill(".store-hero input[name=q]", "建站")
    page.press(".store-hero input[name=q]", "Enter")
    page.wait_for_url("**/products/?q=*")
    expect(page.locator(".product-card .card-name")).to_have_text([DEMO_NAME])
    expect(page.locator(".result-count")).to_contain_text("1 product")
    page.screenshot(path=SHOTS / f"search-{width}.png", full_page=True)

    page.click(f"text={DEMO_NAME}")
    expect(page.locator("h1")).to_have_text(DEMO_NAME)
    # Above the fold: what it is and what it costs per month.
    price = page.locator(".price-main").first
    expect(price).to_contain_text("CNY 59.00")
    assert price.bounding_box()["y"] + price.bounding_box()["height"] <= height, "the price is below the fold"
    expect(page.locator(".buy-box")).to_contain_text("Debian GNU/Linux 12 (bookworm)")
    expect(page.locator("#verified")).to_contain_text("mariadb-server")
    # Every picture loaded (from the storefront's own URL: the policy allows nothing else). The load event comes
    # once every picture has arrived or failed: on a loaded machine that is after the text above is there.
    page.wait_for_load_state("load")
    assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    page.screenshot(path=SHOTS / f"product-{width}.png", full_page=True)
    page.screenshot(path=SHOTS / f"product-{width}-fold.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"

    # The same page in Chinese.
    page.select_option("select[name=language]", "zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#verified h2")).to_have_text("扫描验证")
    page.screenshot(path=SHOTS / f"product-zh-{width}.png", full_page=True)


@pytest.mark.parametrize("width", [1280, 390])
def test_provider_sees_the_storefront_with_a_way_back_to_the_console(live_server, page, width):
    from tests.browser.test_console import log_in

    call_command("demo_data", verbosity=0)
    page.set_viewport_size({"width": width, "height": 844})
    log_in(page, live_server.url, "alice")
    page.wait_for_url(f"{live_server.url}/provider/")
    page.click("a.brand")
    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator("#featured .card-name", has_text=DEMO_NAME)).to_be_visible()
    page.screenshot(path=SHOTS / f"home-alice-{width}.png")
    page.click("a.console-link")
    page.wait_for_url(f"{live_server.url}/provider/")
    expect(page.locator("h1")).to_have_text("Provider console")
    expect(page.locator("nav.mainnav a.to-store")).to_have_attribute("href", "/")
    page.screenshot(path=SHOTS / f"console-alice-{width}.png")
