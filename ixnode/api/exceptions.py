"""API error handling: model validation errors become 400 with field errors, never 500."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = serializers.ValidationError(serializers.as_serializer_error(exc))
    if isinstance(exc, exceptions.ParseError):
        return Response({"detail": str(exc.detail), "code": "parse_error"}, status=400)
    return drf_exception_handler(exc, context)
