"""Webhooks over HTTP: a provider registers endpoints of its organisations and reads their delivery logs.

Another organisation's webhook, and every webhook for a non-provider, is 404. The secret is returned so the
receiver can verify `X-Shelf-Signature` (docs/webhooks.md).
"""

from django.shortcuts import get_object_or_404
from ninja import Router, Status

from shelf.accounts.access import require_provider
from shelf.accounts.selectors import organization_for_write
from shelf.webhooks.models import Webhook
from shelf.webhooks.schemas import DeliveryOut, WebhookIn, WebhookOut
from shelf.webhooks.selectors import deliveries_of, webhooks_for
from shelf.webhooks.services import webhook_create, webhook_delete, webhook_rotate_secret

router = Router(tags=["webhooks"])


def _owned(request, webhook_id) -> Webhook:
    return get_object_or_404(webhooks_for(request.user), pk=webhook_id)


@router.get("/webhooks", response=list[WebhookOut])
def webhook_list(request):
    require_provider(request.user)  # a list answers 404, not [], to anyone but a provider
    return webhooks_for(request.user)


@router.post("/webhooks", response={201: WebhookOut})
def webhook_add(request, payload: WebhookIn):
    organization = organization_for_write(request.user, payload.organization)  # 404 unless a provider
    webhook = webhook_create(
        actor=request.user, organization=organization, url=payload.url or "", events=payload.events
    )
    return Status(201, webhook)


@router.get("/webhooks/{uuid:webhook_id}", response=WebhookOut)
def webhook_detail(request, webhook_id):
    return _owned(request, webhook_id)


@router.delete("/webhooks/{uuid:webhook_id}", response={204: None})
def webhook_remove(request, webhook_id):
    webhook_delete(actor=request.user, webhook=_owned(request, webhook_id))
    return Status(204, None)


@router.post("/webhooks/{uuid:webhook_id}/rotate-secret", response=WebhookOut)
def webhook_rotate(request, webhook_id):
    return webhook_rotate_secret(actor=request.user, webhook=_owned(request, webhook_id))


@router.get("/webhooks/{uuid:webhook_id}/deliveries", response=list[DeliveryOut])
def webhook_deliveries(request, webhook_id):
    return list(deliveries_of(_owned(request, webhook_id)))
