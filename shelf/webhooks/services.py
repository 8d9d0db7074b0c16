"""Every write on webhooks: register, delete, rotate the secret, emit an event, and attempt a delivery.

A delivery is signed with the webhook's secret: `X-Shelf-Signature: sha256=<hex HMAC-SHA256 of
"<X-Shelf-Timestamp>.<raw body>">` (docs/webhooks.md). Deliveries are sent by a background job after the
emitting transaction commits, and retried with backoff until MAX_ATTEMPTS.
"""

import hashlib
import hmac
import json
import logging
import time
import uuid
from datetime import datetime, timedelta

import httpx
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shelf.accounts.models import Organization
from shelf.audit.services import audit_record
from shelf.errors import Conflict, Violation, raise_if
from shelf.webhooks import net
from shelf.webhooks.models import Delivery, Event, Webhook, new_secret

log = logging.getLogger(__name__)

MAX_WEBHOOKS_PER_ORGANIZATION = 10
MAX_ATTEMPTS = 6
# The wait after the 1st, 2nd, … failed attempt; the 6th failure is final.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
USER_AGENT = "Shelf-Webhooks/1"


def _clean_events(events: list[str] | None) -> tuple[list[str], list[Violation]]:
    if events is None:
        return list(Event.values), []
    unknown = sorted({e for e in events if e not in Event.values})
    if unknown:
        message = _("Unknown events: %(events)s. Choose from %(choices)s.") % {
            "events": ", ".join(map(str, unknown)),
            "choices": ", ".join(Event.values),
        }
        return [], [Violation("events", "unknown", message)]
    chosen = [e for e in Event.values if e in events]  # canonical order, no duplicates
    if not chosen:
        return [], [Violation("events", "required", _("Choose at least one event."))]
    return chosen, []


@transaction.atomic
def webhook_create(*, actor, organization: Organization, url: str, events: list[str] | None = None) -> Webhook:
    """Register an endpoint for the organisation; Shelf generates the signing secret."""
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    url = (url or "").strip()
    violations = net.url_violations(url)
    chosen, event_violations = _clean_events(events)
    violations += event_violations
    if not violations and Webhook.objects.filter(organization=organization, url=url).exists():
        violations.append(Violation("url", "duplicate", _("This organisation already has a webhook for this URL.")))
    raise_if(violations)
    if Webhook.objects.filter(organization=organization).count() >= MAX_WEBHOOKS_PER_ORGANIZATION:
        raise Conflict(
            _("An organisation may have at most %(max)d webhooks; delete one first.")
            % {"max": MAX_WEBHOOKS_PER_ORGANIZATION},
            code="too_many",
        )
    webhook = Webhook.objects.create(organization=organization, url=url, events=chosen, created_by=actor)
    audit_record(actor=actor, target=webhook, action="webhook.create", data={"url": url, "events": chosen})
    return webhook


@transaction.atomic
def webhook_delete(*, actor, webhook: Webhook) -> None:
    """Remove the endpoint and its delivery log; pending deliveries are not sent."""
    audit_record(actor=actor, target=webhook, action="webhook.delete", data={"url": webhook.url})
    webhook.delete()


@transaction.atomic
def webhook_rotate_secret(*, actor, webhook: Webhook) -> Webhook:
    """Replace the signing secret at once; every request from now on, retries included, uses the new one."""
    webhook = Webhook.objects.select_for_update().get(pk=webhook.pk)
    webhook.secret = new_secret()
    webhook.save(update_fields=["secret"])
    audit_record(actor=actor, target=webhook, action="webhook.rotate_secret")
    return webhook


def emit(*, organization: Organization, event: str, data: dict) -> list[Delivery]:
    """Queue one delivery of the event to every active webhook of the organisation that subscribed to it.

    Call it inside the transaction of the change it reports: the deliveries are sent only once that commits.
    """
    if event not in Event.values:
        raise ValueError(f"unknown webhook event {event!r}")
    webhooks = [w for w in Webhook.objects.filter(organization=organization, is_active=True) if w.wants(event)]
    if not webhooks:
        return []
    data = json.loads(json.dumps(data, cls=DjangoJSONEncoder))  # what the receiver will see, stored as such
    now = timezone.now()
    deliveries = []
    with transaction.atomic():
        for webhook in webhooks:
            delivery_id = uuid.uuid4()
            payload = {
                "id": str(delivery_id),
                "event": event,
                "created_at": now.isoformat(),
                "organization": organization.slug,
                "data": data,
            }
            delivery = Delivery.objects.create(
                id=delivery_id, webhook=webhook, event=event, payload=payload, next_attempt_at=now
            )
            deliveries.append(delivery)
            transaction.on_commit(lambda pk=delivery.pk: _enqueue(pk))
    return deliveries


