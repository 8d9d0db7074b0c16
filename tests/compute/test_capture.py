"""Build servers and capture without booting a guest: limits, visibility (another organisation: 404), guards as
409/422, the audit trail, the API, the web pages. The VM test (test_capture_vm.py) boots, stops and captures one."""

from __future__ import annotations

import uuid

import pytest

from shelf.accounts.services import provider_signup
from shelf.audit.models import AuditEvent
from shelf.compute import services, tasks
from shelf.compute.models import Instance
from shelf.errors import Conflict, RuleViolations
from shelf.images.models import Image
from shelf.images.services import base_image_publish, base_image_unpublish
from tests.compute.conftest import KEY, available_image
from tests.conftest import PASSWORD, ApiClient

S = Instance.State
pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return provider_signup(
        username="shelfstaff", email="staff@example.com", password=PASSWORD, organization_name="Shelf"
    )[0]


def published(staff, olivia, path=None, **kwargs) -> Image:
    """An available image of the marketplace organisation, published as a base image."""
    return base_image_publish(actor=olivia, image=available_image(staff.organizations.first(), path, **kwargs))


@pytest.fixture
def base(staff, olivia):
    return published(staff, olivia)


def launch(user, base, **overrides) -> Instance:
    kwargs = {
        "actor": user,
        "organization": user.organizations.first(),
        "base_image": base,
        "name": "Build box",
        "ssh_public_key": KEY,
        "memory_mib": 128,
        "idempotency_key": str(uuid.uuid4()),
    }
    kwargs.update(overrides)
    return services.build_server_launch(**kwargs)


def stopped(server: Instance) -> Instance:
    """No guest boots in these tests: put the row where a real stop would (the VM test does it for real)."""
    Instance.objects.filter(pk=server.pk).update(state=S.STOPPED)
    return Instance.objects.get(pk=server.pk)


def test_launch_makes_a_pending_build_server_of_the_organisation(alice, base):
    server = launch(alice, base)
    assert server.is_build_server and server.organization == alice.organizations.first()
    assert server.state == S.PENDING and server.region == base.region and server.image == base
    assert server.hostname == "build-box" and server.disk_gib == 1 and server.ports == []
    event = AuditEvent.objects.get(target_id=str(server.pk), action="instance.create")
    assert event.organization == server.organization and event.actor == alice


def test_same_key_answers_the_first_and_the_cap_counts_live_servers(alice, base, settings):
    settings.SHELF_BUILD_SERVERS_PER_ORGANIZATION = 2
    first = launch(alice, base, idempotency_key="k1")
    assert launch(alice, base, idempotency_key="k1") == first
    second = launch(alice, base)
    with pytest.raises(Conflict) as exc:
        launch(alice, base)
    assert exc.value.code == "build_server_limit" and "at most 2" in exc.value.message
    Instance.objects.filter(pk=second.pk).update(state=S.FAILED)  # failed and terminated ones do not count
    assert launch(alice, base).state == S.PENDING
    assert launch(alice, base, idempotency_key="k1") == first  # a retry past the cap still answers the first


def test_sizes_are_capped_per_field(alice, base, settings):
    settings.SHELF_BUILD_SERVER_MAX_MEMORY_MIB = 1024
    with pytest.raises(RuleViolations) as exc:
        launch(alice, base, vcpus=9, memory_mib=4096, disk_gib=500, ssh_public_key="not a key", name="")
    fields = {v.field: v.code for v in exc.value.violations}
    assert fields == {
        "vcpus": "too_large",
        "memory_mib": "too_large",
        "disk_gib": "too_large",
        "ssh_public_key": "invalid",
        "name": "invalid",
    }
    assert not Instance.objects.exists()


def test_only_a_published_base_image(alice, base, olivia):
    base_image_unpublish(actor=olivia, image=base)
    with pytest.raises(Conflict) as exc:
        launch(alice, base)
    assert exc.value.code == "not_base_image"


def test_capture_guards(alice, base, bruce):
    server = launch(alice, base)
    with pytest.raises(Conflict) as exc:
        services.build_server_capture(actor=alice, instance=server, name="Mine")
    assert exc.value.code == "not_stopped" and "pending" in exc.value.message
    # a buyer's instance is never captured, even by a service call that got hold of it
    from tests.compute.conftest import create

    bought = create(bruce, available_image(alice.organizations.first()))
    Instance.objects.filter(pk=bought.pk).update(state=S.STOPPED)
    with pytest.raises(Conflict) as exc:
        services.build_server_capture(actor=alice, instance=bought, name="Theirs")
    assert exc.value.code == "not_build_server"
    with pytest.raises(RuleViolations) as exc:
        services.build_server_capture(actor=alice, instance=stopped(server), name="")
    assert [v.field for v in exc.value.violations] == ["name"]
    assert Instance.objects.get(pk=server.pk).state == S.STOPPED and not Image.objects.filter(
        captured_from=str(server.pk)
    )


