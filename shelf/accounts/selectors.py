"""Reads that carry an access rule: what a user may see of accounts."""

from django.db.models import QuerySet

from shelf.accounts.access import require_provider
from shelf.accounts.models import ApiToken, Membership, Organization, User


def organizations_for(user: User) -> QuerySet[Organization]:
    if not user.is_authenticated or not user.is_provider:
        return Organization.objects.none()
    return Organization.objects.filter(memberships__user=user).distinct()


def memberships_for(user: User) -> QuerySet[Membership]:
    """The user's own memberships with their organisations; none for anyone but a provider."""
    if not user.is_authenticated or not user.is_provider:
        return Membership.objects.none()
    return Membership.objects.filter(user=user).select_related("organization")


def tokens_for(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


def organization_for_write(user: User, slug: str | None) -> Organization:
    """The organisation a provider acts for: the one named, or its only one.

    Anyone but a provider gets 404 (only providers create what organisations own). A provider's wrong or
    missing choice raises RuleViolations on the `organization` field, never leaking other organisations' names.
    """
    from django.utils.translation import gettext as _

    from shelf.errors import RuleViolations, Violation

    require_provider(user)
    organizations = organizations_for(user)
    if slug:
        organization = organizations.filter(slug=slug).first()
        if organization is None:
            raise RuleViolations(
                [
                    Violation(
                        "organization",
                        "unknown",
                        _("You are not a member of organisation “%(slug)s”.") % {"slug": slug},
                    )
                ]
            )
        return organization
    choices = list(organizations[:2])
    if len(choices) == 1:
        return choices[0]
    if not choices:
        raise RuleViolations(
            [Violation("organization", "none", _("You are not a member of any provider organisation."))]
        )
    raise RuleViolations(
        [Violation("organization", "required", _("You belong to several organisations: say which one (its slug)."))]
    )


def operators(*, active: bool | None = None) -> QuerySet[User]:
    """Operator accounts, for operators assigning a submission; `active=True` leaves out disabled accounts."""
    users = User.objects.filter(kind=User.Kind.OPERATOR)
    if active is not None:
        users = users.filter(is_active=active)
    return users


def organizations_all() -> QuerySet[Organization]:
    """Every provider organisation by name, for the operators' filters."""
    return Organization.objects.order_by("name")
