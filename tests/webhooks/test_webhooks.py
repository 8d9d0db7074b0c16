"""Webhooks: registration rules, signed deliveries to a real local HTTP server, retries, SSRF refusals, privacy."""

import ipaddress
import json
import re
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from shelf.accounts.models import Organization
from shelf.webhooks import net
from shelf.webhooks.models import Delivery, Event, Webhook
from shelf.webhooks.services import (
    BACKOFF,
    MAX_ATTEMPTS,
    delivery_attempt,
    emit,
    signed_request,
    webhook_create,
)

DOC = Path(__file__).parents[2] / "docs" / "webhooks.md"
PUBLIC = "93.184.215.14"
# The test's DNS: names resolve only as listed here, so no test depends on the network.
DNS = {
    "hooks.example.com": [PUBLIC],
    "other.example.com": [PUBLIC],
    "internal.example.com": [PUBLIC, "127.0.0.1"],
    "metadata.example.com": ["169.254.169.254"],
    "localhost": ["127.0.0.1"],
}


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch):
    def resolve(host: str, port: int):
        host = host.strip("[]")
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        if host not in DNS:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ipaddress.ip_address(a) for a in DNS[host]]

    monkeypatch.setattr(net, "resolve", resolve)
    return DNS


@pytest.fixture
def allow_http(settings):
    settings.SHELF_WEBHOOK_ALLOW_HTTP = True


def org_of(user) -> Organization:
    return Organization.objects.get(memberships__user=user)


