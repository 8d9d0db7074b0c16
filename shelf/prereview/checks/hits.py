"""A pre-review hit (a warning on one field of a revision), its codes and the label of its field."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

CODES = (
    "absolute_claim",
    "cloud_vendor",
    "offsite_purchase",
    "offsite_link",
    "picture_not_png",
    "picture_white_background",
    "missing_features",
    "missing_use_cases",
    "missing_usage_guide",
    "missing_service_process",
    "missing_after_sales",
    "missing_contact",
    "document_no_text",
)


@dataclass(frozen=True)
class Hit:
    field: str  # "name", "summary", "details", "document", "pictures[0]", …
    code: str
    message: str
    quote: str  # the provider's words around the hit (or the URL, the format, the file name); "" when none

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def field_label(self) -> str:
        return field_label(self.field)


def field_label(field: str) -> str:
    if field.startswith("pictures["):
        return _("Picture %(n)d") % {"n": int(field[9:-1]) + 1}
    return str(_FIELD_LABELS.get(field, field))


_FIELD_LABELS = {
    "name": gettext_lazy("Name"),
    "summary": gettext_lazy("Summary"),
    "details": gettext_lazy("Details"),
    "document": gettext_lazy("Document"),
}
