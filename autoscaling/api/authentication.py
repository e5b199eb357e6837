"""Authentication of Alertmanager's webhook calls: ``Authorization: Bearer $IXNODE_WEBHOOK_TOKEN``."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission


class WebhookNotConfigured(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = gettext_lazy(
        "The webhook is disabled: IXNODE_WEBHOOK_TOKEN is not set on the server. Set it and configure the same "
        "token as the bearer credentials of the Alertmanager webhook receiver."
    )
    default_code = "webhook_not_configured"


class WebhookCaller:
    """The authenticated principal of a webhook call (not a Django user)."""

    is_authenticated = True
    is_anonymous = False
    username = "alertmanager"
    history_actor = "alertmanager"  # ixnode.history: what the change history says made a change in this call

    def __str__(self) -> str:
        return self.username


class WebhookBearerAuthentication(BaseAuthentication):
    """Constant-time comparison of the bearer token with IXNODE_WEBHOOK_TOKEN."""

    keyword = "Bearer"

    def authenticate(self, request):
        expected = settings.IXNODE_WEBHOOK_TOKEN
        if not expected:
            raise WebhookNotConfigured()
        header = get_authorization_header(request).split()
        if not header:
            return None
        if header[0].lower() != self.keyword.lower().encode():
            raise exceptions.AuthenticationFailed(_("Use 'Authorization: Bearer <IXNODE_WEBHOOK_TOKEN>'."))
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid bearer header: give exactly one token, without spaces."))
        if not hmac.compare_digest(header[1], expected.encode()):
            raise exceptions.AuthenticationFailed(_("Invalid webhook token."))
        return (WebhookCaller(), None)

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="ixnode-webhook"'


class IsWebhookCaller(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, WebhookCaller)


class WebhookBearerScheme(OpenApiAuthenticationExtension):
    target_class = "autoscaling.api.authentication.WebhookBearerAuthentication"
    name = "webhookBearer"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "IXNODE_WEBHOOK_TOKEN"}
