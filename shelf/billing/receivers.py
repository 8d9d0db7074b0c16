"""Billing-revenue listens to orders: every charge and refund is split in the transaction that writes it."""

from django.dispatch import receiver

from shelf.billing.revenue_services import revenue_split_record
from shelf.orders.signals import ledger_posted


@receiver(ledger_posted, dispatch_uid="billing.revenue_split")
def split_ledger_entry(sender, entry, **kwargs) -> None:
    revenue_split_record(entry=entry)
