"""API error handling: model validation errors become 400 with field errors, an unavailable database 503, never
500.

An error message may quote what the client sent (DRF: ``"\\ud800" is not a valid choice.``): a lone surrogate in
it cannot be encoded as UTF-8, which made the 400 a 500 while rendering. Such characters are shown as their JSON
escape (``\\ud800``) in every error answer."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ixnode.guards import DATABASE_UNAVAILABLE, database_unavailable_body

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def surrogates_escaped(data: Any) -> Any:
    """``data`` (an error answer: dicts, lists, strings, ``ErrorDetail``) with every lone surrogate of its strings and
    keys written as its escape ``\\udXXX``; other values unchanged."""
    if isinstance(data, str):
        if not _LONE_SURROGATE.search(data):
            return data
        text = _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", data)
        return exceptions.ErrorDetail(text, data.code) if isinstance(data, exceptions.ErrorDetail) else text
    if isinstance(data, dict):
        return {surrogates_escaped(key): surrogates_escaped(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [surrogates_escaped(value) for value in data]
    return data


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = _exception_response(exc, context)
    if response is not None:
        response.data = surrogates_escaped(response.data)
    return response


def _exception_response(exc: Exception, context: dict[str, Any]) -> Response | None:
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
