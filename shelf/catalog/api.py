from django.shortcuts import get_object_or_404
from ninja import Router, Status

from shelf.catalog import rules
from shelf.catalog.schemas import AgreementIn, AgreementOut, CategoryOut, RegionOut
from shelf.catalog.selectors import (
    agreement_organization_for_write,
    agreements_for,
    category_tree,
    regions_active,
)
from shelf.catalog.services import agreement_create
from shelf.errors import RuleViolations, raise_if

router = Router(tags=["catalog"])


@router.get("/regions", response=list[RegionOut])
def region_list(request):
    return regions_active()


@router.get("/categories", response=list[CategoryOut])
def category_list(request):
    return category_tree()


@router.get("/agreements", response=list[AgreementOut])
def agreement_list(request):
    return agreements_for(request.user)


@router.get("/agreements/{agreement_id}", response=AgreementOut)
def agreement_detail(request, agreement_id: int):
    return get_object_or_404(agreements_for(request.user), pk=agreement_id)


@router.post("/agreements", response={201: AgreementOut})
def agreement_new(request, payload: AgreementIn):
    """Providers create their organisation's agreement; operators create templates."""
    violations, organization = [], None
    try:
        organization = agreement_organization_for_write(request.user, payload.organization)
    except RuleViolations as exc:
        violations += exc.violations
    # Report the organisation and the agreement's own rules together.
    raise_if(violations + rules.agreement_violations(title=payload.title, body=payload.body))
    return Status(
        201, agreement_create(actor=request.user, organization=organization, title=payload.title, body=payload.body)
    )
