"""The 500 handler: a database that is down or restarting is a 503 that says to try again, not a server error.

Django calls `handler500` for any exception no view or middleware handled, from inside the `except` block, so the
exception is at hand. The page is rendered without the request's context: the header's context processors read
the session and the user, which is the database that just failed. Under /api/ the outermost
ApiErrorShapeMiddleware turns both answers into the JSON error shape, keeping Retry-After.
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponseServerError
from django.template.loader import render_to_string
from django.views.decorators.csrf import requires_csrf_token

RETRY_AFTER = 5  # seconds: about what a PostgreSQL restart or failover takes


@requires_csrf_token
def server_error(request):
    exc = sys.exc_info()[1]
    unavailable = isinstance(exc, (OperationalError, InterfaceError))
    page = render_to_string("console/server_error.html", {"unavailable": unavailable})
    if not unavailable:
        return HttpResponseServerError(page)
    response = HttpResponseServerError(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER)
    return response
