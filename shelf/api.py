"""The one NinjaAPI: authentication, the single error shape, and every app's router under /api/v1/."""

import json
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer, SessionAuth
from ninja.utils import check_csrf

from shelf.accounts.services import token_authenticate
from shelf.errors import Conflict, RuleViolations, StorageFull, TooLarge, Unavailable
from shelf.storage.base import StorageError
from shelf.units import human_bytes

logger = logging.getLogger(__name__)


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


class BodyNotAnObject(ValueError):
    """The JSON body parsed, but is `null`, a list, a string or a number where an object is expected."""


class ObjectParser(Parser):
    """Every JSON body Shelf takes is an object; anything else is refused before the schema sees it.

    Without this, ninja hands `null` to the schema as "no body" and a list or string to pydantic, which
    names some field inside instead of the body itself. ninja wraps any parser error in a 400; the
    HttpError handler below tells the two causes apart.
    """

    def parse_body(self, request: HttpRequest) -> dict:
        data = json.loads(request.body)
        if not isinstance(data, dict):
            raise BodyNotAnObject(type(data).__name__)
        return data


class ErrorOut(Schema):
    field: str | None
    code: str
    message: str


class ErrorsOut(Schema):
    """The one error shape of every 4xx and 5xx answer."""

    errors: list[ErrorOut]


# Which error answers an operation can give follows from what it takes; named here once, for every operation.
ERROR_RESPONSES = {
    400: "The body is not valid JSON, or the request could not be read.",
    401: "Missing, wrong or revoked token.",
    403: "A signed-in browser's request came without its CSRF token (API clients send a token instead).",
    404: "No such object, or not one you may see.",
    409: "The object's state forbids this now (or another tab saved first).",
    413: "Too large: the body, a file, a chunk or a quota.",
    422: "Rules violated, every one per field (a body, a query parameter, a header).",
    429: "Too many failed sign-ins.",
}
UNSAFE = {"post", "put", "patch", "delete"}


class ShelfAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs):
        """ninja's document, plus on each operation the error answers it can give, in the one error schema."""
        schema = super().get_openapi_schema(**kwargs)
        shape = ErrorsOut.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema["components"].setdefault("schemas", {})
        components.update(shape.pop("$defs"))
        components["ErrorsOut"] = shape
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                codes = {422}  # any operation: a query string holding NUL is refused, naming the parameter
                if operation.get("security"):
                    codes |= {401, 404}  # 404 too: an operation for another role is "not there" for this one
                if "{" in path:
                    codes.add(404)
                if method in UNSAFE and operation.get("security"):
                    codes |= {403, 409}
                if "requestBody" in operation:
                    codes |= {400, 413}
                if operation["operationId"].endswith("_token_login"):
                    codes.add(429)
                for code in sorted(codes):
                    operation["responses"].setdefault(
                        code,
                        {
                            "description": ERROR_RESPONSES[code],
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorsOut"}}},
                        },
                    )
        return schema


api = ShelfAPI(
    title="Shelf API",
    version="1",
    description="Self-hosted cloud marketplace for VM image products. "
    'Errors always have the shape {"errors": [{"field", "code", "message"}]}.',
    auth=[BearerToken(), ConsoleSession()],
    urls_namespace="api",
    docs_url="/docs",
    parser=ObjectParser(),
)


def error_body(*errors: dict) -> dict:
    return {"errors": list(errors)}


def error(code: str, message: str, field: str | None = None) -> dict:
    return {"field": field, "code": code, "message": message}


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


@api.exception_handler(StorageFull)
def on_storage_full(request, exc: StorageFull):
    return api.create_response(
        request, error_body({"field": exc.field, "code": exc.code, "message": exc.message}), status=507
    )


@api.exception_handler(Unavailable)
def on_unavailable(request, exc: Unavailable):
    return api.create_response(
        request, error_body({"field": exc.field, "code": exc.code, "message": exc.message}), status=503
    )


