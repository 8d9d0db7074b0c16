"""The few access checks every view and endpoint uses. A wrong role gets 404, so nothing leaks."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404

from shelf.accounts.models import User


def require_kind(user, kind: str) -> None:
    if not (user.is_authenticated and user.is_active and user.kind == kind):
        raise Http404


def require_provider(user) -> None:
    require_kind(user, User.Kind.PROVIDER)


def require_operator(user) -> None:
    require_kind(user, User.Kind.OPERATOR)


def require_buyer(user) -> None:
    require_kind(user, User.Kind.BUYER)


def kind_required(kind: str):
    """View decorator: anonymous users go to the login page, other roles get 404."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            require_kind(request.user, kind)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


provider_required = kind_required(User.Kind.PROVIDER)
operator_required = kind_required(User.Kind.OPERATOR)
buyer_required = kind_required(User.Kind.BUYER)
