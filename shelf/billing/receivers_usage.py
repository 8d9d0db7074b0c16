"""What billing does when compute or orders announce something: meter postpaid servers, open prepaid terms,
refund an early-terminated prepaid server. Each runs inside the announcing transaction."""

from django.dispatch import receiver
from django.utils import timezone

from shelf.billing import metering, services
from shelf.compute.models import Instance
from shelf.compute.signals import instance_state_changed
from shelf.orders.signals import ledger_posted


@receiver(instance_state_changed)
def meter_and_end_terms(sender, instance: Instance, previous: str, to: str, **kwargs) -> None:
    now = timezone.now()
    if to in metering.METERED_FROM:
        metering.interval_open(instance=instance, at=now)
    elif to in metering.METERED_UNTIL:
        metering.interval_close(instance=instance, at=now)
    if to == Instance.State.TERMINATING:
        services.term_terminated_early(instance=instance)


@receiver(ledger_posted)
def open_prepaid_term(sender, entry, **kwargs) -> None:
    """The placement charge of a prepaid order starts its term."""
    if entry.order_id and entry.ref == f"order:{entry.order_id}:charge":
        services.term_open(order=entry.order)
