"""The word list behind the automatic pre-review, maintained by operators (console page and Django admin)."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class ClaimWord(models.Model):
    """A word or phrase the pre-review looks for in a product's name, summary, details and document.

    How a word matches follows its characters, not `language`: a word with Chinese characters matches
    anywhere (substring), a Latin word only as a whole word, case-insensitively (`best` hits "the best",
    not "bestseller" or "best-effort"). An `allowed` phrase is the other way round: a hit that lies
    inside one (最 inside 最近, best inside "best practice") is not reported.
    """

    class Language(models.TextChoices):
        ZH = "zh", _("Chinese")
        EN = "en", _("English")

    class Kind(models.TextChoices):
        ABSOLUTE_CLAIM = "absolute_claim", _("Absolute advertising claim")
        CLOUD_VENDOR = "cloud_vendor", _("Other cloud vendor")
        PURCHASE_LINK_HINT = "purchase_link_hint", _("Purchase outside the marketplace")
        ALLOWED = "allowed", _("Allowed phrase (not a hit)")

    word = models.CharField(_("word or phrase"), max_length=100)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    is_active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["kind", "word"]
        verbose_name = _("pre-review word")
        verbose_name_plural = _("pre-review words")
        constraints = [models.UniqueConstraint(Lower("word"), "kind", name="claimword_word_kind_unique")]

    def __str__(self) -> str:
        return self.word
