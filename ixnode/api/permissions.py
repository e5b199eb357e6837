"""API permissions: operators authenticate (session or token) and need the model's Django permissions."""

from rest_framework.permissions import DjangoModelPermissions


class OperatorPermissions(DjangoModelPermissions):
    """Django model permissions, with ``view_*`` required for reads too."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }
