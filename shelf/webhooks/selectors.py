"""Reads of webhooks filtered by who may see them: a provider sees its organisations' webhooks only."""

from django.db.models import QuerySet

from shelf.accounts.models import User
from shelf.accounts.selectors import organizations_for
from shelf.webhooks.models import Delivery, Webhook

DELIVERY_LOG_LENGTH = 100


def webhooks_for(user: User) -> QuerySet[Webhook]:
    """Only members of the owning organisation; operators manage webhooks in the admin, not the console."""
    if user.is_authenticated and user.is_provider:
        return Webhook.objects.filter(organization__in=organizations_for(user)).select_related("organization")
    return Webhook.objects.none()


def deliveries_of(webhook: Webhook) -> QuerySet[Delivery]:
    """The most recent deliveries of a webhook the caller already got through webhooks_for."""
    return webhook.deliveries.order_by("-created_at")[:DELIVERY_LOG_LENGTH]
