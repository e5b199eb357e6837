"""API error handling: model validation errors become 400 with field errors, an unavailable database 503, never
500."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ixnode.guards import DATABASE_UNAVAILABLE, database_unavailable_body


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DATABASE_UNAVAILABLE):  # refused, dropped or busy: 503 + Retry-After, never a 500
        return Response(database_unavailable_body(context["request"], exc), status=503,
                        headers={"Retry-After": str(settings.IXNODE_HTTP_RETRY_AFTER_SECONDS)})
    if isinstance(exc, DjangoValidationError):
        exc = serializers.ValidationError(serializers.as_serializer_error(exc))
    if isinstance(exc, exceptions.ParseError):
        return Response({"detail": str(exc.detail), "code": "parse_error"}, status=400)
    if isinstance(exc, exceptions.NotAuthenticated) and unknown_scheme(context["request"]):
        exc.detail = exceptions.ErrorDetail(wrong_scheme_text(), code=exceptions.NotAuthenticated.default_code)
    return drf_exception_handler(exc, context)


def wrong_scheme_text() -> str:
    """What a request whose Authorization header no authenticator reads is told, in its language."""
    return _("Not signed in: the Authorization header uses a scheme this endpoint does not take. Send "
             "'Authorization: Token <token>' with a user's API token (.venv/bin/python manage.py drf_create_token "
             "<user>), or sign in for a session; 'Bearer' is for the Alertmanager webhook (IXNODE_WEBHOOK_TOKEN).")


def unknown_scheme(request: Any) -> bool:
    """An Authorization header was sent, but none of the view's authenticators reads its scheme (``Bearer`` with a
    user's token, a bare token): DRF then says "credentials were not provided", which misleads."""
    header = request.META.get("HTTP_AUTHORIZATION", "").strip()
    if not header:
        return False
    keywords = {str(getattr(a, "keyword", "")).lower() for a in getattr(request, "authenticators", ())}
    return header.split()[0].lower() not in keywords
