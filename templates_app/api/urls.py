"""API routes of templates_app."""

urlpatterns: list = []
