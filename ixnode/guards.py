"""Request guards that answer before a view can fail: bodies above the size limit, the database unavailable.

- ``RequestBodyLimitMiddleware``: a body above ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (``IXNODE_HTTP_MAX_BODY_BYTES``) is
  answered 413 naming the limit. The body is read and discarded first (up to ``DRAIN_MAX_BYTES``), so the client
  gets the answer instead of a connection reset while it is still sending.
- ``DatabaseUnavailableMiddleware`` (and ``ixnode.api.exceptions`` for the DRF views, ``ixnode.views.server_error``
  for what escapes a middleware): the database refusing connections or busy (``OperationalError``,
  ``InterfaceError``) is answered 503 with ``Retry-After`` (``IXNODE_HTTP_RETRY_AFTER_SECONDS``) — JSON for the API
  and the pages' JSON endpoints, a plain page for pages — and logged as one WARNING line, never a 500 with a
  traceback.

Both are expected conditions, logged at WARNING without a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

logger = logging.getLogger("ixnode.guards")

DRAIN_CHUNK_BYTES = 64 * 1024
DRAIN_MAX_BYTES = 64 * 1024 * 1024  # a larger body is not read: the answer goes out with "Connection: close"
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


def wants_json(request: HttpRequest) -> bool:
    """The API, /healthz and the pages' ``….json`` endpoints answer JSON; every other path is a page."""
    path = request.path_info
    return path.startswith("/api/") or path == "/healthz" or path.endswith(".json")


def database_unavailable_body(request: HttpRequest, exc: BaseException) -> dict[str, str]:
    """The JSON answer to ``exc`` (the database refused, dropped or is busy), logged as one WARNING line."""
    first_line = (str(exc).strip().splitlines() or [""])[0]
    logger.warning("Database unavailable, %s %s answered 503: %s: %s", request.method, request.path,
                   exc.__class__.__name__, first_line)
    message = _("The database is unavailable or busy; retry in %(seconds)s seconds.") % {
        "seconds": settings.IXNODE_HTTP_RETRY_AFTER_SECONDS}
    return {"detail": message, "code": "database_unavailable"}


def database_unavailable_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """503 + Retry-After for ``exc``: JSON for the API, a plain page for pages."""
    body = database_unavailable_body(request, exc)
    response: HttpResponse
    if wants_json(request):
        response = JsonResponse(body, status=503)
    else:
        # Rendered without the request: the context processors would read the session from that same database.
        response = HttpResponse(render_to_string("ixnode/503.html", {"message": body["detail"]}), status=503)
    response["Retry-After"] = str(settings.IXNODE_HTTP_RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """A view that raised because the database is unavailable answers 503 (module docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_UNAVAILABLE):
            return database_unavailable_response(request, exception)
        return None


class RequestBodyLimitMiddleware:
    """413 for a body above ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (module docstring); the first middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is None or length <= limit:
            return self.get_response(request)
        logger.warning("Request body of %s bytes refused (limit %s bytes): %s %s", length, limit, request.method,
                       request.path)
        drained = self._drain(request, length)
        message = _("The request body is %(length)s bytes; the limit is %(limit)s bytes "
                    "(DATA_UPLOAD_MAX_MEMORY_SIZE, IXNODE_HTTP_MAX_BODY_BYTES).") % {"length": length, "limit": limit}
        response: HttpResponse
        if wants_json(request):
            response = JsonResponse({"detail": message, "code": "body_too_large", "limit": limit}, status=413)
        else:
            response = HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        if not drained:
            response["Connection"] = "close"
        return response

    @staticmethod
    def _drain(request: HttpRequest, length: int) -> bool:
        """Read and discard the body; False when it is too large to read (or the client stopped sending)."""
        if length > DRAIN_MAX_BYTES:
            return False
        left = length
        try:
            while left > 0:
                chunk = request.read(min(DRAIN_CHUNK_BYTES, left))
                if not chunk:
                    return False
                left -= len(chunk)
        except OSError:
            return False
        return True
