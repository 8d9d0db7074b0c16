"""Reads of the pre-review word list, which only operators manage (the views are operator-only)."""

from django.db.models import QuerySet

from shelf.prereview.models import ClaimWord


def claim_words(*, kind: str | None = None) -> QuerySet[ClaimWord]:
    """The word list grouped by kind, active words first; only one kind when `kind` names one (else all)."""
    words = ClaimWord.objects.select_related("created_by").order_by("kind", "-is_active", "word")
    if kind in ClaimWord.Kind.values:
        words = words.filter(kind=kind)
    return words
