"""API error handling: model validation errors become 400 with field errors, an unavailable database 503, never
500."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
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
    return drf_exception_handler(exc, context)
