from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CatalogEntry(models.Model):
    """One listed product as the public catalog shows, filters and sorts it: a copy of its listed revision.

    Written only by `shelf.storefront.services` when a revision goes to or from `listed`, in the same
    transaction, so catalog lists and facets read this one table (and its terms) and never the revision tables.
    The search index (FTS5 table on SQLite, the `search` tsvector column on PostgreSQL) is keyed by its id.
    """

    product = models.OneToOneField("products.Product", on_delete=models.CASCADE, related_name="catalog_entry")
    revision = models.OneToOneField("products.Revision", on_delete=models.CASCADE, related_name="+")
    name = models.TextField()
    summary = models.TextField(blank=True)
    version = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    software = models.JSONField(default=list, blank=True)
    provider_name = models.TextField(blank=True)
    category = models.ForeignKey("catalog.Category", on_delete=models.PROTECT, related_name="+")
    top_category = models.ForeignKey("catalog.Category", on_delete=models.PROTECT, related_name="+")
    billing_mode = models.CharField(max_length=10)
    price_yearly = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    price_monthly = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    price_hourly = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    # What a month costs, for sorting and the price filter: the monthly price when prepaid (the yearly one / 12
    # if only that is set), 720 hours (30 days) of the hourly price when postpaid.
    price_sort = models.DecimalField(max_digits=16, decimal_places=2)
    currency = models.CharField(max_length=3, default="CNY")
    regions = models.JSONField(default=list, blank=True, help_text=_("Codes of the regions it is delivered to."))
    # The same codes sorted and joined by spaces: facets group by it (a handful of distinct sets) and count each
    # region in Python, instead of joining every entry's region rows.
    region_key = models.CharField(max_length=500, blank=True, default="")
    picture_id = models.BigIntegerField(null=True, blank=True, help_text=_("The first picture, for the list card."))
    listed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("catalog entry")
        verbose_name_plural = _("catalog entries")
        indexes = [
            models.Index(fields=["listed_at", "id"], name="storefront_newest"),
            models.Index(fields=["price_sort", "id"], name="storefront_price"),
            models.Index(fields=["category", "listed_at", "id"], name="storefront_category"),
            models.Index(fields=["top_category", "listed_at", "id"], name="storefront_top_category"),
            models.Index(fields=["billing_mode", "listed_at", "id"], name="storefront_billing"),
            # Facets read only these and the id (to meet a tag or region filter): index-only counts over the
            # whole catalog or one category.
            models.Index(fields=["category", "billing_mode", "region_key", "id"], name="storefront_facets"),
            models.Index(
                fields=["top_category", "category", "billing_mode", "region_key", "id"], name="storefront_top_facets"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CatalogTerm(models.Model):
    """An exact filter value of an entry (a region code, a tag, a software name; case-folded), for filters and facets."""

    class Kind(models.TextChoices):
        REGION = "region", _("region")
        TAG = "tag", _("tag")
        SOFTWARE = "software", _("software")

    entry = models.ForeignKey(CatalogEntry, on_delete=models.CASCADE, related_name="terms")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.CharField(max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "value", "entry"], name="storefront_term_unique")]
        indexes = [models.Index(fields=["entry", "kind"], name="storefront_term_entry")]

    def __str__(self) -> str:
        return f"{self.kind}={self.value}"


class CatalogVersion(models.Model):
    """One row: a number bumped by every change of the catalog, in the same transaction.

    Cached catalog answers are keyed by it (shelf.storefront.cache), so a delisted product is gone from the
    next answer on, in every worker, without any worker being told."""

    number = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return str(self.number)


class FeaturedProduct(models.Model):
    """A product operators put on the home page under "Featured", in their order. The row outlives a delisting
    (the home page shows listed products only), so a product listed again is featured again."""

    product = models.OneToOneField("products.Product", on_delete=models.CASCADE, related_name="featured")
    position = models.PositiveIntegerField(default=0)
    featured_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    featured_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "featured_at"]
        verbose_name = _("featured product")
        verbose_name_plural = _("featured products")

    def __str__(self) -> str:
        return str(self.product_id)
