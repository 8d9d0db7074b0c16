import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Image(models.Model):
    """A provider's custom disk image (自定义镜像) in one region."""

    class Status(models.TextChoices):
        IMPORTING = "importing", _("importing")
        VALIDATING = "validating", _("validating")
        AVAILABLE = "available", _("available")
        FAILED = "failed", _("failed")

    class Format(models.TextChoices):
        QCOW2 = "qcow2", "qcow2"
        RAW = "raw", "raw"
        VMDK = "vmdk", "vmdk"
        VHD = "vhd", "vhd"
        VHDX = "vhdx", "vhdx"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="images")
    region = models.ForeignKey("catalog.Region", on_delete=models.PROTECT, related_name="images")
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    os_hint = models.CharField(_("operating system"), max_length=100, blank=True)
    disk_format = models.CharField(_("disk format"), max_length=8, choices=Format.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.IMPORTING)
    virtual_size = models.BigIntegerField(_("virtual size"), null=True, blank=True)
    stored_size = models.BigIntegerField(_("stored size"), default=0)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    failure_code = models.CharField(max_length=40, blank=True)
    failure_reason = models.TextField(_("failure reason"), blank=True)
    source_image = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="copies", verbose_name=_("copied from")
    )
    # The build server (a compute instance, by id: compute sits above images) this image was captured from.
    captured_from = models.CharField(_("captured from build server"), max_length=36, blank=True)
    # A base image (公共镜像): published by an operator so every provider may launch build servers from it.
    is_base = models.BooleanField(_("base image"), default=False)
    base_published_at = models.DateTimeField(_("published as a base image"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    available_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organization", "region", "status"]),
            models.Index(fields=["is_base", "region"], name="images_image_base_region"),
        ]
        verbose_name = _("custom image")
        verbose_name_plural = _("custom images")

    def __str__(self) -> str:
        return f"{self.name} ({self.region.code})"

    @property
    def storage_key(self) -> str:
        # Sharded by region, then organisation; the object name is the server's UUID, never the provider's.
        return f"images/{self.region.code}/{self.organization_id}/{self.id}"


class ImageUpload(models.Model):
    """The resumable upload session of an importing image; the running SHA-256 state lives here between chunks."""

    image = models.OneToOneField(Image, on_delete=models.CASCADE, related_name="upload")
    expected_size = models.BigIntegerField(null=True, blank=True)
    expected_sha256 = models.CharField(max_length=64, blank=True)
    received = models.BigIntegerField(default=0)
    hash_state = models.BinaryField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"upload of {self.image_id}: {self.received}/{self.expected_size or '?'}"
