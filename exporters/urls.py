"""Routes of the exporter pages (mounted at /exporters/)."""

from django.urls import path

from exporters.views import pages

app_name = "exporters"

urlpatterns = [
    path("", pages.install_list, name="list"),
    path("<int:install_id>/", pages.install_detail, name="detail"),
    path("<int:install_id>/progress.json", pages.install_progress_json, name="progress"),
]
