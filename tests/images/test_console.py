"""Image actions in the provider console."""

from tests.products.conftest import make_image


def test_a_refused_copy_shows_the_rule_without_its_field_name(web, alice):
    image = make_image(alice.organizations.get())
    response = web(alice).post(f"/provider/images/{image.pk}/copy/", {"region": "nowhere"}, follow=True)
    assert [str(m) for m in response.context["messages"]] == ["Choose an active region to copy to."]