def test_capture_starts_an_importing_image_and_blocks_start_and_terminate(alice, base):
    server = stopped(launch(alice, base))
    image = services.build_server_capture(actor=alice, instance=server, name="My stack", description="LNMP")
    assert image.status == Image.Status.IMPORTING and image.organization == server.organization
    assert image.region == server.region and image.captured_from == str(server.pk) and image.disk_format == "qcow2"
    assert Instance.objects.get(pk=server.pk).state == S.CAPTURING
    for service in (services.instance_start, services.instance_terminate):
        with pytest.raises(Conflict):
            service(actor=alice, instance=server)
    actions = AuditEvent.objects.filter(organization=server.organization).values_list("action", flat=True)
    assert {"image.capture_start", "instance.capture"} <= set(actions)


def test_a_capture_whose_disk_is_gone_fails_the_image_not_the_server(alice, base):
    # The back end holds nothing for this server (it never booted): the image fails with the reason, the server
    # goes back to stopped, and no bytes stay behind.
    server = stopped(launch(alice, base))
    image = services.build_server_capture(actor=alice, instance=server, name="My stack")
    server = tasks.run_capture(Instance.objects.get(pk=server.pk))
    image.refresh_from_db()
    assert server.state == S.STOPPED and "could not be captured" in server.state_reason
    assert image.status == Image.Status.FAILED and image.failure_code == "capture_failed"
    assert image.stored_size == 0
    assert AuditEvent.objects.filter(target_id=str(server.pk), action="instance.captured").count() == 1


def test_stalled_capture_is_requeued_by_reconcile_not_by_image_housekeeping(alice, base):
    from datetime import timedelta

    from django.utils import timezone

    from shelf.images.tasks import housekeeping

    server = stopped(launch(alice, base))
    image = services.build_server_capture(actor=alice, instance=server, name="My stack")
    long_ago = timezone.now() - timedelta(hours=1)
    Image.objects.filter(pk=image.pk).update(updated_at=long_ago)
    Instance.objects.filter(pk=server.pk).update(updated_at=long_ago)
    assert housekeeping()["requeued"] == []  # not taken for a copy whose source is gone
    assert Image.objects.get(pk=image.pk).status == Image.Status.IMPORTING
    assert tasks.JOBS[S.CAPTURING] is tasks.capture_instance
    # compute's reconciliation runs the capture job again (here at once: the test task back end is immediate)
    assert tasks.reconcile()["requeued"] == [str(server.pk)]
    assert Instance.objects.get(pk=server.pk).state == S.STOPPED
    assert Image.objects.get(pk=image.pk).failure_code == "capture_failed"  # this server never had a disk


@pytest.fixture
def bob_server(bob, base):
    return launch(bob, base, name="bob-box")


def keyed(client: ApiClient, body: dict, key: str = "abc"):
    """POST /build-servers with an Idempotency-Key header."""
    return client.client.post(
        "/api/v1/build-servers",
        data=body,
        content_type="application/json",
        headers={**client.headers, "Idempotency-Key": key},
    )


