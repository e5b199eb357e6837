"""Routes of the scrape-target registration API (included from ixnode/urls.py under ``api/``)."""

from django.urls import path

from artifacts.api.views import ConfigTargetDetailView, ConfigTargetsView

urlpatterns = [
    path(
        "autoscaling/configs/<str:service_name>/targets/",
        ConfigTargetsView.as_view(),
        name="autoscaling-config-targets",
    ),
    path(
        "autoscaling/configs/<str:service_name>/targets/<str:target>/",
        ConfigTargetDetailView.as_view(),
        name="autoscaling-config-target-detail",
    ),
]
