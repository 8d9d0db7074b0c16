"""Every write of billing over time: prepaid terms (open, notices, auto-renew, renew, isolate, release, early
termination) and postpaid arrears. Postpaid metering is in shelf.billing.metering.

Money moves only through orders' `ledger_post`, under the buyer's `account_lock`, with the refs both billing
helpers agree on ("renew:<order>:<n>", "terminate:<order>:refund"), so a repeated job never charges twice.
Each step is taken once: the term row remembers which expiry a notice was sent for and whether it was isolated or
released. Rules (docs/billing.md):
- a term of N months ends N calendar months after it starts, at the same local time; a day the month lacks
  becomes its last day (Jan 31 + 1 month = Feb 28/29, Mar 31 + 1 month = Apr 30) and the next term counts on from
  that date; a year is 12 months;
- notices 7 days and 1 day before the expiry; auto-renew from the start of the expiry day (local time);
- at the expiry the instance is isolated (stopped, cannot start) and the term can still be renewed for
  GRACE (7 days), the new term starting at the old expiry; at expiry + 7 days (the start of day 8) it is released.
"""

import calendar
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from shelf.accounts.models import User
from shelf.audit.services import audit_record
from shelf.billing.models import Arrears, PrepaidTerm, Renewal
from shelf.compute.models import Instance
from shelf.compute.services import (
    TRANSITIONS,
    instance_hold_clear,
    instance_hold_set,
    instance_stop,
    instance_terminate,
)
from shelf.errors import Conflict, RuleViolations, Violation
from shelf.notifications.services import notify_users
from shelf.orders.models import InstanceOffer, LedgerEntry, Order
from shelf.orders.pricing import Quote, Term, money, quote
from shelf.orders.selectors import balance_of, product_for_sale
from shelf.orders.services import account_lock, ledger_post

GRACE = timedelta(days=7)  # isolated, renewable; released at the start of day 8
NOTICES = ((timedelta(days=7), "notice_7d_for"), (timedelta(days=1), "notice_1d_for"))
ARREARS_RUN = timedelta(hours=2)  # a postpaid buyer below zero keeps running this long
ARREARS_RELEASE = timedelta(hours=24)  # after the stop: top up within this, or the instances are released
S = Instance.State
T = PrepaidTerm.State
GONE = (S.TERMINATING, S.TERMINATED, S.FAILED)