def test_api_visibility_and_errors(api, alice, bob, olivia, bruce, base, bob_server):
    client = ApiClient(alice)
    answer = keyed(client, {"base_image": str(base.pk), "name": "web-build", "ssh_public_key": KEY, "memory_mib": 128})
    assert answer.status_code == 202, answer.json()
    server = answer.json()
    assert server["state"] == "pending" and server["organization"] == "alice-images" and server["captures"] == []
    again = keyed(client, {"base_image": str(base.pk), "name": "other", "ssh_public_key": KEY})
    assert again.json()["id"] == server["id"]
    assert [s["id"] for s in client.get("build-servers").json()] == [server["id"]]
    assert [i["id"] for i in client.get("instances").json()] == [server["id"]]  # and in the instance API
    # another organisation's build server is a 404 everywhere
    for path in (f"build-servers/{bob_server.pk}", f"instances/{bob_server.pk}", f"instances/{bob_server.pk}/console"):
        assert client.get(path).status_code == 404
    assert client.post(f"instances/{bob_server.pk}/stop").status_code == 404
    assert client.post(f"build-servers/{bob_server.pk}/capture", json={"name": "x"}).status_code == 404
    # buyers and operators do not launch or capture; operators see them all
    assert ApiClient(bruce).post("build-servers", json={"base_image": str(base.pk)}).status_code == 404
    assert ApiClient(bruce).get(f"build-servers/{server['id']}").status_code == 404
    assert len(ApiClient(olivia).get("build-servers").json()) == 2
    assert ApiClient(olivia).post(f"build-servers/{server['id']}/capture", json={"name": "x"}).status_code == 404
    # 422 per field, 409 for the state
    bad = client.post("build-servers", json={"name": "x", "ssh_public_key": KEY})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "base_image"
    foreign = available_image(bob.organizations.first())
    bad = client.post("build-servers", json={"base_image": str(foreign.pk), "name": "x", "ssh_public_key": KEY})
    assert bad.status_code == 422 and bad.json()["errors"][0]["code"] == "unknown"
    bad = client.post("build-servers", json={"base_image": str(base.pk), "name": "x", "ssh_public_key": "nope"})
    assert bad.status_code == 422 and [e["field"] for e in bad.json()["errors"]] == ["ssh_public_key"]
    running = client.post(f"build-servers/{server['id']}/capture", json={"name": "Mine"})
    assert running.status_code == 409 and running.json()["errors"][0]["code"] == "not_stopped"
    stopped(Instance.objects.get(pk=server["id"]))
    unnamed = client.post(f"build-servers/{server['id']}/capture", json={})
    assert unnamed.status_code == 422 and unnamed.json()["errors"][0]["field"] == "name"
    captured = client.post(f"build-servers/{server['id']}/capture", json={"name": "Mine", "os_hint": "Debian 12"})
    assert captured.status_code == 202 and captured.json()["status"] == "importing"
    assert captured.json()["region"] == "ap-guangzhou" and captured.json()["organization"] == "alice-images"
    assert client.get(f"images/{captured.json()['id']}").json()["os_hint"] == "Debian 12"
    assert client.get(f"build-servers/{server['id']}").json()["captures"] == [captured.json()["id"]]
    assert ApiClient(bob).get(f"images/{captured.json()['id']}").status_code == 404
    busy = client.post(f"build-servers/{server['id']}/capture", json={"name": "Again"})
    assert busy.status_code == 409 and busy.json()["errors"][0]["code"] == "not_stopped"


def test_web_pages(web, alice, bob, olivia, base, bob_server):
    page = web(alice).get("/provider/build-servers/")
    assert page.status_code == 200 and base.name in page.content.decode() and "bob-box" not in page.content.decode()
    form = web(alice).get(f"/provider/build-servers/new/?base_image={base.pk}")
    assert form.status_code == 200
    client = web(alice)
    answer = client.post(
        "/provider/build-servers/new/",
        {"base_image": str(base.pk), "name": "web box", "ssh_public_key": KEY, "vcpus": 1, "memory_mib": 128},
    )
    assert answer.status_code == 302, answer.content.decode()[-2000:]
    server = Instance.objects.get(name="web box")
    refused = client.post(
        "/provider/build-servers/new/",
        {"base_image": str(base.pk), "name": "x", "ssh_public_key": "nope", "vcpus": 1, "memory_mib": 128},
    )
    assert refused.status_code == 200 and "OpenSSH public key" in refused.content.decode()
    detail = client.get(f"/provider/build-servers/{server.pk}/")
    assert detail.status_code == 200 and "Stop the server to capture it." in detail.content.decode()
    assert client.get(f"/provider/build-servers/{bob_server.pk}/").status_code == 404
    assert client.post(f"/provider/build-servers/{bob_server.pk}/capture/", {"name": "x"}).status_code == 404
    assert web(olivia).get("/provider/build-servers/").status_code == 404
    stopped(server)
    detail = client.get(f"/provider/build-servers/{server.pk}/")
    assert "Capture image" in detail.content.decode()
    answer = client.post(f"/provider/build-servers/{server.pk}/capture/", {"name": "Web image"})
    image = Image.objects.get(captured_from=str(server.pk))
    assert answer.status_code == 302 and answer["Location"] == f"/provider/images/{image.pk}/"
    assert client.get(f"/provider/images/{image.pk}/").status_code == 200
    assert "Web image" in client.get(f"/provider/build-servers/{server.pk}/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_concurrent_launches_cannot_pass_the_cap_together(settings, staff, olivia, alice):
    """The organisation's row lock: of three launches at once with a cap of one, exactly one is created."""
    import threading

    from django.db import connection

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}
    settings.SHELF_BUILD_SERVERS_PER_ORGANIZATION = 1
    base = published(staff, olivia)
    start, outcomes = threading.Barrier(3), []

    def run():
        try:
            start.wait()
            launch(alice, base)
            outcomes.append("created")
        except Conflict as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["build_server_limit", "build_server_limit", "created"]
    assert Instance.objects.filter(organization=alice.organizations.first()).count() == 1
