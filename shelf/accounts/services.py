"""Every write on accounts: sign-up, operators, memberships, API tokens."""

import secrets

from django.contrib.auth import password_validation
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from shelf.accounts.access import require_provider
from shelf.accounts.models import ApiToken, Membership, Organization, User, hash_token
from shelf.audit.services import audit_record
from shelf.errors import RuleViolations, Violation, raise_if
from shelf.text import name_violations

TOKEN_PREFIX = "shelf_"  # noqa: S105 - a recognisable prefix, not a secret
OPERATORS_GROUP = "operators"
# Reference data operators manage through the Django admin as well as the console.
OPERATOR_MODELS = {"catalog": ["region", "category", "agreement"]}


def _user_violations(*, username: str, email: str, password: str) -> list[Violation]:
    violations = []
    username = (username or "").strip()
    if not username:
        violations.append(Violation("username", "required", _("Username is required.")))
    elif name_problems := name_violations("username", username):
        violations += name_problems  # before the lookup below: PostgreSQL cannot even compare a NUL
    else:
        try:
            User.username_validator(username)
        except ValidationError as exc:
            violations.append(Violation("username", "invalid", " ".join(exc.messages)))
        if len(username) > 150:
            violations.append(Violation("username", "max_length", _("Username is at most 150 characters.")))
        elif User.objects.filter(username__iexact=username).exists():
            violations.append(Violation("username", "taken", _("This username is already taken.")))
    if not email:
        violations.append(Violation("email", "required", _("Email is required.")))
    else:
        try:
            validate_email(email)
        except ValidationError:
            violations.append(Violation("email", "invalid", _("Enter a valid email address.")))
    if not password:
        violations.append(Violation("password", "required", _("Password is required.")))
    else:
        try:
            password_validation.validate_password(password, User(username=username, email=email))
        except ValidationError as exc:
            violations.extend(Violation("password", "weak", message) for message in exc.messages)
    return violations


def _create_user(**fields) -> User:
    """Create the user; a username taken between the check and the insert (two sign-ups at once) is a rule, not a 500."""
    try:
        with transaction.atomic():
            return User.objects.create_user(**fields)
    except IntegrityError:
        raise RuleViolations([Violation("username", "taken", _("This username is already taken."))]) from None


def _organization_violations(name: str) -> list[Violation]:
    name = (name or "").strip()
    if not name:
        return [Violation("organization_name", "required", _("Organisation name is required."))]
    if name_problems := name_violations("organization_name", name):
        return name_problems
    if len(name) > 100:
        return [Violation("organization_name", "max_length", _("Organisation name is at most 100 characters."))]
    if Organization.objects.filter(name__iexact=name).exists():
        return [Violation("organization_name", "taken", _("An organisation with this name already exists."))]
    return []


def _unique_slug(name: str) -> str:
    base = slugify(name, allow_unicode=False)[:40] or "org"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def buyer_signup(*, username: str, email: str, password: str) -> User:
    raise_if(_user_violations(username=username, email=email, password=password))
    user = _create_user(username=username.strip(), email=email, password=password, kind=User.Kind.BUYER)
    audit_record(actor=user, target=user, action="user.signup", data={"kind": user.kind})
    return user


@transaction.atomic
def provider_signup(*, username: str, email: str, password: str, organization_name: str) -> tuple[User, Organization]:
    """A provider signs up and creates its organisation, of which it becomes the owner."""
    raise_if(
        _user_violations(username=username, email=email, password=password)
        + _organization_violations(organization_name)
    )
    user = _create_user(username=username.strip(), email=email, password=password, kind=User.Kind.PROVIDER)
    organization = organization_create(actor=user, name=organization_name, contact_email=email)
    audit_record(actor=user, target=user, action="user.signup", data={"kind": user.kind})
    return user, organization


@transaction.atomic
def organization_create(*, actor: User, name: str, contact_email: str = "") -> Organization:
    """Only a provider account owns organisations; anyone else gets 404, like every other wrong role."""
    require_provider(actor)
    raise_if(_organization_violations(name))
    organization = Organization.objects.create(name=name.strip(), slug=_unique_slug(name), contact_email=contact_email)
    Membership.objects.create(organization=organization, user=actor, role=Membership.Role.OWNER)
    audit_record(actor=actor, target=organization, organization=organization, action="organization.create")
    return organization


@transaction.atomic
def membership_add(
    *, actor: User | None, organization: Organization, user: User, role: str = Membership.Role.MEMBER
) -> Membership:
    if user.kind != User.Kind.PROVIDER:
        raise RuleViolations([Violation("user", "not_provider", _("Only provider accounts can join an organisation."))])
    membership, _created = Membership.objects.get_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    audit_record(actor=actor, target=organization, action="organization.member_add", data={"user": user.username})
    return membership


def operators_group() -> Group:
    group, _created = Group.objects.get_or_create(name=OPERATORS_GROUP)
    perms = Permission.objects.filter(
        content_type__app_label__in=OPERATOR_MODELS.keys(),
        content_type__model__in=[m for models in OPERATOR_MODELS.values() for m in models],
    )
    group.permissions.set(perms)
    return group


@transaction.atomic
def operator_create(*, username: str, email: str, password: str) -> User:
    """Operators are created by an admin command only; they may use the Django admin for reference data."""
    raise_if(_user_violations(username=username, email=email, password=password))
    user = _create_user(
        username=username.strip(), email=email, password=password, kind=User.Kind.OPERATOR, is_staff=True
    )
    user.groups.add(operators_group())
    audit_record(actor=None, target=user, action="user.operator_create")
    return user


@transaction.atomic
def token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Create an API token; the raw value is returned once and never stored."""
    name = (name or "").strip()
    violations = []
    if not name:
        violations.append(Violation("name", "required", _("Token name is required.")))
    elif name_problems := name_violations("name", name):
        violations += name_problems
    elif len(name) > 100:
        violations.append(Violation("name", "max_length", _("Token name is at most 100 characters.")))
    raise_if(violations)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[: len(TOKEN_PREFIX) + 6], key_hash=hash_token(raw))
    audit_record(actor=user, target=token, action="token.create", organization=None)
    return token, raw


@transaction.atomic
def token_revoke(*, user: User, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=user, target=token, action="token.revoke", organization=None)
    return token


def token_authenticate(raw: str) -> User | None:
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.objects.active().select_related("user").filter(key_hash=hash_token(raw)).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    # Touch at most once a minute: cheap on a hot path, precise enough to spot unused tokens.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
