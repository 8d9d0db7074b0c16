"""The storefront as buyers use it, through HTTP: find a product, read its page, download what it offers.

Products are listed through the real services (tests/storefront/conftest.py); the verified-by-scan panel reads a
scan the real engine made of a real disk image.
"""

import re

import pytest
from django.test import Client
from django.utils.timezone import localtime

from shelf.console.demo.product import demo_tree, disk_image
from shelf.images.builders import tools_missing, write
from shelf.scanning.models import Scan
from shelf.scanning.services import scan_record
from shelf.storefront.cache import CSRF_PLACEHOLDER
from tests.conftest import web_client
from tests.s3 import downloaded

NAME = "LNMP Web Stack 建站镜像（Debian 12）"
SUMMARY = "一键建站的 LNMP 镜像：Debian 12 预装 Nginx、MariaDB 与 PHP 8.2。"
SECRET_LINE = "mysql -uroot -pHunter2Secret wordpress"


@pytest.fixture
def lnmp(make_listed):
    return make_listed(
        name=NAME,
        summary=SUMMARY,
        tags=["LNMP", "建站"],
        software=["Nginx 1.22", "MariaDB 10.11", "PHP 8.2"],
        category="website-cms",
        price_monthly="59.00",
        price_yearly="599.00",
        regions=("ap-guangzhou", "ap-shanghai"),
    )


@pytest.fixture
def other(make_listed, bob):
    return make_listed(
        organization=bob.organizations.get(),
        name="Redis 缓存数据库",
        summary="In-memory cache, ready to use.",
        tags=["cache"],
        software=["Redis 7"],
        category="database-nosql",
        billing_mode="postpaid",
        price_hourly="0.50",
    )


@pytest.fixture(scope="module")
def scanned_result(tmp_path_factory):
    """The real engine's result for the demo image with a shell history holding a password (a finding with
    evidence: its path and the masked line), so the tests can see none of it reaches the public page."""
    if missing := tools_missing():
        pytest.skip(f"image tools missing: {', '.join(missing)} (make system-deps installs them)")
    from shelf.scanning.engine import scan_image

    root = tmp_path_factory.mktemp("lnmp")
    tree = demo_tree(root / "tree")
    write(tree, "root/.bash_history", f"ls\n{SECRET_LINE}\n")
    result = scan_image(disk_image(root, tree), "qcow2")
    assert result.findings, "the planted history must be found"
    return result


def record_scan(revision, result) -> Scan:
    """What the scanner process hands back, recorded by the real service for every image the revision delivers."""
    scan = None
    for delivery in revision.deliveries.all():
        scan = Scan.objects.create(image=delivery.image, status=Scan.Status.RUNNING)
        scan = scan_record(scan=scan, result=result.to_dict(), sbom=result.sbom())
    return scan


def client_for(request, who) -> Client:
    return Client() if who == "anonymous" else web_client(request.getfixturevalue(who))


def names_on(html: str) -> list[str]:
    return re.findall(r'<span class="card-name">([^<]*)</span>', html)


@pytest.mark.parametrize("who", ["anonymous", "bruce"])
def test_buyers_find_the_product_by_a_chinese_word_an_english_word_and_its_category(request, who, lnmp, other):
    client = client_for(request, who)
    for query in ("建站", "镜像", "stack", "LNMP", "web"):
        response = client.get("/products/", {"q": query})
        assert response.status_code == 200
        assert names_on(response.content.decode()) == [NAME], query
    # A category includes its subcategories; another category shows the other product only.
    assert names_on(client.get("/products/", {"category": "website"}).content.decode()) == [NAME]
    assert names_on(client.get("/products/", {"category": "website-cms"}).content.decode()) == [NAME]
    assert names_on(client.get("/products/", {"category": "database"}).content.decode()) == ["Redis 缓存数据库"]
    # Billing mode, region and price filters narrow the same list.
    assert names_on(client.get("/products/", {"billing_mode": "postpaid"}).content.decode()) == ["Redis 缓存数据库"]
    assert names_on(client.get("/products/", {"region": "ap-shanghai"}).content.decode()) == [NAME]
    assert names_on(client.get("/products/", {"price_max": "100"}).content.decode()) == [NAME]  # Redis: 360 / month
    # The product page's tag and software links filter exactly, and the filter can be taken off again.
    by_tag = client.get("/products/", {"tag": "建站"}).content.decode()
    assert names_on(by_tag) == [NAME] and '<a href="/products/" class="chip"' in by_tag
    assert names_on(client.get("/products/", {"software": "Redis 7"}).content.decode()) == ["Redis 缓存数据库"]
    everything = client.get("/products/", {"sort": "price_asc"}).content.decode()
    assert names_on(everything) == [NAME, "Redis 缓存数据库"]
    # Facet counts under the same filters, each a link that applies it.
    assert (
        '<a href="/products/?category=website&amp;sort=price_asc">Website builders</a> <span class="count">1</span>'
        in everything
    )
    assert '<a href="/products/?category=database&amp;sort=price_asc">Databases</a> <span class="count">1</span>' in (
        everything
    )


