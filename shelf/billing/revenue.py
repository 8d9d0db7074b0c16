"""Revenue models: the commission rates operators set, and the split of every charge and refund.

`RevenueSplit` is written once per charge/refund ledger row, in the row's transaction, at the rate then in force;
seen from the seller's side (a charge of -144.00 on the buyer's ledger is gross 144.00, a refund is negative).
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 14, "decimal_places": 2}
RATE = {"max_digits": 5, "decimal_places": 2}

__all__ = ["CommissionRate", "RevenueSplit"]
HALF_FEN = Value(Decimal("0.005"))


def _within_half_fen(name: str, expression) -> Q:
    return Q(**{f"{name}__gte": expression - HALF_FEN, f"{name}__lte": expression + HALF_FEN})


class CommissionRate(models.Model):
    """The marketplace's commission on the image part, in percent: the default (no category) or one category's.

    A top-level category's rate applies to its subcategories unless they have their own.
    """

    category = models.ForeignKey(
        "catalog.Category",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("category"),
        help_text=_("Empty: the marketplace's default rate."),
    )
    rate_percent = models.DecimalField(_("commission (%)"), **RATE)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = [F("category").asc(nulls_first=True)]
        verbose_name = _("commission rate")
        verbose_name_plural = _("commission rates")
        constraints = [
            # One row per category, and one default (NULL category): NULLs are distinct in a plain unique index.
            models.UniqueConstraint(Coalesce("category", Value(0)), name="commission_rate_one_per_category"),
            models.CheckConstraint(
                condition=Q(rate_percent__gte=0, rate_percent__lte=100), name="commission_rate_0_to_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rate_percent}% ({self.category or _('default')})"


class RevenueSplit(models.Model):
    """Who earns what of one charge or refund: the marketplace (server part + commission) and the provider (the rest)."""

    entry = models.OneToOneField(
        "orders.LedgerEntry", on_delete=models.PROTECT, related_name="revenue_split", verbose_name=_("ledger entry")
    )
    organization = models.ForeignKey(
        "accounts.Organization", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    product = models.ForeignKey("products.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey("catalog.Category", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=8)
    gross = models.DecimalField(_("gross"), **MONEY)
    server_part = models.DecimalField(_("server part"), **MONEY)
    image_part = models.DecimalField(_("image part"), **MONEY)
    rate_percent = models.DecimalField(_("commission (%)"), **RATE)
    commission = models.DecimalField(_("commission"), **MONEY)
    provider_net = models.DecimalField(_("provider net"), **MONEY)
    marketplace = models.DecimalField(_("marketplace share"), **MONEY)
    currency = models.CharField(max_length=3, default="CNY")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("revenue split")
        verbose_name_plural = _("revenue splits")
        constraints = [
            # Within half a fen, not "=": SQLite computes these sums in floating point (-0.30 + -0.03 != -0.33
            # there); on PostgreSQL NUMERIC they are exact. The split itself is exact Decimal arithmetic.
            models.CheckConstraint(
                condition=_within_half_fen("gross", F("server_part") + F("image_part"))
                & _within_half_fen("gross", F("provider_net") + F("marketplace"))
                & _within_half_fen("provider_net", F("image_part") - F("commission")),
                name="revenue_split_adds_up",
            ),
        ]
        indexes = [models.Index(fields=["organization", "created_at"])]

    def __str__(self) -> str:
        return f"{self.gross} {self.currency}: {self.provider_net} net, {self.marketplace} marketplace"