@api.exception_handler(StorageError)
def on_storage_error(request, exc: StorageError):
    # Nothing was lost (an upload that was streaming is removed and says so): the request may simply be retried.
    logger.error("object storage failed for %s %s: %s", request.method, request.path, exc)
    message = _("Object storage is unavailable right now; try again in a moment.")
    return api.create_response(request, error_body(error("storage_unavailable", message)), status=503)


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


@api.exception_handler(RequestDataTooBig)
def on_body_too_big(request, exc):
    return api.create_response(request, error_body(_too_big()), status=413)


def _too_big() -> dict:
    limit = human_bytes(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    return error("too_large", _("The request body is larger than the %(limit)s allowed.") % {"limit": limit})


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    if isinstance(exc.__cause__, BodyNotAnObject):
        message = _("The request body must be a JSON object, not %(kind)s.") % {"kind": _json_kind(exc.__cause__)}
        return api.create_response(request, error_body(error("not_an_object", message, "body")), status=422)
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):  # JSONDecodeError, UnicodeDecodeError
        message = _("The request body is not valid JSON.")
        return api.create_response(request, error_body(error("malformed_json", message, "body")), status=400)
    return api.create_response(
        request,
        error_body({"field": None, "code": f"http_{exc.status_code}", "message": str(exc)}),
        status=exc.status_code,
    )


def _json_kind(exc: BodyNotAnObject) -> str:
    return {"NoneType": "null", "list": _("a list"), "str": _("a string"), "bool": _("a boolean")}.get(
        str(exc), _("a number")
    )


class ApiErrorShapeMiddleware:
    """Answers Django gives under /api/ before or around ninja (unknown URL, wrong method, a 400 or 500
    page) get the one JSON error shape, so a client never has to parse an HTML page.

    Outermost in MIDDLEWARE, so it also sees the responses Django makes from exceptions in the others.
    """

    CODES = {
        400: ("bad_request", lambda r: _("The request could not be read.")),
        403: ("forbidden", lambda r: _("Not allowed.")),
        404: ("not_found", lambda r: _("Not found.")),
        405: ("method_not_allowed", lambda r: _method_not_allowed(r)),
        413: ("too_large", lambda r: _too_big()["message"]),
        503: ("unavailable", lambda r: _("The service is briefly unavailable (its database); try again shortly.")),
    }

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/api/") or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json") or response.streaming:
            return response
        code, message = self.CODES.get(response.status_code, ("server_error", lambda r: _("Server error.")))
        if response.status_code < 500 and response.status_code not in self.CODES:
            code, message = f"http_{response.status_code}", lambda r: response.reason_phrase
        shaped = JsonResponse(error_body(error(code, message(response))), status=response.status_code)
        for header in ("Allow", "Retry-After"):
            if header in response:
                shaped[header] = response[header]
        return shaped


def _method_not_allowed(response: HttpResponse) -> str:
    return _("This method is not allowed here; allowed: %(allowed)s.") % {"allowed": response.get("Allow", "")}


def _mount_routers() -> None:
    from shelf.accounts.api import router as accounts_router
    from shelf.billing.api_buyer import router as billing_buyer_router
    from shelf.billing.api_revenue import router as revenue_router
    from shelf.catalog.api import router as catalog_router
    from shelf.compute.api import router as compute_router
    from shelf.images.api import router as images_router
    from shelf.orders.api import router as orders_router
    from shelf.prereview.api import router as prereview_router
    from shelf.products.api import router as products_router
    from shelf.reviews.api import router as reviews_router
    from shelf.scanning.api import router as scanning_router
    from shelf.storefront.api import router as storefront_router
    from shelf.webhooks.api import router as webhooks_router

    api.add_router("/", accounts_router)
    api.add_router("/", catalog_router)
    api.add_router("/", images_router)
    api.add_router("/", products_router)
    api.add_router("/", prereview_router)
    api.add_router("/", scanning_router)
    api.add_router("/", webhooks_router)
    api.add_router("/", reviews_router)
    api.add_router("/", storefront_router)
    api.add_router("/", orders_router)
    api.add_router("/", compute_router)
    api.add_router("/", billing_buyer_router)
    api.add_router("/", revenue_router)


_mount_routers()
