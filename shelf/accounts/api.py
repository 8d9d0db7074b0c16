from django.contrib.auth import authenticate
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Router, Status
from ninja.errors import HttpError

from shelf.accounts.schemas import LoginTokenIn, MeOut, TokenCreatedOut, TokenIn, TokenOut
from shelf.accounts.selectors import tokens_for
from shelf.accounts.services import token_create, token_revoke
from shelf.accounts.throttle import throttle_message
from shelf.errors import RuleViolations, Violation

router = Router(tags=["accounts"])


@router.get("/me", response=MeOut)
def me(request):
    return request.user


@router.get("/tokens", response=list[TokenOut])
def token_list(request):
    return tokens_for(request.user)


@router.post("/tokens", response={201: TokenCreatedOut})
def token_new(request, payload: TokenIn):
    token, raw = token_create(user=request.user, name=payload.name or "")
    return Status(201, TokenCreatedOut.from_orm(token, context={"token": raw}))


@router.post("/auth/token", response={201: TokenCreatedOut}, auth=None)
def token_login(request, payload: LoginTokenIn):
    """Exchange a username and password for a new API token (used by `shelf login`)."""
    user = authenticate(request, username=payload.username or "", password=payload.password or "")
    cause = getattr(request, "shelf_login_throttled", None)
    if user is None and cause:
        raise HttpError(429, throttle_message(cause))
    if user is None:
        raise RuleViolations([Violation("password", "invalid_credentials", _("Wrong username or password."))])
    token, raw = token_create(user=user, name=payload.name or "shelf CLI")
    return Status(201, TokenCreatedOut.from_orm(token, context={"token": raw}))


@router.delete("/tokens/{token_id}", response=TokenOut)
def token_delete(request, token_id: int):
    return token_revoke(user=request.user, token=get_object_or_404(tokens_for(request.user), pk=token_id))
