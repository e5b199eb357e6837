"""API routes of events."""

urlpatterns: list = []