# Calendar


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` plus whole calendar months in local time; a missing day becomes the month's last (31st → 30th)."""
    local = timezone.localtime(moment)
    years, month0 = divmod(local.month - 1 + months, 12)
    year, month = local.year + years, month0 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


def whole_months_between(start: datetime, end: datetime) -> int:
    """How many whole calendar months fit from `start` to `end` (0 when end is not after start)."""
    n = 0
    while add_months(start, n + 1) <= end:
        n += 1
    return n


def expiry_day_start(expires_at: datetime) -> datetime:
    """Local midnight of the expiry's date: auto-renew runs from here (Tencent renews on the expiry day)."""
    local = timezone.localtime(expires_at)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _url() -> str:
    return reverse("billing:home")


def _notify(user: User, event: str, title: str, body: str = "") -> None:
    notify_users(users=[user], event=event, title=title, body=body, url=_url())


def _when(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


# Opening a term


def term_open(*, order: Order) -> PrepaidTerm | None:
    """The term of a prepaid order, from the order's time for its months (None for postpaid); once per order."""
    if order.billing_mode != "prepaid":
        return None
    existing = PrepaidTerm.objects.filter(order=order).first()
    if existing is not None:
        return existing
    months = Term(order.term_unit, order.term_count).months
    term = PrepaidTerm.objects.create(
        order=order, buyer=order.buyer, starts_at=order.created_at, expires_at=add_months(order.created_at, months)
    )
    audit_record(
        actor=order.buyer,
        target=order,
        action="term.open",
        to_status=term.state,
        data={"expires_at": term.expires_at.isoformat(), "months": months},
    )
    return term


def terms_open_missing() -> int:
    """Backstop: a term for every placed prepaid order without one (placed before billing, or a lost signal)."""
    missing = Order.objects.filter(billing_mode="prepaid", status=Order.Status.PLACED, term__isnull=True)
    count = 0
    for order in missing:
        with transaction.atomic():
            if term_open(order=order) is not None:
                count += 1
    return count


# Renewing


def renewal_quote(*, term: PrepaidTerm, term_unit: str, term_count: int) -> Quote:
    """The renewal's price: orders' one pricing function, at the prices in force now (the offer's current price;
    the product's revision on sale now, or the one bought if it is no longer on sale)."""
    order = term.order
    sale = product_for_sale(order.product_id)
    revision = sale[1] if sale and sale[1].billing_mode == order.revision.billing_mode else order.revision
    offer = InstanceOffer.objects.get(pk=order.offer_id)
    return quote(revision=revision, offer=offer, disk_gib=order.disk_gib, term=Term(term_unit, term_count))


def _renewable(term: PrepaidTerm, now: datetime) -> None:
    if term.order.status != Order.Status.PLACED or term.state not in (T.ACTIVE, T.ISOLATED):
        raise Conflict(_("This term has ended: it can no longer be renewed."), code="term_ended")
    if now >= term.expires_at + GRACE:
        raise Conflict(_("The renewal period of 7 days after the expiry is over."), code="term_ended")


def term_renew(
    *, term: PrepaidTerm, term_unit: str, term_count: int, actor: User | None, automatic: bool = False
) -> Renewal:
    """Renew for 1-12 months or 1-3 years from the balance; the new period starts at the old expiry.

    An isolated term becomes active again and its instance may be started. Refuses (422) without enough money.
    """
    with transaction.atomic():
        account_lock(term.buyer)
        term = (
            PrepaidTerm.objects.select_for_update(of=("self",))
            .select_related("order__instance", "buyer")
            .get(pk=term.pk)
        )
        now = timezone.now()
        _renewable(term, now)
        if term_unit not in ("month", "year"):
            raise RuleViolations([Violation("term", "required", _("Renew for 1 to 12 months or 1 to 3 years."))])
        priced = renewal_quote(term=term, term_unit=term_unit, term_count=term_count)
        have = balance_of(term.buyer)
        if have < priced.total:
            raise RuleViolations(
                [
                    Violation(
                        "balance",
                        "insufficient_balance",
                        _("Your balance is %(have)s %(cur)s and this renewal costs %(need)s %(cur)s.")
                        % {"have": have, "need": priced.total, "cur": priced.currency},
                    )
                ]
            )
        order, number = term.order, term.renewals + 1
        starts, ends = term.expires_at, add_months(term.expires_at, priced.months)
        entry, _created = ledger_post(
            user=term.buyer,
            kind=LedgerEntry.Kind.CHARGE,
            server_part=-priced.server_total,
            image_part=-priced.image_total,
            currency=priced.currency,
            reason=_("Renewal %(n)d of order %(id)s: %(count)d %(unit)s, until %(until)s")
            % {
                "n": number,
                "id": str(order.pk)[:8],
                "count": priced.term_count,
                "unit": priced.term_unit,
                "until": _when(ends),
            },
            ref=f"renew:{order.pk}:{number}",
            actor=actor,
            order=order,
            instance=order.instance,
        )
        renewal = Renewal.objects.create(
            term=term,
            number=number,
            term_unit=priced.term_unit,
            term_count=priced.term_count,
            starts_at=starts,
            ends_at=ends,
            amount=-entry.amount,
            server_monthly=priced.server_price,
            automatic=automatic,
            entry=entry,
            actor=actor,
        )
        previous, was_isolated = term.state, term.state == T.ISOLATED
        term.renewals, term.expires_at, term.state, term.isolated_at = number, ends, T.ACTIVE, None
        term.save()
        if was_isolated and order.instance is not None:
            instance_hold_clear(instance=order.instance, hold=Instance.Hold.EXPIRED, reason="renewed", actor=actor)
        audit_record(
            actor=actor,
            target=order,
            action="term.renew",
            from_status=previous,
            to_status=term.state,
            data={
                "renewal": number,
                "from": starts.isoformat(),
                "until": ends.isoformat(),
                "amount": str(renewal.amount),
                "automatic": automatic,
            },
        )
        _notify(
            term.buyer,
            "billing.renewed",
            _("%(name)s renewed until %(until)s") % {"name": order.name, "until": _when(ends)},
            _("%(amount)s %(cur)s was charged from your balance.") % {"amount": renewal.amount, "cur": priced.currency},
        )
    return renewal


@transaction.atomic
def term_set_auto_renew(*, term: PrepaidTerm, auto_renew: bool, actor: User) -> PrepaidTerm:
    """The buyer turns auto-renew on or off (only while the term can still be renewed)."""
    term = PrepaidTerm.objects.select_for_update(of=("self",)).select_related("order").get(pk=term.pk)
    if term.state not in (T.ACTIVE, T.ISOLATED):
        raise Conflict(_("This term has ended: it can no longer be renewed."), code="term_ended")
    if not isinstance(auto_renew, bool):
        raise RuleViolations([Violation("auto_renew", "invalid", _("auto_renew is true or false."))])
    if term.auto_renew != auto_renew:
        term.auto_renew = auto_renew
        term.save(update_fields=["auto_renew", "updated_at"])
        audit_record(actor=actor, target=term.order, action="term.auto_renew", data={"auto_renew": auto_renew})
    return term


# The term's life, evaluated by the billing job


def _stop_if_running(instance: Instance) -> None:
    if instance.state in TRANSITIONS[S.STOPPING]:
        instance_stop(actor=None, instance=instance)


def _isolate(instance: Instance | None, hold: str, reason: str) -> None:
    if instance is None or instance.state in GONE:
        return
    instance = instance_hold_set(instance=instance, hold=hold, reason=reason)
    _stop_if_running(instance)


def _release(instance: Instance | None) -> None:
    if instance is not None and instance.state in TRANSITIONS[S.TERMINATING]:
        instance_terminate(actor=None, instance=instance)


def term_evaluate(*, term: PrepaidTerm, now: datetime | None = None) -> list[str]:
    """Take every step now due for one term, once each; returns what was done (for the command's report)."""
    steps: list[str] = []
    with transaction.atomic():
        term = (
            PrepaidTerm.objects.select_for_update(of=("self",))
            .select_related("order__instance", "buyer")
            .get(pk=term.pk)
        )
        now = now or timezone.now()
        order, instance = term.order, term.order.instance
        if term.state in (T.RELEASED, T.ENDED):
            return steps
        if order.status != Order.Status.PLACED or (instance is not None and instance.state in GONE):
            term.state = T.ENDED
            term.save(update_fields=["state", "updated_at"])
            return ["ended"]
        if term.state == T.ACTIVE and now < term.expires_at:
            for before, field in NOTICES:
                due = term.expires_at - before
                later_due = before == NOTICES[0][0] and now >= term.expires_at - NOTICES[1][0]
                if now >= due and getattr(term, field) != term.expires_at and not later_due:
                    setattr(term, field, term.expires_at)
                    term.save(update_fields=[field, "updated_at"])
                    _notify_expiring(term, days=before.days)
                    steps.append(f"notice_{before.days}d")
    if term.auto_renew and term.state == T.ACTIVE and now >= expiry_day_start(term.expires_at):
        steps += _auto_renew(term)
        term.refresh_from_db()
    with transaction.atomic():
        term = (
            PrepaidTerm.objects.select_for_update(of=("self",))
            .select_related("order__instance", "buyer")
            .get(pk=term.pk)
        )
        instance = term.order.instance
        if term.state == T.ACTIVE and now >= term.expires_at:
            term.state, term.isolated_at = T.ISOLATED, now
            term.save(update_fields=["state", "isolated_at", "updated_at"])
            _isolate(instance, Instance.Hold.EXPIRED, "term expired")
            audit_record(
                actor=None, target=term.order, action="term.isolate", from_status=T.ACTIVE, to_status=T.ISOLATED
            )
            _notify(
                term.buyer,
                "billing.isolated",
                _("%(name)s expired and is isolated") % {"name": term.order.name},
                _(
                    "The server is stopped and cannot be started; its disk is kept. Renew it before %(until)s, "
                    "or it is released with its disk."
                )
                % {"until": _when(term.expires_at + GRACE)},
            )
            steps.append("isolated")
        if term.state == T.ISOLATED and now >= term.expires_at + GRACE:
            term.state, term.released_at = T.RELEASED, now
            term.save(update_fields=["state", "released_at", "updated_at"])
            _release(instance)
            audit_record(
                actor=None, target=term.order, action="term.release", from_status=T.ISOLATED, to_status=T.RELEASED
            )
            _notify(
                term.buyer,
                "billing.released",
                _("%(name)s was released") % {"name": term.order.name},
                _("It was not renewed within 7 days of its expiry: the server and its disk are deleted."),
            )
            steps.append("released")
    return steps


def _notify_expiring(term: PrepaidTerm, *, days: int) -> None:
    if term.auto_renew:
        body = _("Auto-renew is on: it is charged from your balance on the expiry day.")
    else:
        body = _("Renew it, or turn auto-renew on; at the expiry the server is stopped and isolated.")
    _notify(
        term.buyer,
        f"billing.expiring_{days}d",
        _("%(name)s expires on %(when)s") % {"name": term.order.name, "when": _when(term.expires_at)},
        body,
    )


def _auto_renew(term: PrepaidTerm) -> list[str]:
    """Renew for the order's own term length; without enough money, one notice per expiry and no renewal."""
    expiry = term.expires_at
    try:
        term_renew(
            term=term, term_unit=term.order.term_unit, term_count=term.order.term_count, actor=None, automatic=True
        )
    except RuleViolations as exc:
        with transaction.atomic():
            locked = PrepaidTerm.objects.select_for_update(of=("self",)).select_related("order").get(pk=term.pk)
            if locked.autorenew_failed_for == expiry:
                return []
            locked.autorenew_failed_for = expiry
            locked.save(update_fields=["autorenew_failed_for", "updated_at"])
            _notify(
                locked.buyer,
                "billing.autorenew_failed",
                _("%(name)s could not be renewed: not enough balance") % {"name": locked.order.name},
                " ".join(v.message for v in exc.violations),
            )
        return ["autorenew_failed"]
    except Conflict:
        return []
    return ["renewed"]


def terms_evaluate(now: datetime | None = None) -> dict[str, int]:
    counts: dict[str, int] = {}
    for term in PrepaidTerm.objects.filter(state__in=(T.ACTIVE, T.ISOLATED)).order_by("expires_at"):
        for step in term_evaluate(term=term, now=now):
            counts[step] = counts.get(step, 0) + 1
    return counts


# Early termination


def term_terminated_early(*, instance: Instance) -> LedgerEntry | None:
    """The buyer terminates a prepaid instance in its term: nothing of the image comes back (images are not
    refundable); of the server, what SHELF_BILLING_TERMINATE_REFUND says ("unused_months": each whole unused month
    at the monthly server price of the period being used; "none"). Called inside compute's transition."""
    term = (
        PrepaidTerm.objects.select_for_update(of=("self",))
        .select_related("order", "buyer")
        .filter(order__instance=instance)
        .first()
    )
    if term is None or term.state != T.ACTIVE:
        return None  # isolated or released terms have nothing unused; billing's own release comes here too
    order, now = term.order, timezone.now()
    account_lock(term.buyer)
    term.state = T.ENDED
    term.save(update_fields=["state", "updated_at"])
    entry = None
    months = whole_months_between(now, term.expires_at)
    if settings.SHELF_BILLING_TERMINATE_REFUND == "unused_months" and months > 0:
        last = term.renewal_rows.order_by("-number").first()
        monthly = last.server_monthly if last else order.server_price
        paid = -(
            LedgerEntry.objects.filter(order=order, kind=LedgerEntry.Kind.CHARGE).aggregate(s=Sum("server_part"))["s"]
            or Decimal("0")
        )
        refund = min(money(monthly * months), paid)
        if refund > 0:
            entry, _created = ledger_post(
                user=term.buyer,
                kind=LedgerEntry.Kind.REFUND,
                server_part=refund,
                image_part=Decimal("0.00"),
                currency=order.currency,
                reason=_("Order %(id)s terminated early: %(n)d unused months of the server refunded")
                % {"id": str(order.pk)[:8], "n": months},
                ref=f"terminate:{order.pk}:refund",
                order=order,
                instance=instance,
            )
    audit_record(
        actor=None,
        target=order,
        action="term.terminate",
        from_status=T.ACTIVE,
        to_status=T.ENDED,
        data={"unused_months": months, "refund": str(entry.amount) if entry else "0.00"},
    )
    return entry


# Arrears (postpaid)


def _postpaid_instances(buyer: User):
    return Instance.objects.filter(
        orders__buyer=buyer, orders__billing_mode="postpaid", orders__status=Order.Status.PLACED
    ).exclude(state__in=GONE)


def arrears_evaluate(*, buyer: User, now: datetime | None = None) -> str | None:
    """One step of a postpaid buyer's arrears, if one is due: opened, stopped, cleared or released."""
    with transaction.atomic():
        account_lock(buyer)
        now = now or timezone.now()
        balance = balance_of(buyer)
        case = Arrears.objects.select_for_update().filter(buyer=buyer, closed_at__isnull=True).first()
        instances = list(_postpaid_instances(buyer))
        if case is None:
            if balance >= 0 or not instances:
                return None
            case = Arrears.objects.create(buyer=buyer, started_at=now)
            audit_record(actor=None, target=case, action="arrears.open", data={"balance": str(balance)})
            _notify(
                buyer,
                "billing.arrears",
                _("Your balance is %(balance)s CNY: top up within 2 hours") % {"balance": balance},
                _("Your pay-by-the-hour servers keep running until %(when)s, then they are stopped.")
                % {"when": _when(now + ARREARS_RUN)},
            )
            return "opened"
        if balance >= 0:
            case.closed_at, case.outcome = now, Arrears.Outcome.CLEARED
            case.save()
            for instance in Instance.objects.filter(owner=buyer, hold=Instance.Hold.ARREARS):
                instance_hold_clear(instance=instance, hold=Instance.Hold.ARREARS, reason="topped up")
            audit_record(actor=None, target=case, action="arrears.clear", data={"balance": str(balance)})
            _notify(
                buyer,
                "billing.arrears_cleared",
                _("Your balance is no longer in arrears"),
                _("Servers stopped for arrears can be started again."),
            )
            return "cleared"
        if case.stopped_at is None and now >= case.started_at + ARREARS_RUN:
            case.stopped_at = now
            case.save()
            for instance in instances:
                _isolate(instance, Instance.Hold.ARREARS, "arrears")
            audit_record(actor=None, target=case, action="arrears.stop", data={"balance": str(balance)})
            _notify(
                buyer,
                "billing.arrears_stopped",
                _("Your servers were stopped: balance %(balance)s CNY") % {"balance": balance},
                _("Top up before %(when)s to start them again; after that they are released with their disks.")
                % {"when": _when(now + ARREARS_RELEASE)},
            )
            return "stopped"
        if case.stopped_at is not None and now >= case.stopped_at + ARREARS_RELEASE:
            case.closed_at, case.outcome = now, Arrears.Outcome.RELEASED
            case.save()
            for instance in instances:
                _release(instance)
            audit_record(actor=None, target=case, action="arrears.release", data={"balance": str(balance)})
            _notify(
                buyer,
                "billing.arrears_released",
                _("Your servers were released: balance %(balance)s CNY") % {"balance": balance},
                _("The balance stayed below zero for 24 hours after the stop: the servers and disks are deleted."),
            )
            return "released"
    return None


def arrears_evaluate_all(now: datetime | None = None) -> dict[str, int]:
    """Every buyer with an open case or with live pay-by-the-hour servers."""
    buyers = set(Arrears.objects.filter(closed_at__isnull=True).values_list("buyer_id", flat=True))
    buyers |= set(
        Order.objects.filter(billing_mode="postpaid", status=Order.Status.PLACED, instance__isnull=False)
        .exclude(instance__state__in=GONE)
        .values_list("buyer_id", flat=True)
    )
    counts: dict[str, int] = {}
    for buyer in User.objects.filter(pk__in=buyers):
        step = arrears_evaluate(buyer=buyer, now=now)
        if step:
            counts[step] = counts.get(step, 0) + 1
    return counts


def holds_enforce() -> int:
    """A held instance that came up anyway (it was starting when isolated) is stopped again."""
    stopped = 0
    for instance in Instance.objects.exclude(hold=Instance.Hold.NONE).filter(state__in=TRANSITIONS[S.STOPPING]):
        with transaction.atomic():
            instance_stop(actor=None, instance=instance)
        stopped += 1
    return stopped
