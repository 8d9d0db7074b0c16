import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from shelf.scanning import policy as verdicts
from shelf.scanning import states
from shelf.scanning.engine import severity as scale


class Scan(models.Model):
    """One host security scan (主机安全检测) of one image. Only a finished scan with verdict `passed` opens the gate."""

    class Status(models.TextChoices):
        QUEUED = states.QUEUED, _("queued")
        RUNNING = states.RUNNING, _("running")
        DONE = states.DONE, _("done")
        ERROR = states.ERROR, _("error")

    class Verdict(models.TextChoices):
        PASSED = states.PASSED, _("passed")
        FAILED = states.FAILED, _("failed")
        INCOMPLETE = states.INCOMPLETE, _("incomplete")

    class Trigger(models.TextChoices):
        IMPORT = "import", _("image became available")
        RESCAN = "rescan", _("rescan requested")
        VULNDB = "vulndb", _("vulnerability database updated")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    image = models.ForeignKey("images.Image", on_delete=models.CASCADE, related_name="scans")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    verdict = models.CharField(max_length=16, choices=Verdict.choices, blank=True)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.IMPORT)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
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
        CRITICAL = scale.CRITICAL, _("critical")
        HIGH = scale.HIGH, _("high")
        MEDIUM = scale.MEDIUM, _("medium")
        LOW = scale.LOW, _("low")
        INFO = scale.INFO, _("info")

    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="findings")
    check_id = models.CharField(max_length=80)
    family = models.CharField(max_length=40)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    title = models.CharField(max_length=300)
    evidence = models.JSONField(default=list, blank=True)
    fix = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    # Which finding this is across scans, so an exception can name it: a vulnerability id or an evidence path.
    key = models.CharField(max_length=300, blank=True)
    # Decided by the scan policy when the scan finishes: does this finding fail the verdict?
    blocking = models.BooleanField(default=False)
    excepted_by = models.ForeignKey(
        "FindingException", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["scan", "id"]

    def __str__(self) -> str:
        return f"{self.check_id}: {self.title}"


# Defaults follow the marketplace's image security standard (STANDARDS.md), written once in the Django-free policy
# (`shelf scan FILE` judges with them too): a fixable critical or high vulnerability fails; so does every account,
# SSH access, history, secret and end-of-life finding.
def _default_fail_checks():
    return list(verdicts.DEFAULT_FAIL_CHECKS)


def _default_fail_severities():
    return list(verdicts.DEFAULT_FAIL_SEVERITIES)


class ScanPolicy(models.Model):
    """How findings become a verdict. One row, edited by operators."""

    fail_vuln_severities = models.JSONField(default=_default_fail_severities)
    fail_unfixed_vulns = models.BooleanField(
        default=False, help_text=_("Also fail vulnerabilities with no published fix.")
    )
    # Without vulnerability data for an image's distribution its packages cannot be checked: incomplete, not passed.
    require_vulndb = models.BooleanField(
        default=True, help_text=_("An image whose distribution has no vulnerability data cannot pass (incomplete).")
    )
    fail_checks = models.JSONField(
        default=_default_fail_checks, help_text=_("Check ids (shell patterns like accounts.*) that fail the scan.")
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("scan policy")

    def __str__(self) -> str:
        return "scan policy"

    @classmethod
    def current(cls) -> "ScanPolicy":
        policy, _created = cls.objects.get_or_create(pk=1)
        return policy


class FindingException(models.Model):
    """An operator's exception for one finding on one image, with a justification and an expiry."""

    image = models.ForeignKey("images.Image", on_delete=models.CASCADE, related_name="finding_exceptions")
    check_id = models.CharField(max_length=80)
    key = models.CharField(max_length=300, help_text=_("Which finding: the vulnerability id or the evidence path."))
    justification = models.TextField()
    expires_at = models.DateField()
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"exception {self.check_id} {self.key} on {self.image_id}"


class VulnRecord(models.Model):
    """One OSV vulnerability record held by Shelf; imports replace it only when `modified` changes."""

    osv_id = models.CharField(max_length=100, unique=True)
    modified = models.CharField(max_length=40)
    withdrawn = models.BooleanField(default=False)
    data = models.JSONField()
    imported_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.osv_id


class VulnRecordKey(models.Model):
    """(ecosystem, package) pairs a record affects, for looking up the records relevant to an image."""

    record = models.ForeignKey(VulnRecord, on_delete=models.CASCADE, related_name="keys")
    ecosystem = models.CharField(max_length=100)
    name = models.CharField(max_length=200)

    class Meta:
        indexes = [models.Index(fields=["ecosystem", "name"])]

    def __str__(self) -> str:
        return f"{self.ecosystem}/{self.name}"


class VulnDbImport(models.Model):
    """One run of `vulndb_import`: what changed. The newest finished one dates the database on every report."""

    source = models.CharField(max_length=500)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    added = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"vulndb import {self.started_at:%Y-%m-%d %H:%M}"


YARA_SOURCE_LIMIT = 256 * 1024


class YaraRuleSet(models.Model):
    """YARA rules that operators manage for the malware check, on top of Shelf's built-in ones.

    Compile-checked whenever saved (a syntax error names its line); the active sets go with every scan job.
    """

    name = models.CharField(max_length=100, unique=True)
    source = models.TextField(help_text=_("YARA rules; `include` is not allowed."))
    is_active = models.BooleanField(default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("malware rule set")
        verbose_name_plural = _("malware rule sets")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.clean()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        problem = yara_source_problem(self.source)
        if problem:
            raise ValidationError({"source": problem})


def yara_source_problem(source: str) -> str | None:
    """Why `source` cannot be used as a rule set (empty, too large, or yara's compile error with its line), or None."""
    from shelf.scanning.engine.checks.malware import syntax_error

    if not (source or "").strip():
        return str(_("Write at least one rule."))
    if len(source.encode()) > YARA_SOURCE_LIMIT:
        return str(_("A rule set is at most %(kib)d KiB.") % {"kib": YARA_SOURCE_LIMIT // 1024})
    problem = syntax_error(source)
    if problem:
        return str(_("The rules do not compile: %(error)s") % {"error": problem})
    return None
