import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Round
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 14, "decimal_places": 2}


class InstanceType(models.Model):
    """A server size (实例规格) such as S5.SMALL1: vCPUs and memory. Prices are per region, in InstanceOffer."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    family = models.CharField(_("family"), max_length=40, help_text=_("For example “Standard S5”."))
    vcpus = models.PositiveSmallIntegerField(_("vCPUs"))
    memory_mib = models.PositiveIntegerField(_("memory (MiB)"))
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "vcpus", "memory_mib", "code"]
        verbose_name = _("instance type")
        verbose_name_plural = _("instance types")
        constraints = [
            models.CheckConstraint(condition=Q(vcpus__gte=1), name="instance_type_vcpus_positive"),
            models.CheckConstraint(condition=Q(memory_mib__gte=128), name="instance_type_memory_min"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def memory_gib_display(self) -> str:
        gib = self.memory_mib / 1024
        return f"{gib:g}"


class InstanceOffer(models.Model):
    """One instance type sold in one region: its monthly and hourly price in CNY and its system disk range."""

    region = models.ForeignKey("catalog.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    instance_type = models.ForeignKey(
        InstanceType, on_delete=models.PROTECT, related_name="offers", verbose_name=_("instance type")
    )
    price_monthly = models.DecimalField(_("monthly price (CNY)"), **MONEY)
    price_hourly = models.DecimalField(_("hourly price (CNY)"), **MONEY)
    disk_min_gib = models.PositiveIntegerField(_("system disk minimum (GiB)"), default=20)
    disk_max_gib = models.PositiveIntegerField(_("system disk maximum (GiB)"), default=500)
    on_sale = models.BooleanField(_("on sale"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["region__position", "region__code", "instance_type__position", "instance_type__vcpus"]
        verbose_name = _("instance offer")
        verbose_name_plural = _("instance offers")
        constraints = [
            models.UniqueConstraint(fields=["region", "instance_type"], name="offer_one_per_region_and_type"),
            models.CheckConstraint(condition=Q(price_monthly__gt=0, price_hourly__gt=0), name="offer_prices_positive"),
            models.CheckConstraint(
                condition=Q(disk_min_gib__gte=1, disk_max_gib__gte=models.F("disk_min_gib")), name="offer_disk_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instance_type.code} in {self.region.code}"


class BuyerAccount(models.Model):
    """A buyer's account row. Its balance is the sum of his ledger; the row is locked to serialise charges."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("buyer account")
        verbose_name_plural = _("buyer accounts")

    def __str__(self) -> str:
        return str(self.user)


class LedgerEntry(models.Model):
    """One movement of a buyer's balance, with who made it and why. Rows are only ever added.

    A charge or a refund says what it paid for: `server_part` (the marketplace's server) plus `image_part` (the
    provider's image) is exactly `amount`, so billing can split revenue without re-deriving prices. `ref` names what
    it is for ("order:<id>:charge", "usage:<instance>:<hour>", ...): one row per ref, whatever retries, duplicate
    signals or concurrent jobs do.
    """

    class Kind(models.TextChoices):
        TOPUP = "topup", _("top-up")
        CHARGE = "charge", _("charge")
        REFUND = "refund", _("refund")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ledger_entries")
    amount = models.DecimalField(_("amount (CNY)"), **MONEY)
    currency = models.CharField(max_length=3, default="CNY")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    reason = models.CharField(_("reason"), max_length=200)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    order = models.ForeignKey("Order", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries")
    instance = models.ForeignKey(
        "compute.Instance", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    server_part = models.DecimalField(_("server part (CNY)"), null=True, blank=True, **MONEY)
    image_part = models.DecimalField(_("image part (CNY)"), null=True, blank=True, **MONEY)
    ref = models.CharField(max_length=120, null=True, blank=True)  # noqa: DJ001 (NULL, not "", for top-ups: unique only when set)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        constraints = [
            models.UniqueConstraint(fields=["ref"], condition=Q(ref__isnull=False), name="ledger_one_per_ref"),
            models.CheckConstraint(
                condition=(Q(kind="charge", amount__lt=0) | Q(kind__in=["topup", "refund"], amount__gt=0)),
                name="ledger_sign_follows_kind",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="topup", server_part__isnull=True, image_part__isnull=True)
                    | Q(
                        kind__in=["charge", "refund"],
                        server_part__isnull=False,
                        image_part__isnull=False,
                        # Rounded to the fen: SQLite compares these as floats (-0.10 + -0.05 != -0.15 there).
                        amount=Round(models.F("server_part") + models.F("image_part"), 2),
                    )
                ),
                name="ledger_parts_add_up",
            ),
        ]
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} for {self.user}"


class Order(models.Model):
    """A buyer's purchase of a product's image on a server: what was chosen, the price as quoted, what was charged."""

    class Status(models.TextChoices):
        PLACED = "placed", _("placed")
        FAILED = "failed", _("failed")  # its instance failed or was lost; what was charged is refunded

    class TermUnit(models.TextChoices):
        MONTH = "month", _("month")
        YEAR = "year", _("year")
        HOUR = "hour", _("hour")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    product = models.ForeignKey("products.Product", on_delete=models.PROTECT, related_name="orders")
    revision = models.ForeignKey("products.Revision", on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey("catalog.Region", on_delete=models.PROTECT, related_name="+")
    offer = models.ForeignKey(InstanceOffer, on_delete=models.PROTECT, related_name="orders")
    instance_type = models.ForeignKey(InstanceType, on_delete=models.PROTECT, related_name="+")
    disk_gib = models.PositiveIntegerField(_("system disk (GiB)"))
    billing_mode = models.CharField(_("billing mode"), max_length=10)
    term_unit = models.CharField(_("term unit"), max_length=8, choices=TermUnit.choices)
    term_count = models.PositiveSmallIntegerField(_("term length"))
    currency = models.CharField(max_length=3, default="CNY")
    # The quote, as the buyer saw it (per month for prepaid, per hour for postpaid; totals over the term).
    server_price = models.DecimalField(_("server price per unit"), **MONEY)
    image_price = models.DecimalField(_("image price per unit"), **MONEY)
    unit_price = models.DecimalField(_("price per unit"), **MONEY)
    server_total = models.DecimalField(_("server total"), **MONEY)
    image_total = models.DecimalField(_("image total"), **MONEY)
    total = models.DecimalField(_("total"), **MONEY)
    charged = models.DecimalField(_("charged"), **MONEY)
    ssh_public_key = models.TextField(_("SSH public key"))
    ssh_key_fingerprint = models.CharField(_("SSH key fingerprint"), max_length=80)
    name = models.CharField(_("name"), max_length=60)
    hostname = models.CharField(_("hostname"), max_length=63)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PLACED)
    idempotency_key = models.CharField(max_length=255)
    # SHA-256 of what was asked, so a reused key with other choices is refused instead of answering another order.
    request_hash = models.CharField(max_length=64)
    instance = models.ForeignKey(
        "compute.Instance", null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(fields=["buyer", "idempotency_key"], name="order_idempotency_key_per_buyer")
        ]
        indexes = [models.Index(fields=["buyer", "-created_at"])]

    def __str__(self) -> str:
        return f"order {str(self.id)[:8]} ({self.name})"

    @property
    def organization(self):
        """Whose product was bought: the audit trail files the order under the provider too."""
        return self.product.organization
