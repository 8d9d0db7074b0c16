from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Claim(models.Model):
    """Which operator holds a submitted revision. One per revision: two claims at once, one wins."""

    revision = models.OneToOneField("products.Revision", on_delete=models.CASCADE, related_name="claim")
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_claims")
    claimed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.operator} holds {self.revision}"


class Decision(models.Model):
    """An operator's approval or rejection of one submitted revision, with per-field reasons."""

    class Outcome(models.TextChoices):
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    revision = models.ForeignKey("products.Revision", on_delete=models.CASCADE, related_name="decisions")
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reasons = models.JSONField(default=dict, blank=True, help_text=_("Field → reason, for a rejection."))
    checklist = models.JSONField(default=dict, blank=True)
    submitted_at = models.DateTimeField()
    decided_at = models.DateTimeField(auto_now_add=True)
    business_days = models.IntegerField(help_text=_("Working days from submission to decision."))

    class Meta:
        ordering = ["-decided_at"]

    def __str__(self) -> str:
        return f"{self.outcome} {self.revision}"
