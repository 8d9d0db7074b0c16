"""The one NinjaAPI: authentication, the single error shape, and every app's router under /api/v1/."""

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer, SessionAuth
from ninja.utils import check_csrf

from shelf.accounts.services import token_authenticate
from shelf.errors import Conflict, RuleViolations, TooLarge


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class CsrfFailed(Exception):
    """A signed-in browser's unsafe request came without a valid CSRF token (HTTP 403)."""


class ConsoleSession(SessionAuth):
    """The console's session cookie, for the browser; CSRF is checked only for a request it authenticates.

    ninja's SessionAuth checks CSRF before it even looks for a session, and raises: the first failing
    check ends the auth loop, so a CLI request with a missing, wrong or revoked token on POST/PUT/PATCH/
    DELETE got "403 CSRF check Failed" instead of 401. Here a request that carries an Authorization
    header is judged by its token alone (a cross-site form cannot set that header), a request without a
    signed-in session is simply not authenticated (-> 401), and only a real session is held to CSRF.
    """

    def __init__(self) -> None:
        super().__init__(csrf=False)

    def authenticate(self, request: HttpRequest, key: str | None):
        if "authorization" in request.headers or not key:
            return None
        user = super().authenticate(request, key)
        if user is None:
            return None
        if not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request):
            raise CsrfFailed()
        return user


api = NinjaAPI(
    title="Shelf API",
    version="1",
    description="Self-hosted cloud marketplace for VM image products. "
    'Errors always have the shape {"errors": [{"field", "code", "message"}]}.',
    auth=[BearerToken(), ConsoleSession()],
    urls_namespace="api",
    docs_url="/docs",
)


def error_body(*errors: dict) -> dict:
    return {"errors": list(errors)}


def _field_from_loc(loc) -> str:
    # pydantic locations look like ("body", "payload", "title") or ("query", "status").
    parts = [str(p) for p in loc if p not in ("body", "payload", "query", "path", "form", "file")]
    return ".".join(parts) or "body"


@api.exception_handler(RuleViolations)
def on_rule_violations(request, exc: RuleViolations):
    return api.create_response(request, error_body(*(v.as_dict() for v in exc.violations)), status=422)


@api.exception_handler(NinjaValidationError)
def on_schema_errors(request, exc: NinjaValidationError):
    errors = [
        {
            "field": _field_from_loc(err.get("loc", ())),
            "code": err.get("type", "invalid"),
            "message": err.get("msg", ""),
        }
        for err in exc.errors
    ]
    return api.create_response(request, error_body(*errors), status=422)


@api.exception_handler(Conflict)
def on_conflict(request, exc: Conflict):
    # A stale save lists, after the conflict itself, each field that changed and who changed it.
    changes = [v.as_dict() for v in getattr(exc, "changes", [])]
    return api.create_response(
        request, error_body({"field": exc.field, "code": exc.code, "message": exc.message}, *changes), status=409
    )


@api.exception_handler(TooLarge)
def on_too_large(request, exc: TooLarge):
    return api.create_response(
        request, error_body({"field": exc.field, "code": exc.code, "message": exc.message}), status=413
    )


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return api.create_response(
        request, error_body({"field": None, "code": "not_found", "message": _("Not found.")}), status=404
    )


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request, exc):
    return api.create_response(
        request,
        error_body(
            {
                "field": None,
                "code": "unauthenticated",
                "message": _("Send a valid token as 'Authorization: Bearer <token>'."),
            }
        ),
        status=401,
    )


@api.exception_handler(CsrfFailed)
def on_csrf_failed(request, exc):
    return api.create_response(
        request,
        error_body(
            {
                "field": None,
                "code": "csrf_failed",
                "message": _("A signed-in browser request needs the page's CSRF token; API clients send a token."),
            }
        ),
        status=403,
    )


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    return api.create_response(
        request,
        error_body({"field": None, "code": f"http_{exc.status_code}", "message": str(exc)}),
        status=exc.status_code,
    )


def _mount_routers() -> None:
    from shelf.accounts.api import router as accounts_router
    from shelf.catalog.api import router as catalog_router
    from shelf.images.api import router as images_router
    from shelf.prereview.api import router as prereview_router
    from shelf.products.api import router as products_router
    from shelf.reviews.api import router as reviews_router
    from shelf.scanning.api import router as scanning_router
    from shelf.webhooks.api import router as webhooks_router

    api.add_router("/", accounts_router)
    api.add_router("/", catalog_router)
    api.add_router("/", images_router)
    api.add_router("/", products_router)
    api.add_router("/", prereview_router)
    api.add_router("/", scanning_router)
    api.add_router("/", webhooks_router)
    api.add_router("/", reviews_router)


_mount_routers()
