"""API routes of autoscaling."""

from django.urls import re_path

from autoscaling.api.webhook import AutoscaleWebhookView

urlpatterns: list = [
    re_path(r"^webhook/autoscale/(?P<service_name>[^/]+)/?$", AutoscaleWebhookView.as_view(), name="webhook-autoscale"),
]
