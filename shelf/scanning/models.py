import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Scan(models.Model):
    """One host security scan (主机安全检测) of one image. Only a finished scan with verdict `passed` opens the gate."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        ERROR = "error", _("error")

    class Verdict(models.TextChoices):
        PASSED = "passed", _("passed")
        FAILED = "failed", _("failed")
        INCOMPLETE = "incomplete", _("incomplete")

    class Trigger(models.TextChoices):
        IMPORT = "import", _("image became available")
        RESCAN = "rescan", _("rescan requested")
        VULNDB = "vulndb", _("vulnerability database updated")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    image = models.ForeignKey("images.Image", on_delete=models.CASCADE, related_name="scans")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    verdict = models.CharField(max_length=16, choices=Verdict.choices, blank=True)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.IMPORT)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    engine_version = models.CharField(max_length=20, blank=True)
    vulndb_updated_at = models.DateTimeField(null=True, blank=True)
    os = models.JSONField(default=dict, blank=True)
    packages = models.JSONField(default=list, blank=True)
    incomplete = models.JSONField(default=list, blank=True)
    stats = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["image", "-created_at"])]
        verbose_name = _("scan")
        verbose_name_plural = _("scans")

    def __str__(self) -> str:
        return f"scan of {self.image_id} ({self.verdict or self.status})"


class Finding(models.Model):
    """One problem a scan found, with its evidence and how to fix it."""

    class Severity(models.TextChoices):
        CRITICAL = "critical", _("critical")
        HIGH = "high", _("high")
        MEDIUM = "medium", _("medium")
        LOW = "low", _("low")
        INFO = "info", _("info")

    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="findings")
    check_id = models.CharField(max_length=80)
    family = models.CharField(max_length=40)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    title = models.CharField(max_length=300)
    evidence = models.JSONField(default=list, blank=True)
    fix = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    # Decided by the scan policy when the scan finishes: does this finding fail the verdict?
    blocking = models.BooleanField(default=False)

    class Meta:
        ordering = ["scan", "id"]

    def __str__(self) -> str:
        return f"{self.check_id}: {self.title}"
