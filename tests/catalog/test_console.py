import pytest

from shelf.audit.models import AuditEvent
from shelf.catalog.models import Category, Region


def test_operator_manages_regions_with_audit(web, olivia):
    client = web(olivia)
    response = client.post(
        "/operator/regions/new/",
        {"code": "ap-nanjing", "name_zh": "南京", "name_en": "Nanjing", "position": 7, "is_active": "on"},
    )
    assert response.status_code == 302
    region = Region.objects.get(code="ap-nanjing")
    page = client.get(f"/operator/regions/{region.pk}/").content.decode()
    assert "region.create" in page and "olivia" in page


def test_operator_form_shows_rule_violations_next_to_fields(web, olivia):
    response = web(olivia).post(
        "/operator/regions/new/", {"code": "Bad Code", "name_zh": "", "name_en": "x", "position": 0}
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "code" in errors and "name_zh" in errors
    assert not Region.objects.filter(name_en="x").exists()


def test_category_tree_has_two_levels_only(web, olivia):
    leaf = Category.objects.filter(parent__isnull=False).first()
    response = web(olivia).post(
        "/operator/categories/new/",
        {"slug": "too-deep", "name_zh": "深", "name_en": "Deep", "parent": leaf.pk, "position": 0},
    )
    # A leaf is not offered as a parent at all.
    assert response.status_code == 200 and "parent" in response.context["form"].errors
    assert not Category.objects.filter(slug="too-deep").exists()


def test_provider_agreement_page_shows_its_history(web, alice):
    client = web(alice)
    response = client.post("/provider/agreements/new/", {"title": "Alice terms", "body": "Support 7x8."})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Alice terms" in page and "agreement.create" in page


def test_language_switch_to_chinese(web, olivia):
    client = web(olivia)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/operator/"})
    page = client.get("/operator/").content.decode()
    assert 'lang="zh-hans"' in page
    assert "运营控制台" in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/operator/"})
    assert "Operator console" in client.get("/operator/").content.decode()


def test_audit_events_are_append_only(alice):
    import pytest

    event = AuditEvent.objects.first()
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.update(reason="rewritten")


@pytest.mark.parametrize(
    "url, data",
    [
        ("/operator/regions/new/", {"code": "ap-far", "name_zh": "远", "name_en": "Far"}),
        ("/operator/categories/new/", {"slug": "far", "name_zh": "远", "name_en": "Far"}),
    ],
)
@pytest.mark.parametrize("position", ["99999999999999999999", "1.5", "x"])
def test_a_position_that_cannot_be_stored_is_a_field_error_not_a_500(web, olivia, url, data, position):
    response = web(olivia).post(url, {**data, "position": position})
    assert response.status_code == 200
    assert "position" in response.context["form"].errors
    assert not Region.objects.filter(code="ap-far").exists() and not Category.objects.filter(slug="far").exists()
