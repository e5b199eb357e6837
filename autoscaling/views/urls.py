"""Routes of the autoscaling pages (mounted at the site root)."""

from django.urls import path

from autoscaling.views import pages

app_name = "autoscaling"

urlpatterns = [
    path("", pages.overview, name="overview"),
    path("services/<str:service_name>/", pages.service_detail, name="service"),
    path("services/<str:service_name>/chart.json", pages.service_chart_json, name="service-chart"),
    path("services/<str:service_name>/run.json", pages.service_run_json, name="service-run"),
    path("services/<str:service_name>/diagnostics/", pages.service_diagnostics, name="service-diagnostics"),
]
