"""Background jobs for webhooks. Each takes an id, reloads the row and does nothing if the work is done."""

from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from shelf.webhooks.models import Delivery
from shelf.webhooks.services import delivery_attempt

EARLY_SLACK = timedelta(seconds=5)


@task(queue_name="default")
def deliver(delivery_id: str) -> str:
    delivery = Delivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        return "gone"
    if delivery.status != Delivery.Status.PENDING:
        return delivery.status
    if delivery.next_attempt_at and delivery.next_attempt_at > timezone.now() + EARLY_SLACK:
        return "not_due"  # a stale duplicate job; the scheduled one comes later
    return delivery_attempt(delivery).status
