"""Routes of the scrape-target registration API (included from ixnode/urls.py under ``api/``)."""

from django.urls import path

from artifacts.api.views import ConfigTargetDetailView, ConfigTargetsView

urlpatterns = [
    path(
        "autoscaling/configs/<service:service_name>/targets/",
        ConfigTargetsView.as_view(),
        name="autoscaling-config-targets",
    ),
    path(
        "autoscaling/configs/<service:service_name>/targets/<name:target>/",
        ConfigTargetDetailView.as_view(),
        name="autoscaling-config-target-detail",
    ),
]
