import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Instance(models.Model):
    """A cloud server (实例): one image booted on one back end. A buyer's comes from an order (size and image the
    order chose); a provider's build server (`organization` set) from a base image, to make a custom image from.

    The state changes only in shelf.compute.services; the back end's own handle is `backend_ref`.
    """

    class State(models.TextChoices):
        PENDING = "pending", pgettext_lazy("instance state", "pending")
        LAUNCHING = "launching", pgettext_lazy("instance state", "launching")
        RUNNING = "running", pgettext_lazy("instance state", "running")
        STOPPING = "stopping", pgettext_lazy("instance state", "stopping")
        STOPPED = "stopped", pgettext_lazy("instance state", "stopped")
        STARTING = "starting", pgettext_lazy("instance state", "starting")
        REBOOTING = "rebooting", pgettext_lazy("instance state", "rebooting")
        TERMINATING = "terminating", pgettext_lazy("instance state", "terminating")
        TERMINATED = "terminated", pgettext_lazy("instance state", "terminated")
        FAILED = "failed", pgettext_lazy("instance state", "failed")
        LOST = "lost", pgettext_lazy("instance state", "lost")
        CAPTURING = "capturing", pgettext_lazy("instance state", "capturing")

    class Hold(models.TextChoices):
        """Why billing isolated the instance: it stays stopped and cannot be started until the hold is cleared."""

        NONE = "", pgettext_lazy("instance hold", "none")
        EXPIRED = "expired", pgettext_lazy("instance hold", "term expired")
        ARREARS = "arrears", pgettext_lazy("instance hold", "balance in arrears")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="instances")
    # A build server's provider organisation (its members see and control it); empty for a buyer's instance.
    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="build_servers",
        verbose_name=_("organisation"),
    )
    region = models.ForeignKey("catalog.Region", on_delete=models.PROTECT, related_name="instances")
    image = models.ForeignKey("images.Image", on_delete=models.PROTECT, related_name="instances")
    name = models.CharField(_("name"), max_length=100)
    hostname = models.CharField(_("hostname"), max_length=63)
    vcpus = models.PositiveSmallIntegerField(_("vCPUs"))
    memory_mib = models.PositiveIntegerField(_("memory (MiB)"))
    disk_gib = models.PositiveIntegerField(_("system disk (GiB)"))
    ssh_public_key = models.TextField(_("SSH public key"))
    user_data = models.TextField(_("user data"), blank=True)
    ports = models.JSONField(_("ports"), default=list, blank=True, help_text=_("Guest TCP ports to forward."))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PENDING)
    state_reason = models.TextField(_("state reason"), blank=True)
    hold = models.CharField(_("hold"), max_length=16, choices=Hold.choices, default=Hold.NONE, blank=True)
    backend = models.CharField(_("back end"), max_length=40, blank=True)
    backend_ref = models.CharField(_("back end reference"), max_length=200, blank=True)
    # Guest port (as a string, JSON keys are strings) -> the host address's port that reaches it.
    forwarded_ports = models.JSONField(_("forwarded ports"), default=dict, blank=True)
    ssh_host = models.CharField(_("SSH host"), max_length=100, blank=True)
    console_info = models.JSONField(_("console"), default=dict, blank=True)
    idempotency_key = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    running_at = models.DateTimeField(null=True, blank=True)
    terminated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "idempotency_key"], name="compute_instance_owner_idempotency")
        ]
        indexes = [
            models.Index(fields=["owner", "state"]),
            models.Index(fields=["state"]),
            models.Index(fields=["organization", "state"], name="compute_instance_org_state"),
        ]
        verbose_name = _("instance")
        verbose_name_plural = _("instances")

    def __str__(self) -> str:
        return f"{self.name} ({self.hostname})"

    @property
    def is_build_server(self) -> bool:
        return self.organization_id is not None

    @property
    def ssh_port(self) -> int | None:
        port = (self.forwarded_ports or {}).get("22")
        return int(port) if port else None

    @property
    def ssh_command(self) -> str:
        if not self.ssh_port:
            return ""
        return f"ssh -p {self.ssh_port} root@{self.ssh_host or '127.0.0.1'}"


class BootCheck(models.Model):
    """One launch of an image on the local back end with a throwaway seed, before it may be listed.

    Passed when the guest shows that it came up and read the seed: the random throwaway hostname appears on its
    serial console. Not a buyer's instance: no owner, no billing; the guest and its files are gone afterwards.
    One check per (image, scan) and attempt: the scan that passed is what the check vouches for; a failed check
    may be run again on request (attempt 2, 3, ...), for the same scan.
    """

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("boot check status", "pending")
        RUNNING = "running", pgettext_lazy("boot check status", "running")
        PASSED = "passed", pgettext_lazy("boot check status", "passed")
        FAILED = "failed", pgettext_lazy("boot check status", "failed")

    EXCERPT_MAX = 4096  # bytes of the console kept on the row (its end)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    image = models.ForeignKey("images.Image", on_delete=models.CASCADE, related_name="boot_checks")
    scan = models.ForeignKey("scanning.Scan", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    reason = models.TextField(_("reason"), blank=True)
    hostname = models.CharField(_("throwaway hostname"), max_length=63)
    first_line_seconds = models.FloatField(_("seconds to the first console line"), null=True, blank=True)
    seed_seen_seconds = models.FloatField(_("seconds until the seed was read"), null=True, blank=True)
    console_excerpt = models.TextField(_("console excerpt"), blank=True)
    backend = models.CharField(_("back end"), max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["image", "scan", "attempt"], name="compute_bootcheck_image_scan_attempt")
        ]
        verbose_name = _("boot check")
        verbose_name_plural = _("boot checks")

    def __str__(self) -> str:
        return f"boot check of {self.image_id} ({self.status})"

    @property
    def ref(self) -> str:
        return f"check-{self.pk}"
