"""Review API for operators. Anyone else gets 404, so the queue's existence does not leak."""

from django.shortcuts import get_object_or_404
from ninja import Router

from shelf.accounts.access import require_operator
from shelf.products.models import Revision
from shelf.reviews.schemas import ApproveIn, RejectIn, ReviewOut
from shelf.reviews.selectors import review_queue, revisions_for_review
from shelf.reviews.services import review_approve, review_claim, review_reject, review_release

router = Router(tags=["reviews"])


def _revision(request, review_id: int) -> Revision:
    return get_object_or_404(revisions_for_review(user=request.user), pk=review_id)


@router.get("/reviews", response=list[ReviewOut])
def review_list(request, category: str | None = None, provider: str | None = None):
    """Submissions in review, earliest due first."""
    require_operator(request.user)
    return review_queue(category=category, provider=provider)


@router.get("/reviews/{int:review_id}", response=ReviewOut)
def review_detail(request, review_id: int):
    return _revision(request, review_id)


@router.post("/reviews/{int:review_id}/claim", response=ReviewOut)
def review_claim_view(request, review_id: int):
    revision = _revision(request, review_id)
    review_claim(operator=request.user, revision=revision)
    return _revision(request, review_id)


@router.post("/reviews/{int:review_id}/release", response=ReviewOut)
def review_release_view(request, review_id: int):
    revision = _revision(request, review_id)
    review_release(operator=request.user, revision=revision)
    return _revision(request, review_id)


@router.post("/reviews/{int:review_id}/approve", response=ReviewOut)
def review_approve_view(request, review_id: int, payload: ApproveIn):
    review_approve(
        operator=request.user,
        revision=_revision(request, review_id),
        checklist=payload.checklist,
        boot_check_exception=payload.boot_check_exception or "",
    )
    return _revision(request, review_id)


@router.post("/reviews/{int:review_id}/reject", response=ReviewOut)
def review_reject_view(request, review_id: int, payload: RejectIn):
    """Reject with `reasons`: {field: reason} for each failing field (name, tags, pictures, document, details, ...)."""
    review_reject(
        operator=request.user,
        revision=_revision(request, review_id),
        reasons=payload.reasons or {},
        checklist=payload.checklist,
    )
    return _revision(request, review_id)