def test_home_page_shows_search_categories_and_newest(client, lnmp):
    html = client.get("/").content.decode()
    assert 'action="/products/"' in html and 'name="q"' in html
    assert "Website builders" in html and 'href="/products/?category=website-cms"' in html
    assert names_on(html) == [NAME]
    assert "Featured" not in html  # nothing curates products yet; the page does not pretend


def test_search_finds_nothing_for_an_unknown_word_and_bad_input_is_explained(client, lnmp):
    response = client.get("/products/", {"q": "kubernetes"})
    assert response.status_code == 200 and names_on(response.content.decode()) == []
    assert "No product matches." in response.content.decode()
    response = client.get("/products/", {"price_min": "cheap", "sort": "random"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Sort by one of" in html and 'class="errors"' in html


@pytest.mark.parametrize("start", ["/products/", "/products/?sort=newest", "/products/?sort=price_desc"])
def test_cursor_pages_walk_the_whole_list(client, make_listed, start):
    for n in range(23):
        make_listed(name=f"Image {n:02d}", category="os-linux", price_monthly=f"{10 + n % 4}.00")
    seen, url = [], start
    while url:
        html = client.get(url).content.decode()
        seen += names_on(html)
        match = re.search(r'<a href="([^"]+)" class="button" rel="next">', html)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert sorted(seen) == [f"Image {n:02d}" for n in range(23)] and len(seen) == 23
    assert "23 products" in client.get("/products/").content.decode()


def test_product_page_answers_what_and_how_much_and_shows_the_verified_panel(client, lnmp, scanned_result):
    scan = record_scan(lnmp, scanned_result)
    product_id = lnmp.product_id
    response = client.get(f"/products/{product_id}/")
    assert response.status_code == 200
    html = response.content.decode()
    above_fold = html[: html.index('id="verified"')]
    assert NAME in above_fold and SUMMARY in above_fold
    assert "CNY 59.00" in above_fold and "/ month" in above_fold and "CNY 599.00" in above_fold
    # The cheapest server size on sale in its regions (the seeded S5.SMALL1), and the way to buy both.
    assert "Image price + server from CNY" in above_fold and "/ month (S5.SMALL1)" in above_fold
    assert f'href="/buy/{product_id}/"' in above_fold
    assert "South China (Guangzhou)" in above_fold and "East China (Shanghai)" in above_fold
    assert "Debian GNU/Linux 12 (bookworm)" in above_fold
    assert f'href="/products/{product_id}/document/"' in above_fold
    assert (
        'href="/products/?tag=%E5%BB%BA%E7%AB%99"' in above_fold
        and 'href="/products/?software=PHP%208.2"' in above_fold
    )
    assert "Alice Images" in above_fold and "v1.0" in above_fold
    # The verified panel: the OS, claimed software next to installed packages, the scan's date and verdict, SBOM.
    panel = html[html.index('id="verified"') : html.index("</section>", html.index('id="verified"'))]
    for package, version in (
        ("nginx", "1.22.1-9+deb12u1"),
        ("mariadb-server", "1:10.11.6-0+deb12u1"),
        ("php8.2-fpm", "8.2.26-1~deb12u1"),
    ):
        assert f"<code>{package}</code>" in panel and f"<code>{version}</code>" in panel
    assert "Debian GNU/Linux 12 (bookworm)" in panel
    assert scan.verdict == "failed" and f"{localtime(scan.finished_at):%Y-%m-%d}" in panel and "failed" in panel
    assert f'href="/products/{product_id}/sbom/ap-guangzhou/"' in panel
    # Nothing that helps an attacker: no finding, its evidence, paths or fix.
    for finding in scan.findings.all():
        assert finding.title not in html
        for evidence in finding.evidence:
            assert evidence["path"] not in html
            if evidence.get("text"):
                assert evidence["text"] not in html
    assert ".bash_history" not in html and "Hunter2" not in html and "/scans/" not in html


def test_public_downloads_of_a_listed_product(client, lnmp, scanned_result):
    record_scan(lnmp, scanned_result)
    product_id = lnmp.product_id
    status, body, headers = downloaded(client.get(f"/products/{product_id}/document/"))
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    assert body.startswith(b"%PDF")
    assert 'attachment; filename="guide.pdf"' == headers["Content-Disposition"]
    picture = lnmp.pictures.get()
    status, _body, headers = downloaded(client.get(f"/products/{product_id}/pictures/{picture.pk}/"))
    assert status == 200 and headers["Content-Type"] == "image/png"
    sbom = client.get(f"/products/{product_id}/sbom/ap-shanghai/")
    assert sbom.status_code == 200 and sbom.json()["bomFormat"] == "CycloneDX"
    names = {c["name"] for c in sbom.json()["components"]}
    assert {"nginx", "mariadb-server", "php8.2-fpm"} <= names
    assert "bash_history" not in sbom.content.decode()
    assert client.get(f"/products/{product_id}/sbom/ap-beijing/").status_code == 404  # not delivered there
    # Another product's picture through this product's URL is not there.
    assert client.get(f"/products/{product_id}/pictures/{picture.pk + 1000}/").status_code == 404


@pytest.mark.parametrize("status", ["draft", "in_review", "rejected", "delisted"])
def test_a_product_not_listed_is_404_for_everyone_but_its_previewers(request, make_listed, status, bruce, bob, olivia):
    revision = make_listed(name="Hidden 隐藏商品", status=status)
    product_id = revision.product_id
    picture = revision.pictures.get()
    urls = [
        f"/products/{product_id}/",
        f"/products/{product_id}/document/",
        f"/products/{product_id}/pictures/{picture.pk}/",
        f"/products/{product_id}/sbom/ap-guangzhou/",
    ]
    for client in (Client(), web_client(bruce), web_client(bob)):
        for url in urls:
            response = client.get(url)
            assert response.status_code == 404, (url, status)
            assert b"Hidden" not in response.content and b"preview" not in response.content
        assert names_on(client.get("/products/", {"q": "Hidden"}).content.decode()) == []
        assert names_on(client.get("/products/").content.decode()) == []
        assert b"Hidden" not in client.get("/").content
    # Its organisation and operators get the same 404, with a way to their console preview.
    own = web_client(request.getfixturevalue("alice")).get(urls[0])
    assert own.status_code == 404 and f'href="/provider/products/{product_id}/preview/"' in own.content.decode()
    operator = web_client(olivia).get(urls[0])
    assert operator.status_code == 404 and 'href="/operator/reviews/' in operator.content.decode()


def test_header_links_each_role_to_its_console_and_buyers_to_their_orders_and_instances(request, lnmp, olivia):
    anonymous = Client().get("/").content.decode()
    assert 'href="/accounts/login/"' in anonymous and "console" not in anonymous.lower().split("<main>")[0]
    provider = web_client(request.getfixturevalue("alice")).get("/").content.decode()
    assert 'href="/provider/" class="console-link">Provider console' in provider
    operator = web_client(olivia).get(f"/products/{lnmp.product_id}/").content.decode()
    assert 'href="/operator/" class="console-link">Operator console' in operator
    buyer = web_client(request.getfixturevalue("bruce")).get("/").content.decode()
    header = buyer.split("<main>")[0]
    assert "console-link" not in header and "bruce" in header
    assert 'href="/buyer/orders/">My orders' in header and 'href="/instances/">My instances' in header
    assert "My orders" not in anonymous and "My orders" not in provider


def test_signing_in_takes_buyers_to_the_storefront_and_the_others_to_their_console(request, client):
    from tests.conftest import PASSWORD

    for who, home in (("bruce", "/"), ("alice", "/provider/"), ("olivia", "/operator/")):
        request.getfixturevalue(who)
        client.logout()
        response = client.post("/accounts/login/", {"username": who, "password": PASSWORD}, follow=True)
        assert response.redirect_chain[-1][0] == home, who
    assert Client().get("/console/")["Location"].startswith("/accounts/login/")


def test_list_page_query_count_does_not_grow_with_results(client, make_listed, django_assert_num_queries):
    from django.db import connection

    # A search with words reads its page tier by tier (selectors._page): here every match is in the first tier and
    # the page is not full, so the two others are read too (a query each; on SQLite each tier's ids first, one
    # query, and a page only for a tier with matches); on PostgreSQL it also sets its plan setting (and, inside
    # the test's transaction, puts it back).
    with_words = LIST_QUERIES + (4 if connection.vendor == "postgresql" else 3)
    for n in range(3):
        make_listed(name=f"Image {n}", category="os-linux")
    with django_assert_num_queries(with_words):
        assert client.get("/products/", {"q": "image"}).status_code == 200
    with django_assert_num_queries(LIST_QUERIES):
        assert client.get("/products/", {"category": "os"}).status_code == 200
    for n in range(3, 10):
        make_listed(name=f"Image {n}", category="os-linux")
    with django_assert_num_queries(with_words):
        assert client.get("/products/", {"q": "image"}).status_code == 200


def test_product_page_query_count(client, lnmp, scanned_result, django_assert_num_queries, bruce):
    record_scan(lnmp, scanned_result)
    url = f"/products/{lnmp.product_id}/"
    with django_assert_num_queries(PRODUCT_QUERIES):
        first = client.get(url)
    # The body again, of the same catalog and pages version: from the cache, after reading the versions only.
    with django_assert_num_queries(1):
        again = client.get(url)
    body = first.content.decode().split("<main>")[1]
    assert first.status_code == again.status_code == 200 and again.content.decode().split("<main>")[1] == body
    # A signed-in buyer shares the cached body; his header (session, user, unread notifications) is his own.
    signed_in = web_client(bruce)
    from django.conf import settings

    # With REDIS_URL the session is read from the cache (cached_db), not from its table: one query fewer.
    with django_assert_num_queries(3 if settings.SESSION_ENGINE.endswith("cached_db") else 4):
        html = signed_in.get(url).content.decode()
    assert "bruce" in html.split("<main>")[0] and "bruce" not in first.content.decode()
    assert html.split("<main>")[1] == body


def test_a_visitors_cached_product_page_carries_a_working_csrf_token_of_its_own(lnmp):
    url = f"/products/{lnmp.product_id}/"
    visitors, tokens = [Client(enforce_csrf_checks=True) for _ in range(2)], []
    for visitor in visitors:
        for _ in range(2):  # the second answer is the cached page
            html = visitor.get(url).content.decode()
        assert CSRF_PLACEHOLDER not in html
        tokens.append(re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1))
    assert tokens[0] != tokens[1]
    # Each visitor's token works with his own cookie: the language switch in the header.
    for visitor, token in zip(visitors, tokens, strict=True):
        switched = visitor.post("/i18n/setlang/", {"language": "zh-hans", "next": url, "csrfmiddlewaretoken": token})
        assert switched.status_code == 302
    assert '<html lang="zh-hans">' in visitors[0].get(url).content.decode()


def test_the_cached_product_page_follows_what_it_shows(client, lnmp, scanned_result):
    """What a product page shows beside its catalog entry (scans, server sizes on sale) shows at once."""
    from shelf.orders.models import InstanceOffer

    url = f"/products/{lnmp.product_id}/"
    assert "Debian GNU/Linux 12 (bookworm)" not in client.get(url).content.decode()
    record_scan(lnmp, scanned_result)
    assert "Debian GNU/Linux 12 (bookworm)" in client.get(url).content.decode()
    for offer in InstanceOffer.objects.filter(on_sale=True):
        offer.on_sale = False
        offer.save()
    assert "No server size is on sale in this product's regions yet." in client.get(url).content.decode()


# Anonymous requests (no session): the list reads the category tree (2), the regions (1) and one search (the
# reference data, the page, the catalog version and the facets with the count: 4); the product page reads the listed revision with its pictures and deliveries (3) and
# the latest finished scans of its images (1), the regions it is sold in and the server sizes on sale there (2);
# the product page reads the catalog and pages versions first (1), and nothing else when its body is cached.
LIST_QUERIES = 7
PRODUCT_QUERIES = 7


def test_the_badge_above_the_fold_speaks_for_every_image(client, lnmp, scanned_result):
    html = client.get(f"/products/{lnmp.product_id}/").content.decode()
    assert re.search(
        r'class="verified-badge verdict-passed"><a href="#verified">Verified by scan on [\d-]+: passed', html
    )
    # A later scan of the Shanghai image fails (new vulnerability data, say): the badge says so, not the other image.
    shanghai = lnmp.deliveries.get(region__code="ap-shanghai").image
    scan = scan_record(
        scan=Scan.objects.create(image=shanghai, status=Scan.Status.RUNNING),
        result=scanned_result.to_dict(),
        sbom=scanned_result.sbom(),
    )
    assert scan.verdict == "failed"
    html = client.get(f"/products/{lnmp.product_id}/").content.decode()
    assert (
        f'verdict-failed"><a href="#verified">Verified by scan on {localtime(scan.finished_at):%Y-%m-%d}: failed'
        in html
    )


def test_home_page_query_count(client, make_listed, django_assert_num_queries):
    make_listed(name="Image A", category="os-linux")
    # The category tree (2), the featured products (1) and the newest ones (1): no facets, no count.
    with django_assert_num_queries(4):
        assert client.get("/").status_code == 200
    make_listed(name="Image B", category="website-cms")
    with django_assert_num_queries(4):
        assert client.get("/").status_code == 200
