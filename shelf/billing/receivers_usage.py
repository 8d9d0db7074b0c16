"""What billing does when compute or orders announce something: meter postpaid servers, open prepaid terms,
refund an early-terminated prepaid server. Each runs inside the announcing transaction."""

import logging

from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from shelf.billing import metering, services
from shelf.compute.models import Instance
from shelf.compute.signals import instance_state_changed
from shelf.orders.signals import ledger_posted

log = logging.getLogger(__name__)


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


@receiver(ledger_posted)
def clear_arrears_on_top_up(sender, entry, **kwargs) -> None:
    """A top-up of a buyer in arrears lifts the hold at once, not at the job's next pass (after the commit)."""
    if entry.kind != "topup":
        return
    user = entry.user

    def evaluate() -> None:
        try:
            services.arrears_evaluate(buyer=user)
        except Exception:  # the top-up is committed; the job's next pass does the same step
            log.exception("arrears evaluation after a top-up failed")

    transaction.on_commit(evaluate)
