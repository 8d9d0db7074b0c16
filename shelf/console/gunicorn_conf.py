"""gunicorn settings for Shelf's web processes: `gunicorn -c python:shelf.console.gunicorn_conf shelf.wsgi:application`.

`manage.py serve` uses it too. gunicorn answers some requests itself, before Django sees them (a request line
over `limit_request_line`, too many or too large headers, a malformed request): its answer is an HTML page,
which API clients cannot read. Each worker answers those in Shelf's one JSON error shape instead.
"""

import json

from gunicorn import util

limit_request_line = 8190  # gunicorn's maximum; longer request lines get the JSON 414 below
worker_class = "gthread"


def _json_error(sock, status_int, reason, mesg) -> None:
    body = json.dumps(
        {"errors": [{"field": None, "code": f"http_{status_int}", "message": mesg or reason}]}, ensure_ascii=False
    ).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1")
    util.write_nonblock(sock, head + body)


def post_fork(server, worker) -> None:
    # In the worker process only: gunicorn writes its own error answers through this one function.
    util.write_error = _json_error


def post_worker_init(worker) -> None:
    # A full collection walks every object the process holds; with Django, the API and the scanner's libraries
    # loaded that is over 100,000 objects and takes 50-100 ms, which lands on whichever request triggers it (the
    # storefront's p99). Load the URLconf (and with it every view and schema) now, then freeze what is loaded:
    # frozen objects are never walked again, and later collections see only what requests leave behind.
    import gc

    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports the URLconf
    gc.collect()
    gc.freeze()
