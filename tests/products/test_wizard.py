"""The wizard in the web console, as a provider walks through it."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from shelf.catalog.models import Agreement, Category
from shelf.products.models import Revision
from shelf.scanning.models import Scan
from tests.products.conftest import PDF_BYTES, make_image, png_bytes


@pytest.fixture
def wizard(web, alice):
    client = web(alice)
    response = client.post("/provider/products/new/")
    product_id = response["Location"].split("/")[3]
    return client, product_id


def step_url(product_id, step):
    return f"/provider/products/{product_id}/edit/{step}/"


def lock(product_id):
    return Revision.objects.get(product_id=product_id).lock_version


def post_step(client, product_id, step, data, go="next"):
    return client.post(step_url(product_id, step), {"lock_version": lock(product_id), "go": go, **data})


def test_walk_leave_resume_go_back_and_submit(wizard, alice_org):
    client, pid = wizard
    leaf = Category.objects.filter(parent__isnull=False).first()
    template = Agreement.objects.filter(organization__isnull=True).first()
    assert post_step(client, pid, "access", {"access_type": "image"})["Location"] == step_url(pid, "category")
    assert post_step(client, pid, "category", {"category": leaf.slug})["Location"] == step_url(pid, "basic")
    # Save a half-filled step 3 and leave.
    response = post_step(
        client, pid, "basic", {"name": "LAMP 环境", "tags": "web\nlamp", "software": "", "version": "1.0"}, go="save"
    )
    assert response["Location"] == step_url(pid, "basic")
    page = client.get(step_url(pid, "basic")).content.decode()
    assert "Image version is “v” followed by" in page and "integrated software" in page
    # Reopening from the product list continues at step 3 with what was entered.
    assert client.get(f"/provider/products/{pid}/")["Location"] == step_url(pid, "basic")
    assert 'value="LAMP 环境"' in client.get(step_url(pid, "basic")).content.decode()
    # Previous step goes back to the category step and keeps everything.
    back = post_step(
        client,
        pid,
        "basic",
        {"name": "LAMP 环境", "tags": "web\nlamp", "software": "Apache", "version": "v1.0", "agreement": template.pk},
        go="prev",
    )
    assert back["Location"] == step_url(pid, "category")
    category_page = client.get(step_url(pid, "category")).content.decode()
    assert f'value="{leaf.slug}" checked' in category_page
    revision = Revision.objects.get(product_id=pid)
    assert revision.software == ["Apache"] and revision.version == "v1.0" and revision.agreement == template

    image = make_image(alice_org, scan_verdict=None)
    post_step(client, pid, "delivery", {f"delivery-{image.region.code}": image.pk})
    post_step(client, pid, "billing", {"billing_mode": "postpaid", "price_hourly": "0.80", "currency": "CNY"})
    client.post(f"/provider/products/{pid}/pictures/", {"file": SimpleUploadedFile("shot.png", png_bytes())})
    client.post(f"/provider/products/{pid}/document/", {"file": SimpleUploadedFile("guide.pdf", PDF_BYTES)})
    post_step(client, pid, "content", {"summary": "A LAMP stack.", "details": "## Features\nFast."})

    # Submit is refused while the image has no passed scan, and the page says why.
    refused = client.post(f"/provider/products/{pid}/submit/")
    assert refused.status_code == 422
    assert "has not been scanned yet" in refused.content.decode()
    assert Revision.objects.get(product_id=pid).status == "draft"
    security = client.get(step_url(pid, "security")).content.decode()
    assert "not scanned yet" in security

    Scan.objects.create(image=image, status="done", verdict="passed")
    review = client.get(step_url(pid, "review")).content.decode()
    assert review.count("✓ complete") == 7
    assert client.post(f"/provider/products/{pid}/submit/").status_code == 302
    assert Revision.objects.get(product_id=pid).status == "in_review"

    listing = client.get("/provider/products/").content.decode()
    assert "in review" in listing and "Withdraw from review" in listing
    preview = client.get(f"/provider/products/{pid}/preview/").content.decode()
    assert "LAMP 环境" in preview and "CNY 0.80 / hour" in preview and "guide.pdf" in preview

    # In review the steps are read-only; a save is refused with the reason.
    assert post_step(client, pid, "basic", {"name": "changed"}, go="save").status_code == 302
    assert Revision.objects.get(product_id=pid).name == "LAMP 环境"
    client.post(f"/provider/products/{pid}/withdraw/")
    assert Revision.objects.get(product_id=pid).status == "draft"
    post_step(
        client,
        pid,
        "basic",
        {"name": "LAMP 环境 v2", "tags": "web", "software": "Apache", "version": "v1.1", "agreement": template.pk},
        go="save",
    )
    client.post(f"/provider/products/{pid}/submit/")
    assert Revision.objects.get(product_id=pid).status == "in_review"


def test_progress_bar_marks_complete_steps(wizard):
    client, pid = wizard
    post_step(client, pid, "access", {"access_type": "image"})
    page = client.get(step_url(pid, "category")).content.decode()
    progress = re.search(r'<ol class="progress".*?</ol>', page, re.S).group(0)
    assert progress.count("done") == 1  # only the access type is complete
    assert 'aria-current="step"' in progress


def test_rules_reported_on_the_page_keep_the_input(wizard):
    client, pid = wizard
    long_name = "镜" * 81
    post_step(
        client,
        pid,
        "basic",
        {"name": long_name, "tags": "a\nb\nc\nd\ne\nf", "software": "x", "version": "v1"},
        go="save",
    )
    page = client.get(step_url(pid, "basic")).content.decode()
    assert "Product name is at most 80 characters; it has 81." in page
    assert "At most 5 tags; there are 6." in page
    assert long_name in page


def test_stale_tab_gets_409_with_changes_and_keeps_its_input(web, alice, wizard):
    client, pid = wizard
    stale_lock = lock(pid)
    other_tab = web(alice)
    other_tab.post(
        step_url(pid, "content"),
        {"lock_version": stale_lock, "go": "save", "summary": "from the other tab", "details": ""},
    )
    response = client.post(
        step_url(pid, "content"), {"lock_version": stale_lock, "go": "save", "summary": "mine", "details": "mine too"}
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "summary" in page and "Changed by alice" in page
    assert ">mine</textarea>" in page
    assert Revision.objects.get(product_id=pid).summary == "from the other tab"


def test_other_provider_gets_404_everywhere(web, bob, wizard):
    _client, pid = wizard
    bob_client = web(bob)
    for url in [step_url(pid, "basic"), f"/provider/products/{pid}/", f"/provider/products/{pid}/preview/"]:
        assert bob_client.get(url).status_code == 404
    assert bob_client.post(f"/provider/products/{pid}/submit/").status_code == 404
    assert bob_client.post(f"/provider/products/{pid}/withdraw/").status_code == 404
    assert pid not in bob_client.get("/provider/products/").content.decode()


def test_picture_errors_shown_next_to_pictures(wizard):
    client, pid = wizard
    client.post(f"/provider/products/{pid}/pictures/", {"file": SimpleUploadedFile("a.png", png_bytes(dpi=(96, 96)))})
    page = client.get(step_url(pid, "content")).content.decode()
    assert re.search(r'<p class="error upload-error">[^<]*96', page)


def test_review_step_shows_prereview_warnings(api, alice, wizard):
    client, pid = wizard
    post_step(
        client,
        pid,
        "basic",
        {"name": "全网第一的 LAMP 镜像", "tags": "web", "software": "Apache", "version": "v1.0"},
        go="save",
    )
    page = client.get(step_url(pid, "review")).content.decode()
    assert "全网第一" in page and "banner warn" in page


@pytest.mark.parametrize("agreement", ["abc", "1.5", "1e5", "\x00"])
def test_an_agreement_that_is_no_id_is_a_field_error_not_a_500(wizard, agreement):
    client, pid = wizard
    response = post_step(
        client, pid, "basic", {"name": "Kept", "tags": "web", "version": "v1.0", "agreement": agreement}, go="save"
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert re.search(
        r'<p class="error">(Pick one of the listed agreements\.|Null characters are not allowed\.)</p>', page
    )
    assert 'value="Kept"' in page
    # Nothing of the step is saved, as when the service refuses a value.
    assert Revision.objects.get(product_id=pid).name == ""


def test_limits_on_the_page_come_from_the_rules(wizard, monkeypatch):
    from shelf.products import rules

    client, pid = wizard
    monkeypatch.setattr(rules, "NAME_MAX", 60)
    monkeypatch.setattr(rules, "TAGS_MAX", 4)
    monkeypatch.setattr(rules, "SUMMARY_MAX", 120)
    basic = client.get(step_url(pid, "basic")).content.decode()
    assert "required, at most 60 characters" in basic and 'data-counter="60"' in basic
    assert "1 to 4, type one and press Enter" in basic and 'data-max="4"' in basic
    content = client.get(step_url(pid, "content")).content.decode()
    assert "required, at most 120 characters" in content and 'data-counter="120"' in content
    assert "1 to 5; each exactly 390 x 260 px, 72 dpi, PNG or JPEG, at most 2 MB" in content


def test_submitting_names_the_review_time(api, alice, alice_image):
    from shelf.products.services import REVIEW_BUSINESS_DAYS
    from tests.products.conftest import complete_fields

    client = api(alice)
    pid = client.post("products", json=complete_fields(alice_image)).json()["id"]
    for kind, name, data in (("pictures", "a.png", png_bytes()), ("document", "guide.pdf", PDF_BYTES)):
        url = f"/api/v1/products/{pid}/{kind}"
        client.client.post(url, {"file": SimpleUploadedFile(name, data)}, headers=client.headers)
    browser = client.client
    browser.force_login(alice)
    page = browser.get(step_url(pid, "review")).content.decode()
    assert f"who aim to finish the review within {REVIEW_BUSINESS_DAYS} business days." in page
    response = browser.post(f"/provider/products/{pid}/submit/", follow=True)
    assert Revision.objects.get(product_id=pid).status == Revision.Status.IN_REVIEW
    assert f"Operators aim to finish within {REVIEW_BUSINESS_DAYS} business days." in response.content.decode()
