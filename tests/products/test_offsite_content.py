"""Product details cannot make a reader's browser fetch from another site; every page carries the policy that enforces it."""

import pytest

from shelf.security import CONTENT_SECURITY_POLICY, content_security_policy

HOSTILE_IMAGES = [
    ("![pixel](https://tracker.example/p.png)", "https://tracker.example/p.png"),
    ('<img src="//tracker.example/p.png">', "//tracker.example/p.png"),
    ('<img src="/\\tracker.example/p.png">', "/\\tracker.example/p.png"),
    ('<img src="https&#58;//tracker.example/p.png">', "https://tracker.example/p.png"),
    ('<img src="  http://tracker.example/p.png">', "  http://tracker.example/p.png"),
]


@pytest.mark.parametrize(("details", "url"), HOSTILE_IMAGES)
def test_image_from_another_site_is_a_violation_on_details_and_never_rendered(api, alice, details, url):
    client = api(alice)
    product = client.post("products", json={"details": f"## Features\n\n{details}\n"}).json()
    assert "tracker.example" not in product["details_html"]
    response = client.post(f"products/{product['id']}/validate")
    assert response.status_code == 422
    found = [e for e in response.json()["errors"] if e["field"] == "details"]
    assert [e["code"] for e in found] == ["external_image"]
    assert found[0]["message"] == (
        f"Details cannot show images from other sites ({url}): readers' browsers would load it from there. "
        "Remove the image or link to it instead."
    )


def test_images_on_shelf_links_to_other_sites_pass_and_frames_and_styles_are_dropped(api, alice):
    client = api(alice)
    details = (
        "![diagram](/media/diagram.png) [docs](https://docs.example/) "
        '<iframe src="https://tracker.example/"></iframe><style>body{background:url(https://tracker.example/)}</style>'
        '<p style="background:url(https://tracker.example/)">styled</p><link rel="stylesheet" href="https://tracker.example/">'
    )
    product = client.post("products", json={"details": details}).json()
    html = product["details_html"]
    assert '<img src="/media/diagram.png" alt="diagram">' in html
    assert 'href="https://docs.example/"' in html
    assert "tracker.example" not in html and "<iframe" not in html and "<style" not in html and "style=" not in html
    errors = client.post(f"products/{product['id']}/validate").json()["errors"]
    assert not [e for e in errors if e["field"] == "details"]


def test_every_page_and_api_response_carries_the_policy(api, alice, client):
    assert client.get("/accounts/login/")["Content-Security-Policy"] == content_security_policy()
    assert api(alice).get("products")["Content-Security-Policy"] == content_security_policy()
    assert client.get("/api/v1/no-such-thing")["Content-Security-Policy"] == content_security_policy()
    for directive in ("default-src 'self'", "img-src 'self' data:", "frame-ancestors 'none'", "object-src 'none'"):
        assert directive in CONTENT_SECURITY_POLICY
