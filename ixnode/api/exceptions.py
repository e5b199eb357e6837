"""API error handling: model validation errors become 400 with field errors, an unavailable database 503, never
500.

An error message may quote what the client sent (DRF: ``"\\ud800" is not a valid choice.``): a lone surrogate in
it cannot be encoded as UTF-8, which made the 400 a 500 while rendering. Such characters are shown as their JSON
escape (``\\ud800``) in every error answer.

A 404 from Django's ``get_object_or_404`` (DRF's generic views use it) reads ``No AutoscalingConfig matches the given
query.``: English whatever the reader's language, and a class name. It is answered in the reader's language with the
model's name and the value looked up (``Autoscaling config 'nope' does not exist.``)."""

from __future__ import annotations

import re
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model
from django.http import Http404
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ixnode.guards import DATABASE_UNAVAILABLE, database_unavailable_body

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# django.shortcuts.get_object_or_404's text: "No %s matches the given query." % model._meta.object_name
_NO_MATCH = re.compile(r"No (?P<model>\w+) matches the given query\.")
_LOOKUP_SHOWN = 100  # characters of the looked-up value quoted in a 404


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
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(not_found_text(exc, context.get("kwargs") or {}))
    if isinstance(exc, exceptions.ParseError):
        return Response({"detail": str(exc.detail), "code": "parse_error"}, status=400)
    if isinstance(exc, exceptions.NotAuthenticated) and unknown_scheme(context["request"]):
        exc.detail = exceptions.ErrorDetail(wrong_scheme_text(), code=exceptions.NotAuthenticated.default_code)
    return drf_exception_handler(exc, context)


def _model_named(object_name: str) -> type[Model] | None:
    return next((model for model in apps.get_models() if model._meta.object_name == object_name), None)


def not_found_text(exc: Http404, kwargs: dict[str, Any]) -> str:
    """What a 404 of the API says, in the reader's language: for ``get_object_or_404``'s English text, the model's
    verbose name and, when the path has one parameter, its value; another Http404's own text; else "Not found."."""
    text = str(exc)
    match = _NO_MATCH.fullmatch(text)
    model = _model_named(match.group("model")) if match else None
    if model is None:
        return text if text and not match else _("Not found.")
    thing = capfirst(str(model._meta.verbose_name))
    if len(kwargs) == 1:
        value = str(next(iter(kwargs.values())))
        shown = value if len(value) <= _LOOKUP_SHOWN else value[:_LOOKUP_SHOWN] + "…"
        return _("%(thing)s '%(value)s' does not exist.") % {"thing": thing, "value": shown}
    return _("%(thing)s does not exist.") % {"thing": thing}


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