def documented_verify():
    """The `verify` function from docs/webhooks.md, run as a receiver would copy it."""
    snippet = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    namespace: dict = {}
    exec(compile(snippet, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["verify"]


class Receiver:
    """A real HTTP server on 127.0.0.1 and a random port that records each request and answers as told."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        self.delay = 0.0
        self.answer = b'{"ok": true}'
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append({"path": self.path, "headers": self.headers, "body": body})
                if receiver.delay:
                    time.sleep(receiver.delay)
                try:
                    self.send_response(receiver.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(receiver.answer)))
                    self.end_headers()
                    self.wfile.write(receiver.answer)
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str = "/hooks/shelf") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


def make_webhook(user, url="https://hooks.example.com/shelf", events=None) -> Webhook:
    return webhook_create(actor=user, organization=org_of(user), url=url, events=events)


# Signature


def test_signature_verifies_with_the_documented_algorithm(alice):
    webhook = make_webhook(alice)
    (delivery,) = emit(organization=org_of(alice), event="product.approved", data={"product": "p-1"})
    body, headers = signed_request(delivery)
    verify = documented_verify()

    assert headers["X-Shelf-Signature"].startswith("sha256=")
    assert verify(webhook.secret, headers, body)
    assert not verify(webhook.secret, headers, body.replace(b"p-1", b"p-2")), "a changed body must not verify"
    assert not verify("whsec_wrong", headers, body)
    forged = {**headers, "X-Shelf-Timestamp": str(int(headers["X-Shelf-Timestamp"]) + 1)}
    assert not verify(webhook.secret, forged, body), "the timestamp is signed too"
    assert not verify(webhook.secret, headers, body, now=time.time() + 3600), "an old request is refused"


def test_secret_is_generated_and_rotation_changes_it(alice, api):
    webhook = make_webhook(alice)
    assert webhook.secret.startswith("whsec_") and len(webhook.secret) > 40
    assert make_webhook(alice, url="https://other.example.com/x").secret != webhook.secret
    client = api(alice)
    response = client.post(f"webhooks/{webhook.pk}/rotate-secret")
    assert response.status_code == 200
    assert response.json()["secret"] != webhook.secret
    webhook.refresh_from_db()
    assert webhook.secret == response.json()["secret"]


# Delivery to a real local server


def test_a_local_server_receives_a_signed_delivery(alice, receiver, allow_http, django_capture_on_commit_callbacks):
    webhook = make_webhook(alice, url=receiver.url())
    with django_capture_on_commit_callbacks(execute=True):
        (delivery,) = emit(
            organization=org_of(alice), event="product.approved", data={"product": "p-1", "title": "Debian 12 — 加固"}
        )
        assert receiver.requests == [], "nothing is sent before the transaction commits"

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    headers, body = request["headers"], request["body"]
    assert request["path"] == "/hooks/shelf"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Shelf-Event"] == "product.approved"
    assert headers["X-Shelf-Delivery"] == str(delivery.pk)
    assert abs(int(headers["X-Shelf-Timestamp"]) - time.time()) < 60
    assert documented_verify()(webhook.secret, headers, body)
    payload = json.loads(body)
    assert payload == {
        "id": str(delivery.pk),
        "event": "product.approved",
        "created_at": payload["created_at"],
        "organization": org_of(alice).slug,
        "data": {"product": "p-1", "title": "Debian 12 — 加固"},
    }

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert delivery.attempts == 1
    assert delivery.last_status_code == 200
    assert delivery.response_excerpt == '{"ok": true}'
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None

    assert delivery_attempt(delivery).attempts == 1, "a finished delivery is not sent again"
    assert len(receiver.requests) == 1


def test_the_request_goes_to_the_checked_address_and_keeps_the_host_name(alice, receiver, allow_http):
    make_webhook(alice, url=f"http://localhost:{receiver.port}/named")
    (delivery,) = emit(organization=org_of(alice), event="product.approved", data={})
    assert delivery_attempt(delivery).status == Delivery.Status.SUCCEEDED
    assert receiver.requests[0]["headers"]["Host"] == f"localhost:{receiver.port}"
    assert receiver.requests[0]["path"] == "/named"


def test_a_failing_receiver_is_retried_with_backoff_then_failed(
    alice, receiver, allow_http, django_capture_on_commit_callbacks
):
    receiver.status = 500
    receiver.answer = b"x" * 5000
    make_webhook(alice, url=receiver.url())
    with django_capture_on_commit_callbacks(execute=True):
        (delivery,) = emit(organization=org_of(alice), event="product.rejected", data={"product": "p-1"})
    assert len(receiver.requests) == 1, "the immediate test backend cannot wait, so the retry is not run at once"

    for attempt in range(1, MAX_ATTEMPTS):
        delivery.refresh_from_db()
        assert delivery.status == Delivery.Status.PENDING
        assert delivery.attempts == attempt
        assert delivery.last_status_code == 500
        assert "500" in delivery.last_error
        assert len(delivery.response_excerpt) == 1000, "the response excerpt is bounded"
        wait = delivery.next_attempt_at - timezone.now()
        assert BACKOFF[attempt - 1] - timedelta(seconds=30) < wait <= BACKOFF[attempt - 1]
        delivery = delivery_attempt(delivery)

    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == MAX_ATTEMPTS == 6
    assert delivery.next_attempt_at is None
    assert len(receiver.requests) == MAX_ATTEMPTS
    assert [b.total_seconds() for b in BACKOFF] == [60, 300, 1800, 7200, 43200]

    delivery_attempt(delivery)
    assert len(receiver.requests) == MAX_ATTEMPTS, "a failed delivery is final"


def test_a_retry_is_scheduled_with_run_after_where_the_backend_can_wait(alice, receiver, allow_http, settings):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default", "scans"]}
    }
    from django_tasks import task_backends

    receiver.status = 503
    make_webhook(alice, url=receiver.url())
    (delivery,) = emit(organization=org_of(alice), event="product.delisted", data={})
    delivery = delivery_attempt(delivery)

    results = task_backends["default"].results
    assert len(results) == 1
    assert results[0].task.name == "deliver"
    assert results[0].args == [str(delivery.pk)]
    assert results[0].task.run_after == delivery.next_attempt_at


def test_a_timeout_is_recorded(alice, receiver, allow_http, monkeypatch):
    monkeypatch.setattr(net, "TIMEOUT_SECONDS", 0.3)
    receiver.delay = 1.5
    make_webhook(alice, url=receiver.url())
    (delivery,) = emit(organization=org_of(alice), event="scan.verdict_changed", data={})
    started = time.monotonic()
    delivery = delivery_attempt(delivery)
    assert time.monotonic() - started < 1.4
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.last_status_code is None
    assert "Timed out" in delivery.last_error
    assert delivery.next_attempt_at is not None


def test_an_unreachable_receiver_is_recorded(alice, receiver, allow_http):
    make_webhook(alice, url=receiver.url())
    (delivery,) = emit(organization=org_of(alice), event="product.approved", data={})
    receiver.stop()
    delivery = delivery_attempt(delivery)
    assert delivery.status == Delivery.Status.PENDING
    assert "ConnectError" in delivery.last_error


def test_redirects_are_not_followed(alice, receiver, allow_http):
    receiver.status = 302
    make_webhook(alice, url=receiver.url())
    (delivery,) = emit(organization=org_of(alice), event="product.approved", data={})
    delivery = delivery_attempt(delivery)
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.last_status_code == 302
    assert len(receiver.requests) == 1


def test_due_deliveries_are_sent_by_the_command(alice, receiver, allow_http):
    make_webhook(alice, url=receiver.url())
    (delivery,) = emit(organization=org_of(alice), event="product.approved", data={})
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    call_command("webhooks_deliver_due")
    assert receiver.requests == [], "not due yet"
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    call_command("webhooks_deliver_due")
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED


# Where a webhook may point (SSRF)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://hooks.example.com/x", "https_required"),
        ("ftp://hooks.example.com/x", "invalid"),
        ("hooks.example.com/x", "invalid"),
        ("", "required"),
        ("https://user:pass@hooks.example.com/x", "credentials"),
        ("https://token@hooks.example.com/x", "credentials"),
        ("https://hooks.example.com/" + "a" * 500, "too_long"),
        ("https://hooks.example.com/a b", "invalid"),
        ("https://hooks.example.com:99999/", "invalid"),
        ("https://internal.example.com/x", "private_address"),
        ("https://metadata.example.com/latest/meta-data", "private_address"),
        ("https://localhost/x", "private_address"),
        ("https://app.localhost/x", "private_address"),
        ("https://127.0.0.1/x", "private_address"),
        ("https://10.0.0.5/x", "private_address"),
        ("https://169.254.169.254/latest/meta-data", "private_address"),
        ("https://100.100.100.200/latest/meta-data", "private_address"),
        ("https://[::1]/x", "private_address"),
        ("https://[::ffff:127.0.0.1]/x", "private_address"),
        ("https://[fd00:ec2::254]/x", "private_address"),
        ("http://127.0.0.1:8000/x", "https_required"),
    ],
)
def test_a_url_that_is_not_public_https_is_refused(alice, api, url, code):
    response = api(alice).post("webhooks", json={"url": url})
    assert response.status_code == 422, response.content
    assert response.json()["errors"][0]["field"] == "url"
    assert response.json()["errors"][0]["code"] == code
    assert not Webhook.objects.exists()


def test_http_is_allowed_only_to_this_machine_and_only_when_enabled(alice, settings):
    settings.SHELF_WEBHOOK_ALLOW_HTTP = True
    assert net.url_violations("http://127.0.0.1:8000/x") == []
    assert net.url_violations("http://localhost:8000/x") == []
    assert net.url_violations("https://10.0.0.5/x") == []
    assert [v.code for v in net.url_violations("http://hooks.example.com/x")] == ["https_required"]
    assert [v.code for v in net.url_violations("http://10.0.0.5/x")] == ["https_required"]
    settings.SHELF_WEBHOOK_ALLOW_HTTP = False
    assert [v.code for v in net.url_violations("http://127.0.0.1:8000/x")] == ["https_required"]


def test_an_unresolvable_host_may_be_registered_and_is_checked_when_sending(alice):
    webhook = make_webhook(alice, url="https://not-yet.example.com/x")
    (delivery,) = emit(organization=org_of(alice), event="product.approved", data={})
    delivery = delivery_attempt(delivery)
    assert delivery.status == Delivery.Status.PENDING
    assert "did not resolve" in delivery.last_error
    assert webhook.pk


def test_a_host_that_later_resolves_to_loopback_is_refused_when_sending(alice, receiver, fake_dns, monkeypatch):
    """DNS rebinding: public when registered, 127.0.0.1 when the request is about to go out."""
    monkeypatch.setitem(fake_dns, "rebind.example.com", [PUBLIC])
    make_webhook(alice, url=f"https://rebind.example.com:{receiver.port}/x")
    monkeypatch.setitem(fake_dns, "rebind.example.com", ["127.0.0.1"])
    (delivery,) = emit(organization=org_of(alice), event="product.approved", data={})
    delivery = delivery_attempt(delivery)
    assert receiver.requests == []
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.last_status_code is None
    assert "non-public address (127.0.0.1)" in delivery.last_error


def test_a_local_webhook_is_refused_once_allow_http_is_off(alice, receiver, settings):
    settings.SHELF_WEBHOOK_ALLOW_HTTP = True
    make_webhook(alice, url=receiver.url())
    settings.SHELF_WEBHOOK_ALLOW_HTTP = False
    (delivery,) = emit(organization=org_of(alice), event="product.approved", data={})
    delivery = delivery_attempt(delivery)
    assert receiver.requests == [], "the server never calls 127.0.0.1 in production"
    assert "https://" in delivery.last_error


@pytest.mark.parametrize(
    ("address", "public"),
    [
        (PUBLIC, True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.100.100.200", False),
        ("0.0.0.0", False),  # noqa: S104 - an address under test, not a bind
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00:ec2::254", False),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::7f00:1", False),
        ("2002:7f00:1::", False),
    ],
)
def test_public_addresses(address, public):
    assert net.is_public(ipaddress.ip_address(address)) is public


# Registration rules


def test_events_default_to_all_and_unknown_ones_are_refused(alice, api):
    client = api(alice)
    response = client.post("webhooks", json={"url": "https://hooks.example.com/a"})
    assert response.status_code == 201
    assert response.json()["events"] == list(Event.values)
    assert response.json()["secret"].startswith("whsec_")

    response = client.post("webhooks", json={"url": "https://hooks.example.com/b", "events": ["product.sold"]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "events"

    response = client.post("webhooks", json={"url": "https://hooks.example.com/b", "events": []})
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "required"

    response = client.post("webhooks", json={"url": "https://hooks.example.com/a"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "duplicate"


def test_an_organisation_has_at_most_ten_webhooks(alice, api):
    for n in range(10):
        make_webhook(alice, url=f"https://hooks.example.com/{n}")
    response = api(alice).post("webhooks", json={"url": "https://hooks.example.com/11"})
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "too_many"


def test_creating_and_deleting_are_audited(alice, api):
    from shelf.audit.models import AuditEvent

    webhook = make_webhook(alice)
    assert api(alice).delete(f"webhooks/{webhook.pk}").status_code == 204
    actions = list(AuditEvent.objects.filter(target_id=str(webhook.pk)).values_list("action", flat=True))
    assert sorted(actions) == ["webhook.create", "webhook.delete"]
    assert not any(webhook.secret in json.dumps(e.data) for e in AuditEvent.objects.all())


# emit()


def test_emit_creates_deliveries_only_for_matching_active_webhooks_of_the_organisation(alice, bob):
    everything = make_webhook(alice, url="https://hooks.example.com/all")
    approvals = make_webhook(alice, url="https://hooks.example.com/approvals", events=["product.approved"])
    disabled = make_webhook(alice, url="https://hooks.example.com/off")
    Webhook.objects.filter(pk=disabled.pk).update(is_active=False)
    bobs = make_webhook(bob, url="https://hooks.example.com/bob")

    deliveries = emit(organization=org_of(alice), event="scan.verdict_changed", data={"scan": "s-1"})
    assert [d.webhook_id for d in deliveries] == [everything.pk]

    deliveries = emit(organization=org_of(alice), event="product.approved", data={"product": "p-1"})
    assert {d.webhook_id for d in deliveries} == {everything.pk, approvals.pk}
    assert not Delivery.objects.filter(webhook__in=[disabled, bobs]).exists()

    assert emit(organization=org_of(bob), event="product.delisted", data={})[0].webhook_id == bobs.pk
    with pytest.raises(ValueError):
        emit(organization=org_of(alice), event="product.sold", data={})


def test_emit_stores_the_payload_as_sent(alice):
    import uuid

    make_webhook(alice)
    product_id = uuid.uuid4()
    when = timezone.now()
    (delivery,) = emit(organization=org_of(alice), event="product.approved", data={"product": product_id, "at": when})
    assert delivery.payload["id"] == str(delivery.pk)
    assert delivery.payload["event"] == "product.approved"
    assert delivery.payload["organization"] == org_of(alice).slug
    assert delivery.payload["data"]["product"] == str(product_id)
    assert delivery.status == Delivery.Status.PENDING and delivery.attempts == 0
    body, _headers = signed_request(delivery)
    assert json.loads(body) == delivery.payload


def test_emit_without_webhooks_does_nothing(alice):
    assert emit(organization=org_of(alice), event="product.approved", data={}) == []


# Privacy


def test_bob_can_neither_see_nor_delete_alices_webhook(alice, bob, api, web, allow_http, receiver):
    webhook = make_webhook(alice, url=receiver.url())
    emit(organization=org_of(alice), event="product.approved", data={})

    bob_api = api(bob)
    assert bob_api.get("webhooks").json() == []
    for method, path in [
        ("get", f"webhooks/{webhook.pk}"),
        ("get", f"webhooks/{webhook.pk}/deliveries"),
        ("delete", f"webhooks/{webhook.pk}"),
        ("post", f"webhooks/{webhook.pk}/rotate-secret"),
    ]:
        response = getattr(bob_api, method)(path)
        assert response.status_code == 404, (method, path)
        assert response.json()["errors"][0]["code"] == "not_found"

    bob_web = web(bob)
    assert bob_web.get(f"/provider/webhooks/{webhook.pk}/").status_code == 404
    assert bob_web.post(f"/provider/webhooks/{webhook.pk}/delete/").status_code == 404
    assert bob_web.post(f"/provider/webhooks/{webhook.pk}/rotate-secret/").status_code == 404
    page = bob_web.get("/provider/webhooks/").content.decode()
    assert receiver.url() not in page and webhook.secret not in page

    secret = webhook.secret
    webhook.refresh_from_db()
    assert webhook.secret == secret
    assert api(alice).get(f"webhooks/{webhook.pk}/deliveries").json()[0]["event"] == "product.approved"


def test_only_providers_use_webhooks(olivia, bruce, api, web):
    for user in (olivia, bruce):
        assert api(user).get("webhooks").status_code == 404
        assert api(user).post("webhooks", json={"url": "https://hooks.example.com/x"}).status_code == 404
        assert web(user).get("/provider/webhooks/").status_code == 404
    assert api(None).get("webhooks").status_code == 401


# Console


def test_console_create_rotate_log_and_delete(alice, web, receiver, allow_http, django_capture_on_commit_callbacks):
    client = web(alice)
    page = client.get("/provider/webhooks/")
    assert page.status_code == 200
    assert 'href="/provider/webhooks/"' in page.content.decode(), "listed in the provider navigation"

    page = client.post("/provider/webhooks/", {"url": "http://hooks.example.com/x", "events": ["product.approved"]})
    assert page.status_code == 200
    assert "must start with https://" in page.content.decode()
    assert not Webhook.objects.exists()

    response = client.post("/provider/webhooks/", {"url": receiver.url(), "events": ["product.approved"]})
    webhook = Webhook.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/provider/webhooks/{webhook.pk}/"
    assert webhook.events == ["product.approved"]
    assert webhook.created_by == alice

    receiver.status = 500
    with django_capture_on_commit_callbacks(execute=True):
        emit(organization=org_of(alice), event="product.approved", data={})
    page = client.get(f"/provider/webhooks/{webhook.pk}/").content.decode()
    assert webhook.secret in page
    assert "product.approved" in page and "HTTP 500" in page and "pending" in page

    old_secret = webhook.secret
    assert client.post(f"/provider/webhooks/{webhook.pk}/rotate-secret/").status_code == 302
    webhook.refresh_from_db()
    assert webhook.secret != old_secret
    assert webhook.secret in client.get(f"/provider/webhooks/{webhook.pk}/").content.decode()

    assert client.post(f"/provider/webhooks/{webhook.pk}/delete/").status_code == 302
    assert not Webhook.objects.exists() and not Delivery.objects.exists()


def test_api_lists_and_deletes(alice, api):
    client = api(alice)
    created = client.post("webhooks", json={"url": "https://hooks.example.com/a", "events": ["scan.verdict_changed"]})
    assert created.status_code == 201
    listed = client.get("webhooks").json()
    assert [w["id"] for w in listed] == [created.json()["id"]]
    assert listed[0]["organization"] == org_of(alice).slug
    assert client.get(f"webhooks/{created.json()['id']}/deliveries").json() == []
    assert client.delete(f"webhooks/{created.json()['id']}").status_code == 204
    assert client.get("webhooks").json() == []
