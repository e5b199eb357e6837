"""API routes of autoscaling."""

urlpatterns: list = []
