"""Reads of billing for the buyer: his terms, his charges per instance and per day, his monthly bill.

A buyer sees only his own rows; anyone else gets nothing (a foreign term is a 404).
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from shelf.accounts.models import User
from shelf.billing.models import PrepaidTerm, UsageRecord
from shelf.orders.models import LedgerEntry

ZERO = Decimal("0.00")


def terms_for(user: User) -> QuerySet[PrepaidTerm]:
    if not (user.is_authenticated and user.is_buyer):
        return PrepaidTerm.objects.none()
    return PrepaidTerm.objects.filter(buyer=user).select_related("order__instance", "order__instance_type")


def usage_for(user: User) -> QuerySet[UsageRecord]:
    if not (user.is_authenticated and user.is_buyer):
        return UsageRecord.objects.none()
    return UsageRecord.objects.filter(buyer=user)


def month_bounds(month: str | None) -> tuple[datetime, datetime, str]:
    """[start, end) of a local calendar month "YYYY-MM" (the current month when None); ValueError if malformed."""
    if month:
        year, mon = (int(part) for part in month.split("-"))
        if not (2000 <= year <= 9999 and 1 <= mon <= 12) or len(month) != 7:
            raise ValueError(month)
    else:
        today = timezone.localdate()
        year, mon = today.year, today.month
    tz = timezone.get_current_timezone()
    start = datetime(year, mon, 1, tzinfo=tz)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=tz)
    return start, end, f"{year:04d}-{mon:02d}"


def bill_entries(user: User, month: str | None) -> tuple[list[LedgerEntry], str]:
    """The month's charges and refunds of the buyer (not top-ups), oldest first, each with its instance."""
    start, end, label = month_bounds(month)
    if not (user.is_authenticated and user.is_buyer):
        return [], label
    rows = (
        LedgerEntry.objects.filter(user=user, created_at__gte=start, created_at__lt=end)
        .exclude(kind=LedgerEntry.Kind.TOPUP)
        .annotate(instance_ref=Coalesce("instance_id", "order__instance_id"))
        .select_related("order")
        .order_by("created_at", "id")
    )
    return list(rows), label


@dataclass
class DayCharges:
    day: date
    instance_id: str
    instance_name: str
    count: int
    amount: Decimal  # what the buyer paid that day for that instance: charges minus refunds, positive


def charges_by_instance_and_day(entries: list[LedgerEntry]) -> list[DayCharges]:
    """The bill's rows summed per local day and instance (an order's placement charge counts for its instance)."""
    groups: dict[tuple[date, str], DayCharges] = {}
    for entry in entries:
        key = (timezone.localtime(entry.created_at).date(), str(entry.instance_ref or ""))
        name = entry.order.name if entry.order else ""
        row = groups.setdefault(key, DayCharges(key[0], key[1], name, 0, ZERO))
        row.count += 1
        row.amount -= entry.amount
    return sorted(groups.values(), key=lambda r: (r.day, r.instance_name, r.instance_id))


def totals(entries: list[LedgerEntry]) -> dict[str, Decimal]:
    charged = sum((-e.amount for e in entries if e.kind == LedgerEntry.Kind.CHARGE), ZERO)
    refunded = sum((e.amount for e in entries if e.kind == LedgerEntry.Kind.REFUND), ZERO)
    return {"charged": charged, "refunded": refunded, "net": charged - refunded}


def accrued_by_instance(entries: list[LedgerEntry]) -> list[dict]:
    per: dict[str, dict] = defaultdict(lambda: {"amount": ZERO, "count": 0, "name": ""})
    for entry in entries:
        row = per[str(entry.instance_ref or "")]
        row["amount"] -= entry.amount
        row["count"] += 1
        row["name"] = entry.order.name if entry.order else row["name"]
    return [{"instance_id": key, **value} for key, value in sorted(per.items(), key=lambda kv: kv[1]["name"])]
