"""API permissions: operators authenticate (session or token) and need the model's Django permissions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.permissions import BasePermission, DjangoModelPermissions

if TYPE_CHECKING:  # DRF imports this module while rest_framework.views loads (DEFAULT_PERMISSION_CLASSES)
    from rest_framework.request import Request
    from rest_framework.views import APIView


class OperatorPermissions(DjangoModelPermissions):
    """Django model permissions, with ``view_*`` required for reads too."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }


class SchemaAccess(BasePermission):
    """The OpenAPI schema and its docs page: signed-in users (session or token), or anyone when
    ``IXNODE_API_SCHEMA_PUBLIC`` opens them."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(settings.IXNODE_API_SCHEMA_PUBLIC or (request.user and request.user.is_authenticated))
