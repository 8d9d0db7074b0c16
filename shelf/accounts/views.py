from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shelf.accounts.forms import BuyerSignupForm, ProviderSignupForm, TokenForm
from shelf.accounts.selectors import organizations_for, tokens_for
from shelf.accounts.services import buyer_signup, provider_signup, token_create, token_revoke
from shelf.audit.selectors import audit_events_by
from shelf.errors import RuleViolations
from shelf.forms import add_violations, message_error


def _signup(request, form_class, service, template):
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = service(**form.cleaned_data)
        except RuleViolations as exc:
            add_violations(form, exc)
        else:
            user = result[0] if isinstance(result, tuple) else result
            login(request, user, backend="shelf.accounts.throttle.ThrottledModelBackend")
            messages.success(request, _("Welcome to Shelf, %(name)s.") % {"name": user.username})
            return redirect("console:home")
    return render(request, template, {"form": form})


def signup_buyer(request):
    return _signup(request, BuyerSignupForm, buyer_signup, "accounts/signup_buyer.html")


def signup_provider(request):
    return _signup(request, ProviderSignupForm, provider_signup, "accounts/signup_provider.html")


@login_required
def profile(request):
    return render(
        request,
        "accounts/profile.html",
        {
            "tokens": tokens_for(request.user),
            "token_form": TokenForm(),
            "organizations": organizations_for(request.user),
            "new_token": request.session.pop("new_token", None),
            "audit_events": audit_events_by(actor=request.user, limit=20),
        },
    )


@login_required
@require_POST
def token_new(request):
    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            _token, raw = token_create(user=request.user, name=form.cleaned_data["name"])
        except RuleViolations as exc:
            message_error(request, exc)
        else:
            # Shown once on the next page, then gone: only the hash is kept.
            request.session["new_token"] = raw
    else:
        messages.error(request, _("Give the token a name."))
    return redirect("accounts:profile")


@login_required
@require_POST
def token_revoke_view(request, token_id: int):
    token = get_object_or_404(tokens_for(request.user), pk=token_id)
    token_revoke(user=request.user, token=token)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("accounts:profile")
