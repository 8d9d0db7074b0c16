"""Every write on catalog reference data and agreements; each records an audit event."""

from django.db import transaction
from django.utils.translation import gettext as _

from shelf.accounts.access import require_operator
from shelf.accounts.models import Organization, User
from shelf.audit.services import audit_record
from shelf.catalog import rules
from shelf.catalog.models import Agreement, Category, Region
from shelf.errors import Violation, raise_if


@transaction.atomic
def agreement_create(*, actor: User, organization: Organization | None, title: str, body: str) -> Agreement:
    """A provider writes its own agreement; an operator (organization=None) writes a template (404 for others)."""
    if organization is None:
        require_operator(actor)
    raise_if(rules.agreement_violations(title=title, body=body))
    agreement = Agreement.objects.create(
        organization=organization, title=title.strip(), body=body.strip(), created_by=actor
    )
    audit_record(actor=actor, target=agreement, action="agreement.create")
    return agreement


@transaction.atomic
def agreement_update(*, actor: User, agreement: Agreement, title: str, body: str, is_active: bool = True) -> Agreement:
    raise_if(rules.agreement_violations(title=title, body=body))
    changed = {
        name: value
        for name, value in {"title": title.strip(), "body": body.strip(), "is_active": is_active}.items()
        if getattr(agreement, name) != value
    }
    for name, value in changed.items():
        setattr(agreement, name, value)
    if changed:
        agreement.save()
        audit_record(actor=actor, target=agreement, action="agreement.update", data={"fields": sorted(changed)})
    return agreement


@transaction.atomic
def region_save(
    *,
    actor: User,
    region: Region | None,
    code: str,
    name_zh: str,
    name_en: str,
    is_active: bool = True,
    position: int = 0,
) -> Region:
    require_operator(actor)
    violations = rules.code_violations("code", code, label=_("Code"), max_length=40)
    violations += rules.bilingual_violations(name_zh=name_zh, name_en=name_en)
    code = (code or "").strip()
    if not violations and Region.objects.filter(code=code).exclude(pk=getattr(region, "pk", None)).exists():
        violations.append(Violation("code", "taken", _("A region with this code already exists.")))
    raise_if(violations)
    created = region is None
    region = region or Region()
    region.code, region.name_zh, region.name_en = code, name_zh.strip(), name_en.strip()
    region.is_active, region.position = is_active, position
    region.save()
    audit_record(actor=actor, target=region, action="region.create" if created else "region.update")
    return region


@transaction.atomic
def category_save(
    *,
    actor: User,
    category: Category | None,
    slug: str,
    name_zh: str,
    name_en: str,
    parent: Category | None,
    is_active: bool = True,
    position: int = 0,
) -> Category:
    require_operator(actor)
    violations = rules.code_violations("slug", slug, label=_("Slug"), max_length=60)
    violations += rules.bilingual_violations(name_zh=name_zh, name_en=name_en)
    slug = (slug or "").strip()
    if not violations and Category.objects.filter(slug=slug).exclude(pk=getattr(category, "pk", None)).exists():
        violations.append(Violation("slug", "taken", _("A category with this slug already exists.")))
    if parent is not None and parent.parent_id is not None:
        violations.append(
            Violation("parent", "depth", _("The category tree has two levels: the parent must be a top level."))
        )
    if parent is not None and category is not None and (parent.pk == category.pk or category.children.exists()):
        violations.append(
            Violation("parent", "has_children", _("A top-level category with children cannot move under another."))
        )
    raise_if(violations)
    created = category is None
    category = category or Category()
    category.slug, category.name_zh, category.name_en, category.parent = slug, name_zh.strip(), name_en.strip(), parent
    category.is_active, category.position = is_active, position
    category.save()
    audit_record(actor=actor, target=category, action="category.create" if created else "category.update")
    return category
