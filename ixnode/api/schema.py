"""``/api/schema/`` (OpenAPI) and ``/api/docs/`` (Swagger UI): behind sign-in unless ``IXNODE_API_SCHEMA_PUBLIC``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseBase
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.request import Request

from ixnode.api.permissions import SchemaAccess


class SchemaView(SpectacularAPIView):
    """The OpenAPI document, for signed-in users (a token or a session) unless the setting opens it."""

    permission_classes = [SchemaAccess]


class SchemaDocsView(SpectacularSwaggerView):
    """Swagger UI of the schema; a browser that is not signed in goes to the sign-in page and back."""

    permission_classes: list = []  # checked in get(): a browser is sent to sign in rather than shown a 401

    def get(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not SchemaAccess().has_permission(request, self):
            return redirect_to_login(request.get_full_path())
        return super().get(request, *args, **kwargs)
