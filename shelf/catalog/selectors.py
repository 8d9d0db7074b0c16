"""Reads of reference data and agreements, filtered by what the user may see."""

from django.db.models import Prefetch, Q, QuerySet

from shelf.accounts.models import Organization, User
from shelf.accounts.selectors import organization_for_write, organizations_for
from shelf.catalog.models import Agreement, Category, Region


def regions_active() -> QuerySet[Region]:
    return Region.objects.filter(is_active=True)


def category_tree() -> QuerySet[Category]:
    """Active top-level categories with their active leaves prefetched as `leaves`."""
    return Category.objects.filter(parent__isnull=True, is_active=True).prefetch_related(
        Prefetch("children", queryset=Category.objects.filter(is_active=True), to_attr="leaves")
    )


def agreements_for(user: User) -> QuerySet[Agreement]:
    """Active templates for everyone; a provider also sees its organisations' own; operators see all."""
    templates = Q(organization__isnull=True)
    if user.is_authenticated and user.is_provider:
        return Agreement.objects.filter(templates | Q(organization__in=organizations_for(user))).select_related(
            "organization"
        )
    if user.is_authenticated and user.is_operator:
        return Agreement.objects.select_related("organization")
    return Agreement.objects.filter(templates, is_active=True)


def agreements_for_organization(organization) -> QuerySet[Agreement]:
    """What a product of this organisation may use: active templates and the organisation's own active agreements."""
    return Agreement.objects.filter(Q(organization__isnull=True) | Q(organization=organization), is_active=True)


def regions_all() -> QuerySet[Region]:
    """Every region, active or not, for the operators who manage them."""
    return Region.objects.all()


def categories_all() -> QuerySet[Category]:
    """Every category, active or not, for the operators who manage them."""
    return Category.objects.all()


def categories_top_level(*, with_children: bool = False) -> QuerySet[Category]:
    """Top-level categories, active or not, for operators (filters, the tree page); `with_children` prefetches all leaves."""
    tops = Category.objects.filter(parent__isnull=True)
    return tops.prefetch_related("children") if with_children else tops


def agreement_templates(*, active: bool | None = None) -> QuerySet[Agreement]:
    """The marketplace's agreement templates (no organisation); anyone may read the active ones, operators all."""
    templates = Agreement.objects.filter(organization__isnull=True)
    return templates if active is None else templates.filter(is_active=active)


def agreements_own(*, user: User) -> QuerySet[Agreement]:
    """A provider's organisations' own agreements, active or not (agreements_for decides whose they may see)."""
    return agreements_for(user).filter(organization__isnull=False)


def reference_counts() -> dict[str, int]:
    """How much reference data there is, for the operators' overview."""
    return {
        "region_count": Region.objects.count(),
        "category_count": Category.objects.count(),
        "template_count": agreement_templates().count(),
    }


def agreement_organization_for_write(user: User, slug: str | None) -> Organization | None:
    """Whom a new agreement belongs to: nobody (a template) for an operator, else the provider's organisation.

    Anyone else gets 404; a provider's wrong or missing organisation raises RuleViolations (organization_for_write).
    """
    if user.is_authenticated and user.is_operator:
        return None
    return organization_for_write(user, slug)
