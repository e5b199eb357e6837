"""Liveness, the app's own metrics and the error pages (404, 500)."""

import functools
import sys
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ixnode.guards import DATABASE_UNAVAILABLE, database_unavailable_response, wants_json
from ixnode.metrics import scrape_registry


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, 503 otherwise."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        response = JsonResponse({"status": "error", "database": str(exc.__class__.__name__)}, status=503)
        response["Retry-After"] = str(settings.IXNODE_HTTP_RETRY_AFTER_SECONDS)
        return response
    return JsonResponse({"status": "ok", "database": "ok"})


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)


def password_reset_enabled(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """``view`` (a password-reset page) answers 404 unless ``IXNODE_AUTH_PASSWORD_RESET`` (default: on when e-mail
    is configured, ``EMAIL_HOST`` or ``EMAIL_BACKEND`` set)."""

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not settings.IXNODE_AUTH_PASSWORD_RESET:
            raise Http404(_("Password reset is off: no e-mail is configured."))
        return view(request, *args, **kwargs)

    return guarded


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404: JSON under /api/ (a path no route matches, e.g. a service name no config can have), else the page."""
    if wants_json(request):
        return JsonResponse({"detail": _("Not found."), "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """500 — except when the failure is the database being unavailable (raised where no middleware catches it, e.g.
    saving the session): then 503 + Retry-After (``ixnode.guards``)."""
    exc = sys.exc_info()[1]
    if isinstance(exc, DATABASE_UNAVAILABLE):
        return database_unavailable_response(request, exc)
    if wants_json(request):
        return JsonResponse({"detail": _("Server error."), "code": "server_error"}, status=500)
    return defaults.server_error(request)
