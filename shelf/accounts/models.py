import hashlib

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person. The kind decides which console they use; providers act through their organisations."""

    class Kind(models.TextChoices):
        BUYER = "buyer", _("Buyer")
        PROVIDER = "provider", _("Provider")
        OPERATOR = "operator", _("Operator")

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.BUYER)

    @property
    def is_operator(self) -> bool:
        return self.is_active and self.kind == self.Kind.OPERATOR

    @property
    def is_provider(self) -> bool:
        return self.is_active and self.kind == self.Kind.PROVIDER

    @property
    def is_buyer(self) -> bool:
        return self.is_active and self.kind == self.Kind.BUYER


class Organization(models.Model):
    """A service provider (服务商). Every provider-owned object belongs to one."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    image_quota_bytes = models.BigIntegerField(
        _("image storage quota (bytes)"), null=True, blank=True, help_text=_("Empty: the site default.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="organizations")

    class Meta:
        ordering = ["name"]
        verbose_name = _("provider organisation")
        verbose_name_plural = _("provider organisations")

    def __str__(self) -> str:
        return self.name

    @property
    def image_quota(self) -> int:
        return self.image_quota_bytes if self.image_quota_bytes is not None else settings.SHELF_IMAGE_QUOTA_BYTES


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        MEMBER = "member", _("Member")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"


def hash_token(raw: str) -> str:
    # Tokens are 256-bit random strings, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=timezone.now())
        )


class ApiToken(models.Model):
    """A bearer token for the API and the CLI. Only its hash is stored; the raw value is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, help_text=_("First characters, to recognise the token."))
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()


class LoginFailure(models.Model):
    """A failed sign-in, kept a short while to slow down password guessing (see accounts.throttle)."""

    username = models.CharField(max_length=150, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.username} from {self.ip} at {self.created_at:%Y-%m-%d %H:%M}"
