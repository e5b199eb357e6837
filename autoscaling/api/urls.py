"""API routes of autoscaling."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from autoscaling.api.views import AutoscalingConfigViewSet, VMProtectionView
from autoscaling.api.webhook import AutoscaleWebhookSlashView, AutoscaleWebhookView

router = SimpleRouter()
router.register("autoscaling/configs", AutoscalingConfigViewSet, basename="autoscaling-config")

urlpatterns: list = [
    path("webhook/autoscale/<service:service_name>", AutoscaleWebhookView.as_view(), name="webhook-autoscale"),
    path("webhook/autoscale/<service:service_name>/", AutoscaleWebhookSlashView.as_view()),
    path("managed-vms/<name:name>/protection", VMProtectionView.as_view(), name="managed-vm-protection"),
    *router.urls,
]
