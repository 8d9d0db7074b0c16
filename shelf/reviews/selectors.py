"""Reads for the review side: the queue ordered by due date, due-date wording, metrics."""

from statistics import median

from django.db.models import Q, QuerySet
from django.utils import timezone

from shelf.products.models import Revision
from shelf.products.selectors import business_days_left
from shelf.reviews.models import Decision


def review_queue(*, category: str | None = None, provider: str | None = None) -> QuerySet[Revision]:
    """Submissions in review, earliest due first (so the overdue ones lead)."""
    revisions = (
        Revision.objects.filter(status=Revision.Status.IN_REVIEW)
        .select_related("product__organization", "category__parent", "claim__operator")
        .order_by("due_at", "submitted_at")
    )
    if category:
        revisions = revisions.filter(Q(category__slug=category) | Q(category__parent__slug=category))
    if provider:
        revisions = revisions.filter(product__organization__slug=provider)
    return revisions


def _percentile(values: list[int], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def review_metrics(today=None) -> dict:
    today = today or timezone.localdate()
    waiting = list(Revision.objects.filter(status=Revision.Status.IN_REVIEW))
    durations = list(Decision.objects.values_list("business_days", flat=True))
    weeks: dict[str, dict[str, int]] = {}
    for decided_at, outcome in Decision.objects.values_list("decided_at", "outcome"):
        year, week, _day = timezone.localtime(decided_at).isocalendar()
        key = f"{year}-W{week:02d}"
        weeks.setdefault(key, dict.fromkeys(Decision.Outcome.values, 0))[outcome] += 1
    return {
        "waiting": len(waiting),
        "overdue": sum(1 for r in waiting if (business_days_left(r, today) or 0) < 0),
        "median_days": median(durations) if durations else None,
        "p90_days": _percentile(durations, 0.9),
        "decisions": len(durations),
        "weeks": sorted(weeks.items())[-12:],
    }


def revisions_for_review(*, user) -> QuerySet[Revision]:
    """Every provider's revisions, in any status, for operators to review or read; none for anyone else, so a
    review is 404 for them."""
    if not (user.is_authenticated and user.is_operator):
        return Revision.objects.none()
    return Revision.objects.select_related("product__organization", "category__parent")


def listed_revisions(*, user) -> QuerySet[Revision]:
    """The revisions on sale now, most recently approved first, for operators only."""
    return (
        revisions_for_review(user=user)
        .filter(status=Revision.Status.LISTED)
        .select_related("product__organization", "category")
        .order_by("-decided_at")
    )
