"""The ports a product needs open (delivery step): the rule, the API, the wizard, the product page and the CLI's
product file. Orders forward them (tests/orders/test_product_ports.py)."""

import pytest

from shelf.products import rules
from shelf.products.models import Revision
from tests.products.conftest import complete_fields
from tests.products.test_wizard import post_step, step_url, wizard  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("ports", "fields"),
    [
        ([80, 443], []),
        ([22, 80], []),  # 22 is implied; listing it is harmless
        ([], []),
        ([0, 65536, "80", True, 8.0], ["ports[0]", "ports[1]", "ports[2]", "ports[3]", "ports[4]"]),
        ([80, 80], ["ports[1]"]),
        ([{}, [80], None, 80], ["ports[0]", "ports[1]", "ports[2]"]),  # objects and lists are not hashable either
        (list(range(8000, 8011)), ["ports"]),  # 11 besides 22
        ("80", ["ports"]),
    ],
)
def test_the_rule(ports, fields):
    assert [v.field for v in rules.ports_violations(ports)] == fields


def test_stored_sorted_without_22():
    assert rules.ports_normalized([443, 22, 80]) == [80, 443]
    assert len(rules.ports_violations([22, *range(8000, 8010)])) == 0  # ten besides SSH


def test_api_saves_reports_and_keeps_what_was_there(api, alice, alice_image):
    client = api(alice)
    product = client.post("products", json={**complete_fields(alice_image), "ports": [443, 80, 22]}).json()
    assert product["ports"] == [80, 443]
    bad = client.patch(f"products/{product['id']}", json={"lock_version": product["lock_version"], "ports": [80, 0]})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["ports[1]"]
    assert "1 to 65535" in bad.json()["errors"][0]["message"]
    too_many = client.patch(
        f"products/{product['id']}", json={"lock_version": product["lock_version"], "ports": list(range(1, 12))}
    )
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "ports"
    assert client.get(f"products/{product['id']}").json()["ports"] == [80, 443]  # nothing lost
    cleared = client.patch(f"products/{product['id']}", json={"lock_version": product["lock_version"], "ports": []})
    assert cleared.status_code == 200 and cleared.json()["ports"] == []


def test_the_delivery_step_and_the_product_page(wizard, alice_image):  # noqa: F811
    client, pid = wizard
    page = client.get(step_url(pid, "delivery")).content.decode()
    assert 'name="ports"' in page
    post_step(client, pid, "delivery", {f"delivery-{alice_image.region.code}": alice_image.pk, "ports": "8080, 80"})
    revision = Revision.objects.get(product_id=pid)
    assert revision.ports == [80, 8080] and revision.deliveries.get().image == alice_image
    assert 'value="80, 8080"' in client.get(step_url(pid, "delivery")).content.decode()
    answer = post_step(client, pid, "delivery", {"ports": "80, http"}, go="save")
    page = answer.content.decode()
    assert answer.status_code == 422 and "“http” is not a TCP port" in page
    assert 'value="80, http"' in page  # what was typed, to correct
    assert Revision.objects.get(product_id=pid).ports == [80, 8080]
    review = client.get(f"/provider/products/{pid}/preview/").content.decode()
    assert "22 (SSH)" in review and ">8080<" in review


def test_the_product_file_carries_ports(tmp_path):
    from shelf.cli.productfile import FileProblem, load_product_file, product_fields

    path = tmp_path / "product.yaml"
    path.write_text("name: x\nports: [80, 443]\n")
    assert product_fields(load_product_file(path), current=None, agreements=[])["ports"] == [80, 443]
    path.write_text("name: x\nports: [http]\n")
    with pytest.raises(FileProblem, match="ports: a list of TCP port numbers"):
        load_product_file(path)
