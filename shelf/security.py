"""Headers that hold on every response, whatever app produced it."""

from collections.abc import Callable
from functools import cache
from urllib.parse import urlsplit

from django.conf import settings
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


@cache
def _policy(storage: str, endpoint: str, bucket: str, region: str) -> str:
    if storage != "shelf.storage.s3.S3Storage":
        return CONTENT_SECURITY_POLICY
    # Pictures are redirects to presigned URLs of the object store: its origin (and only it) may serve images.
    if endpoint:
        parts = urlsplit(endpoint)
        origin = f"{parts.scheme}://{parts.netloc}"
    else:  # AWS itself, virtual-hosted addressing
        origin = f"https://{bucket}.s3.amazonaws.com https://{bucket}.s3.{region}.amazonaws.com"
    return CONTENT_SECURITY_POLICY.replace("img-src 'self' data:", f"img-src 'self' data: {origin}")


def content_security_policy() -> str:
    """The policy for the configured object storage."""
    return _policy(
        settings.SHELF_STORAGE, settings.SHELF_S3_ENDPOINT, settings.SHELF_S3_BUCKET, settings.SHELF_S3_REGION
    )


class ContentSecurityPolicyMiddleware:
    """Sets the one policy on every response that has none of its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", content_security_policy())
        return response
