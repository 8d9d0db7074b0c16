"""Postpaid metering: usage intervals from compute's transitions, and the job that settles each clock hour once.

An instance of a postpaid order is metered from the moment it reaches `running` until it is stopped, terminated,
lost or failed (reboots and the stop itself are still metered). `settle_usage` turns every clock hour (UTC) that has
ended into one UsageRecord per (instance, hour) and one ledger charge "usage:<instance>:<hour>":
- each hour is its own transaction under the buyer's account lock: a worker killed halfway loses at most the hour
  it was writing, which the next run settles; two workers at once wait for each other and the second finds the
  record (the unique (instance, hour) and the ledger's unique ref back this up);
- the price is orders' `quote` for one hour at the prices in force when the hour is settled;
- rounding (SHELF_BILLING_USAGE_ROUNDING): "second" (default, Tencent): the whole seconds run in the hour × the
  hourly price / 3600; "hour" (AWS's started hour): any running in the hour bills the whole hour. The server part
  and the image part are each rounded to the fen (half up) and the charge is their sum; below one fen, the hour is
  recorded with 0.00 and nothing is charged.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from shelf.billing.models import UsageInterval, UsageRecord
from shelf.compute.models import Instance
from shelf.orders.models import InstanceOffer, LedgerEntry, Order
from shelf.orders.pricing import Term, money, quote
from shelf.orders.services import account_lock, ledger_post

HOUR = timedelta(hours=1)
S = Instance.State
METERED_FROM = (S.RUNNING,)
METERED_UNTIL = (S.STOPPED, S.TERMINATING, S.TERMINATED, S.LOST, S.FAILED)


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hour_ref(instance_id, hour: datetime) -> str:
    return f"usage:{instance_id}:{hour.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"


def postpaid_order_of(instance: Instance) -> Order | None:
    return Order.objects.filter(instance=instance, billing_mode="postpaid").select_related("buyer").first()


def interval_open(*, instance: Instance, at: datetime) -> UsageInterval | None:
    """Start metering (inside compute's transition); an interval already open stays as it is."""
    order = postpaid_order_of(instance)
    if order is None:
        return None
    open_ = UsageInterval.objects.filter(instance=instance, ended_at__isnull=True).first()
    if open_ is not None:
        return open_
    try:
        with transaction.atomic():
            return UsageInterval.objects.create(instance=instance, order=order, started_at=at)
    except IntegrityError:  # a concurrent transition opened it
        return UsageInterval.objects.filter(instance=instance, ended_at__isnull=True).first()


def interval_close(*, instance: Instance, at: datetime) -> int:
    return UsageInterval.objects.filter(instance=instance, ended_at__isnull=True).update(ended_at=at)


def _overlap(intervals, start: datetime, end: datetime, now: datetime) -> timedelta:
    total = timedelta()
    for interval in intervals:
        lo, hi = max(interval.started_at, start), min(interval.ended_at or now, end)
        if hi > lo:
            total += hi - lo
    return total


def hour_settle(*, instance_id, hour: datetime, now: datetime | None = None) -> UsageRecord | None:
    """Settle one ended clock hour of one instance, once: the record and its charge commit together."""
    now, end = now or timezone.now(), hour + HOUR
    if end > now:
        return None  # not over yet
    try:
        with transaction.atomic():
            order = (
                Order.objects.select_related("buyer", "revision", "instance")
                .filter(instance_id=instance_id, billing_mode="postpaid")
                .first()
            )
            if order is None:
                return None
            account_lock(order.buyer)
            intervals = list(
                UsageInterval.objects.select_for_update()
                .filter(instance_id=instance_id, started_at__lt=end)
                .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=hour))
            )
            record = UsageRecord.objects.filter(instance_id=instance_id, hour=hour).first()
            if record is None:
                record = _record(order, intervals, hour, now)
            for interval in intervals:
                if interval.settled_to is None or interval.settled_to < end:
                    interval.settled_to = end
                    interval.save(update_fields=["settled_to"])
            return record
    except IntegrityError:
        # Another worker wrote this hour between our check and insert; anything else is a real error.
        record = UsageRecord.objects.filter(instance_id=instance_id, hour=hour).first()
        if record is None:
            raise
        return record


def _record(order: Order, intervals, hour: datetime, now: datetime) -> UsageRecord:
    ran = _overlap(intervals, hour, hour + HOUR, now)
    seconds = int(ran.total_seconds())
    rounding = settings.SHELF_BILLING_USAGE_ROUNDING
    billed = 3600 if (rounding == "hour" and ran > timedelta()) else seconds
    priced = quote(
        revision=order.revision,
        offer=InstanceOffer.objects.get(pk=order.offer_id),
        disk_gib=order.disk_gib,
        term=Term("hour", 1),
    )
    share = Decimal(billed) / Decimal(3600)
    server, image = money(priced.server_price * share), money(priced.image_price * share)
    entry = None
    if server + image > 0:
        local = timezone.localtime(hour)
        entry, _created = ledger_post(
            user=order.buyer,
            kind=LedgerEntry.Kind.CHARGE,
            server_part=-server,
            image_part=-image,
            currency=priced.currency,
            reason=_("Usage of %(name)s, %(hour)s (%(seconds)d s)")
            % {"name": order.name, "hour": local.strftime("%Y-%m-%d %H:00"), "seconds": billed},
            ref=hour_ref(order.instance_id, hour),
            order=order,
            instance=order.instance,
        )
    return UsageRecord.objects.create(
        instance_id=order.instance_id,
        order=order,
        buyer=order.buyer,
        hour=hour,
        seconds=seconds,
        billed_seconds=billed,
        rounding=rounding,
        amount=server + image,
        currency=priced.currency,
        entry=entry,
    )


def hours_due(limit: datetime) -> list[tuple[str, datetime]]:
    """(instance, hour) pairs that ended before `limit` and are not settled yet, oldest first."""
    pending = UsageInterval.objects.filter(Q(settled_to__isnull=True) | Q(settled_to__lt=limit)).filter(
        Q(ended_at__isnull=True) | Q(settled_to__isnull=True) | Q(settled_to__lt=F("ended_at"))
    )
    due: set[tuple[str, datetime]] = set()
    for interval in pending:
        hour = floor_hour(interval.settled_to or interval.started_at)
        stop = min(interval.ended_at or limit, limit)
        while hour < stop:
            due.add((str(interval.instance_id), hour))
            hour += HOUR
    return sorted(due, key=lambda pair: (pair[1], pair[0]))


def settle_usage(*, until: datetime | None = None) -> dict[str, int]:
    """Settle every ended hour up to `until` (default now; never past now), each in its own transaction."""
    now = timezone.now()
    limit = floor_hour(min(until or now, now))
    settled = charged = 0
    for instance_id, hour in hours_due(limit):
        record = hour_settle(instance_id=instance_id, hour=hour, now=now)
        if record is not None:
            settled += 1
            charged += record.entry_id is not None
    return {"hours": settled, "charged": charged}
