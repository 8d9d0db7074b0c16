"""Role separation: each role reaches only its own console and API; wrong roles get 404, anonymous a login."""

import pytest

PROVIDER_PAGES = ["/provider/", "/provider/agreements/", "/provider/agreements/new/"]
OPERATOR_PAGES = [
    "/operator/",
    "/operator/regions/",
    "/operator/categories/",
    "/operator/agreements/",
    "/operator/regions/new/",
]
BUYER_PAGES = ["/buyer/"]


@pytest.mark.parametrize("path", PROVIDER_PAGES + OPERATOR_PAGES + BUYER_PAGES)
def test_anonymous_is_sent_to_login(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    "who,allowed,forbidden",
    [
        ("alice", PROVIDER_PAGES, OPERATOR_PAGES + BUYER_PAGES),
        ("olivia", OPERATOR_PAGES, PROVIDER_PAGES + BUYER_PAGES),
        ("bruce", BUYER_PAGES, PROVIDER_PAGES + OPERATOR_PAGES),
    ],
)
def test_each_role_reaches_only_its_console(request, web, who, allowed, forbidden):
    client = web(request.getfixturevalue(who))
    for path in allowed:
        assert client.get(path).status_code == 200, path
    for path in forbidden:
        assert client.get(path).status_code == 404, path


@pytest.mark.parametrize("who,home", [("alice", "/provider/"), ("olivia", "/operator/"), ("bruce", "/buyer/")])
def test_console_sends_each_role_home_and_nav_shows_only_own_pages(request, web, who, home):
    client = web(request.getfixturevalue(who))
    # `/` is the storefront for everyone; `/console/` (where signing in lands) sends each role to its own place.
    assert client.get("/").status_code == 200
    response = client.get("/console/")
    assert response.status_code == 302 and response["Location"] == ("/" if who == "bruce" else home)
    page = client.get(home).content.decode()
    for other in {"/provider/", "/operator/", "/buyer/"} - {home}:
        assert f'href="{other}"' not in page


def test_buyer_cannot_use_provider_or_operator_api(api, bruce):
    client = api(bruce)
    response = client.post("agreements", json={"title": "Mine", "body": "text"})
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_operator_only_django_admin_for_reference_data(web, olivia, alice):
    assert web(olivia).get("/admin/catalog/region/").status_code == 200
    assert web(alice).get("/admin/").status_code == 302  # not staff: the admin sends to its login
