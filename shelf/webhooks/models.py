import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def new_secret() -> str:
    """256 random bits; the prefix makes a leaked secret easy to recognise in logs and scanners."""
    return f"whsec_{secrets.token_urlsafe(32)}"


class Event(models.TextChoices):
    """What an organisation can subscribe to; `emit()` accepts these names only."""

    PRODUCT_APPROVED = "product.approved", _("Product approved")
    PRODUCT_REJECTED = "product.rejected", _("Product rejected")
    PRODUCT_DELISTED = "product.delisted", _("Product delisted")
    SCAN_VERDICT_CHANGED = "scan.verdict_changed", _("Scan verdict changed")


def all_events() -> list[str]:
    return list(Event.values)


class Webhook(models.Model):
    """An HTTPS endpoint of a provider organisation that receives signed JSON events."""

    URL_MAX_LENGTH = 500

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="webhooks")
    url = models.CharField(_("URL"), max_length=URL_MAX_LENGTH)
    # Kept in clear: it signs every request. Shown to the organisation's members so they can verify signatures.
    secret = models.CharField(_("signing secret"), max_length=100, default=new_secret, editable=False)
    events = models.JSONField(_("events"), default=all_events)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["organization", "url"], name="webhook_url_unique_per_org")]
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")

    def __str__(self) -> str:
        return self.url

    def wants(self, event: str) -> bool:
        return self.is_active and event in (self.events or [])


class Delivery(models.Model):
    """One event sent (or being sent) to one webhook, with the outcome of its latest attempt."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    RESPONSE_EXCERPT_MAX = 1000
    ERROR_MAX = 500

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(_("event"), max_length=60)
    payload = models.JSONField(_("payload"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last status code"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=ERROR_MAX, blank=True)
    response_excerpt = models.TextField(_("response excerpt"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook_id} ({self.status})"
