"""Headers that hold on every response, whatever app produced it."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

# Nothing on Shelf's pages loads from another site: no provider's text can track a reader (tracking pixels, frames,
# styles), and an injected inline script or style would not run. Pages keep their scripts and styles in static files.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Sets the one policy on every response that has none of its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
