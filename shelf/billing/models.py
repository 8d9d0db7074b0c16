"""Billing over time: prepaid terms and their renewals, postpaid usage intervals and hourly records, arrears.

Money itself is only ever in orders' ledger (LedgerEntry); these rows say what each ledger row paid for and
remember which steps (notices, isolation, release) were already taken, so the billing job is idempotent.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shelf.orders.models import MONEY


class PrepaidTerm(models.Model):
    """The paid-for period of a prepaid order: it ends at `expires_at`, then isolation, then release on day 8."""

    class State(models.TextChoices):
        ACTIVE = "active", pgettext_lazy("term state", "active")
        ISOLATED = "isolated", pgettext_lazy("term state", "isolated")  # expired, renewable for 7 days
        RELEASED = "released", pgettext_lazy("term state", "released")  # not renewed: instance terminated
        ENDED = "ended", pgettext_lazy("term state", "ended")  # terminated by the buyer, or the order failed

    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, related_name="term")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="prepaid_terms")
    starts_at = models.DateTimeField(_("term started"))
    expires_at = models.DateTimeField(_("expires"), db_index=True)
    auto_renew = models.BooleanField(_("auto-renew"), default=False)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.ACTIVE)
    renewals = models.PositiveIntegerField(_("renewals"), default=0)
    # The expiry each notice was sent for: a renewal moves expires_at, so the next term's notices go out again.
    notice_7d_for = models.DateTimeField(null=True, blank=True)
    notice_1d_for = models.DateTimeField(null=True, blank=True)
    autorenew_failed_for = models.DateTimeField(null=True, blank=True)
    isolated_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["expires_at"]
        verbose_name = _("prepaid term")
        verbose_name_plural = _("prepaid terms")
        indexes = [models.Index(fields=["state", "expires_at"])]

    def __str__(self) -> str:
        return f"term of {self.order_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class Renewal(models.Model):
    """One renewal n of a term (manual or automatic): its months, the period it adds and its ledger row."""

    term = models.ForeignKey(PrepaidTerm, on_delete=models.PROTECT, related_name="renewal_rows")
    number = models.PositiveIntegerField(_("renewal"))
    term_unit = models.CharField(_("term unit"), max_length=8)
    term_count = models.PositiveSmallIntegerField(_("term length"))
    starts_at = models.DateTimeField(_("from"))  # the old expiry, not the time of renewal
    ends_at = models.DateTimeField(_("until"))
    amount = models.DecimalField(_("amount (CNY)"), **MONEY)
    server_monthly = models.DecimalField(_("server price per month"), **MONEY)  # for early-termination refunds
    automatic = models.BooleanField(_("automatic"), default=False)
    entry = models.OneToOneField("orders.LedgerEntry", on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["term", "number"]
        verbose_name = _("renewal")
        verbose_name_plural = _("renewals")
        constraints = [models.UniqueConstraint(fields=["term", "number"], name="billing_renewal_once_per_number")]

    def __str__(self) -> str:
        return f"renewal {self.number} of {self.term_id}"


class UsageInterval(models.Model):
    """A postpaid instance was metered from `started_at` (running) to `ended_at` (stopped/terminated; NULL: still).

    `settled_to`: every clock hour before it is settled for this interval, so the job skips what it already did.
    """

    instance = models.ForeignKey("compute.Instance", on_delete=models.PROTECT, related_name="usage_intervals")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="usage_intervals")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    settled_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance"], condition=Q(ended_at__isnull=True), name="billing_one_open_interval"
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="billing_interval_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instance_id} {self.started_at:%Y-%m-%d %H:%M:%S} – {self.ended_at or '…'}"


class UsageRecord(models.Model):
    """One settled clock hour of one postpaid instance: the seconds it ran, what was charged (one per hour)."""

    instance = models.ForeignKey("compute.Instance", on_delete=models.PROTECT, related_name="usage_records")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="usage_records")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="usage_records")
    hour = models.DateTimeField(_("hour (start, UTC)"))
    seconds = models.PositiveIntegerField(_("seconds metered"))
    billed_seconds = models.PositiveIntegerField(_("seconds billed"))
    rounding = models.CharField(_("rounding"), max_length=8)
    amount = models.DecimalField(_("amount (CNY)"), **MONEY)  # positive figure charged; 0.00 below one fen
    currency = models.CharField(max_length=3, default="CNY")
    entry = models.OneToOneField(
        "orders.LedgerEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["hour"]
        verbose_name = _("usage record")
        verbose_name_plural = _("usage records")
        constraints = [models.UniqueConstraint(fields=["instance", "hour"], name="billing_usage_once_per_hour")]
        indexes = [models.Index(fields=["buyer", "hour"])]

    def __str__(self) -> str:
        return f"{self.instance_id} {self.hour:%Y-%m-%dT%H}Z {self.amount}"


class Arrears(models.Model):
    """A postpaid buyer's balance went below zero at `started_at`: 2 hours later his instances stop; 24 hours
    after the stop they are released unless he topped up (then the case is cleared and they may start again)."""

    class Outcome(models.TextChoices):
        OPEN = "", pgettext_lazy("arrears outcome", "open")
        CLEARED = "cleared", pgettext_lazy("arrears outcome", "cleared by a top-up")
        RELEASED = "released", pgettext_lazy("arrears outcome", "instances released")

    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="arrears")
    started_at = models.DateTimeField(_("in arrears since"))
    stopped_at = models.DateTimeField(_("instances stopped"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.OPEN, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("arrears")
        verbose_name_plural = _("arrears")
        constraints = [
            models.UniqueConstraint(
                fields=["buyer"], condition=Q(closed_at__isnull=True), name="billing_one_open_arrears"
            )
        ]

    def __str__(self) -> str:
        return f"arrears of {self.buyer} since {self.started_at:%Y-%m-%d %H:%M}"


from shelf.billing.revenue import *  # noqa: E402,F403 - revenue models (commission rates, splits) live in revenue.py
