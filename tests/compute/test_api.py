"""Instances through the API and the web pages: who sees what (another buyer: 404), guards as 409, the console's
query rules as 422. No guest boots here: jobs enqueued on commit do not run in these transactions."""

import pytest

from shelf.accounts.services import buyer_signup
from shelf.compute import tasks
from shelf.compute.models import Instance
from tests.compute.conftest import create
from tests.conftest import PASSWORD, ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def carol(db):
    return buyer_signup(username="carol", email="carol@example.com", password=PASSWORD)


@pytest.fixture
def instance(bruce, image):
    return create(bruce, image, name="shop")


def test_another_buyer_gets_404_everywhere(instance, carol, olivia, alice):
    api = ApiClient(carol)
    assert api.get("instances").json() == []
    for path in ("", "/console"):
        assert api.get(f"instances/{instance.pk}{path}").status_code == 404
    for action in ("start", "stop", "reboot", "terminate"):
        answer = api.post(f"instances/{instance.pk}/{action}")
        assert answer.status_code == 404 and answer.json()["errors"][0]["code"] == "not_found"
    assert ApiClient(alice).get(f"instances/{instance.pk}").status_code == 404  # the image's provider neither
    assert [i["id"] for i in ApiClient(olivia).get("instances").json()] == [str(instance.pk)]
    assert Instance.objects.get(pk=instance.pk).state == "pending"


def test_owner_reads_and_acts(instance, bruce, django_capture_on_commit_callbacks):
    api = ApiClient(bruce)
    listed = api.get("instances").json()
    assert [i["name"] for i in listed] == ["shop"] and listed[0]["state"] == "pending"
    assert api.get("instances?state=running").json() == []
    answer = api.post(f"instances/{instance.pk}/stop")
    assert answer.status_code == 409 and answer.json()["errors"][0]["code"] == "invalid_state"
    console = api.get(f"instances/{instance.pk}/console").json()
    assert console == {"offset": 0, "next_offset": 0, "text": "", "state": "pending"}
    assert api.get(f"instances/{instance.pk}/console?offset=-1").status_code == 422
    with django_capture_on_commit_callbacks(execute=True):  # pending → terminating → terminated, nothing to free
        answer = api.post(f"instances/{instance.pk}/terminate")
    assert answer.status_code == 202 and answer.json()["state"] == "terminating"
    assert api.get(f"instances/{instance.pk}").json()["state"] == "terminated"
    # the launch job that was queued for it finds nothing to do
    assert tasks.launch_instance.call(str(instance.pk)) == "terminated"


def test_web_pages(instance, bruce, carol, olivia, client):
    client.force_login(bruce)
    page = client.get("/instances/")
    assert page.status_code == 200 and b"shop" in page.content
    page = client.get(f"/instances/{instance.pk}/")
    assert page.status_code == 200 and b"compute/instances.js" in page.content and b"<script>" not in page.content
    assert b'action="/instances/%s/terminate/"' % str(instance.pk).encode() in page.content
    assert b"/stop/" not in page.content  # a pending instance cannot be stopped: no button
    answer = client.post(f"/instances/{instance.pk}/stop/")
    assert answer.status_code == 302  # refused with a message, the state unchanged
    assert Instance.objects.get(pk=instance.pk).state == "pending"
    assert client.get("/operator/instances/").status_code == 404
    client.force_login(carol)
    assert client.get(f"/instances/{instance.pk}/").status_code == 404
    assert client.post(f"/instances/{instance.pk}/terminate/").status_code == 404
    client.force_login(olivia)
    page = client.get("/operator/instances/")
    assert page.status_code == 200 and b"bruce" in page.content
    client.force_login(bruce)
    assert client.post(f"/instances/{instance.pk}/terminate/").status_code == 302
    assert Instance.objects.get(pk=instance.pk).state == "terminating"
