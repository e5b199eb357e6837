"""Routes of the event pages (mounted at /events/)."""

from django.urls import path

from events.views import pages

app_name = "events"

urlpatterns = [
    path("", pages.event_history, name="list"),
    path("export.csv", pages.event_export_csv, name="export"),
    path("<int:event_id>/", pages.event_detail, name="detail"),
    path("<int:event_id>/progress.json", pages.event_progress_json, name="progress"),
]