def _enqueue(delivery_id, run_after: datetime | None = None) -> None:
    from shelf.webhooks.tasks import deliver

    task = deliver
    if run_after is not None:
        if not deliver.get_backend().supports_defer:
            # This backend cannot wait: `manage.py webhooks_deliver_due` sends it once it is due.
            return
        task = deliver.using(run_after=run_after)
    task.enqueue(str(delivery_id))


def encode_body(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Shelf-Signature value: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the secret>."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def signed_request(delivery: Delivery, *, timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one attempt; each attempt is signed afresh with the current time and secret."""
    body = encode_body(delivery.payload)
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Shelf-Event": delivery.event,
        "X-Shelf-Delivery": str(delivery.pk),
        "X-Shelf-Timestamp": stamp,
        "X-Shelf-Signature": signature(delivery.webhook.secret, stamp, body),
    }
    return body, headers


def delivery_attempt(delivery: Delivery) -> Delivery:
    """Send a pending delivery once and record the outcome: 2xx succeeds; anything else is retried with backoff.

    Nothing is done for a delivery that is no longer pending, or that another worker claimed meanwhile.
    The HTTP request runs outside any transaction, so the database is never locked while a receiver is slow.
    """
    delivery = Delivery.objects.select_related("webhook").filter(pk=delivery.pk).first()
    if delivery is None or delivery.status != Delivery.Status.PENDING:
        return delivery
    attempt = delivery.attempts + 1
    claimed = Delivery.objects.filter(
        pk=delivery.pk, status=Delivery.Status.PENDING, attempts=delivery.attempts
    ).update(attempts=attempt)
    if not claimed:
        return Delivery.objects.get(pk=delivery.pk)
    delivery.attempts = attempt

    status_code, error, excerpt = None, "", ""
    if not delivery.webhook.is_active:
        return _finish(delivery, status=Delivery.Status.FAILED, error=_("The webhook is disabled."))
    body, headers = signed_request(delivery)
    try:
        response = net.post(delivery.webhook.url, body=body, headers=headers)
    except net.Refused as exc:
        error = str(exc)
    except httpx.TimeoutException:
        error = _("Timed out after %(seconds)s seconds.") % {"seconds": f"{net.TIMEOUT_SECONDS:g}"}
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    else:
        status_code, excerpt = response.status_code, response.excerpt
        if 200 <= status_code < 300:
            return _finish(delivery, status=Delivery.Status.SUCCEEDED, status_code=status_code, excerpt=excerpt)
        error = _("The receiver answered HTTP %(code)d.") % {"code": status_code}

    if attempt >= MAX_ATTEMPTS:
        return _finish(delivery, status=Delivery.Status.FAILED, status_code=status_code, error=error, excerpt=excerpt)
    next_at = timezone.now() + BACKOFF[min(attempt, len(BACKOFF)) - 1]
    delivery = _finish(
        delivery, status=Delivery.Status.PENDING, status_code=status_code, error=error, excerpt=excerpt, next_at=next_at
    )
    _enqueue(delivery.pk, run_after=next_at)
    return delivery


def _finish(
    delivery: Delivery,
    *,
    status: str,
    status_code: int | None = None,
    error: str = "",
    excerpt: str = "",
    next_at: datetime | None = None,
) -> Delivery:
    delivery.status = status
    delivery.last_status_code = status_code
    delivery.last_error = error[: Delivery.ERROR_MAX]
    delivery.response_excerpt = excerpt[: Delivery.RESPONSE_EXCERPT_MAX]
    delivery.next_attempt_at = next_at
    if status == Delivery.Status.SUCCEEDED:
        delivery.delivered_at = timezone.now()
    delivery.save(
        update_fields=[
            "status",
            "last_status_code",
            "last_error",
            "response_excerpt",
            "next_attempt_at",
            "delivered_at",
        ]
    )
    if status != Delivery.Status.PENDING:
        log.info("webhook delivery %s %s after %d attempt(s)", delivery.pk, status, delivery.attempts)
    return delivery


def deliveries_due(*, now: datetime | None = None):
    """Pending deliveries whose next attempt is due: the safety net for a lost job or a backend without run_after."""
    return Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now or timezone.now()).order_by(
        "next_attempt_at"
    )
