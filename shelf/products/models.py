import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Product(models.Model):
    """An image product of one provider organisation. Its content lives in revisions."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="products")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        revision = self.revisions.order_by("-number").first()
        return (revision.name if revision and revision.name else "") or str(self.id)[:8]


class Revision(models.Model):
    """One version of a product's content, moving through draft → in_review → listed / rejected.

    A product has one working revision at a time; listed content stays on sale in its own revision
    while a later one is edited and reviewed.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        IN_REVIEW = "in_review", _("in review")
        LISTED = "listed", _("listed")
        REJECTED = "rejected", _("rejected")
        DELISTED = "delisted", _("delisted")
        SUPERSEDED = "superseded", _("superseded")

    class AccessType(models.TextChoices):
        IMAGE = "image", _("Image")

    class BillingMode(models.TextChoices):
        PREPAID = "prepaid", _("Prepaid (yearly / monthly)")
        POSTPAID = "postpaid", _("Postpaid (hourly)")

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    # Optimistic lock: every save increments it; a save based on an older value is a conflict.
    lock_version = models.PositiveIntegerField(default=1)
    wizard_step = models.CharField(max_length=20, default="access")

    access_type = models.CharField(max_length=16, choices=AccessType.choices, default=AccessType.IMAGE)
    category = models.ForeignKey("catalog.Category", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Drafts keep what was typed even when it breaks a rule; the rules are checked on submit.
    name = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    software = models.JSONField(default=list, blank=True)
    version = models.TextField(blank=True)
    agreement = models.ForeignKey(
        "catalog.Agreement", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # TCP ports the product's servers need reachable besides SSH (22): the compute back end forwards each one.
    ports = models.JSONField(default=list, blank=True)
    billing_mode = models.CharField(max_length=10, choices=BillingMode.choices, blank=True)
    price_yearly = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    price_monthly = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    price_hourly = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    # What the provider typed for prices that could not be stored as 2-place decimals, to show it back.
    price_input = models.JSONField(default=dict, blank=True)
    currency = models.CharField(max_length=3, default="CNY")
    summary = models.TextField(blank=True)
    details = models.TextField(blank=True, help_text=_("Markdown as written by the provider."))
    details_html = models.TextField(blank=True, help_text=_("Sanitized HTML rendered from the details."))

    rejection_reasons = models.JSONField(
        default=dict, blank=True, help_text=_("Field → reason, from the last rejection.")
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product", "-number"]
        constraints = [models.UniqueConstraint(fields=["product", "number"], name="revision_number_unique")]

    def __str__(self) -> str:
        return f"{self.name or _('(untitled)')} r{self.number}"

    @property
    def organization(self):
        return self.product.organization

    @property
    def document_or_none(self):
        try:
            return self.document
        except Revision.document.RelatedObjectDoesNotExist:
            return None


class Delivery(models.Model):
    """The custom image sold in one region (交付信息)."""

    revision = models.ForeignKey(Revision, on_delete=models.CASCADE, related_name="deliveries")
    region = models.ForeignKey("catalog.Region", on_delete=models.PROTECT, related_name="+")
    # PROTECT: an image a product sells cannot be deleted; the error names the product.
    image = models.ForeignKey("images.Image", on_delete=models.PROTECT, related_name="deliveries")

    class Meta:
        ordering = ["region__position", "region__code"]
        constraints = [models.UniqueConstraint(fields=["revision", "region"], name="delivery_one_per_region")]

    def __str__(self) -> str:
        return f"{self.revision} in {self.region.code}"

    @property
    def product(self):
        return self.revision


class Picture(models.Model):
    """A 390x260 px, 72 dpi product picture, checked by content on upload."""

    revision = models.ForeignKey(Revision, on_delete=models.CASCADE, related_name="pictures")
    position = models.PositiveSmallIntegerField(default=0)
    storage_key = models.CharField(max_length=200)
    content_type = models.CharField(max_length=40)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, help_text="Of the stored picture: its pixels, re-encoded on upload.")
    upload_sha256 = models.CharField(
        max_length=64, blank=True, default="", help_text="Of the file the provider uploaded (clients compare it)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"picture {self.position} of {self.revision}"


class Document(models.Model):
    """The product document buyers download (PDF, Word, PowerPoint, ZIP or RAR), checked by content."""

    revision = models.OneToOneField(Revision, on_delete=models.CASCADE, related_name="document")
    storage_key = models.CharField(max_length=200)
    kind = models.CharField(max_length=8)
    content_type = models.CharField(max_length=100)
    filename = models.CharField(max_length=200)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.filename
