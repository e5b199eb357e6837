"""API routes of events."""

from rest_framework.routers import SimpleRouter

from events.api.views import ScaleEventViewSet

router = SimpleRouter()
router.register("events", ScaleEventViewSet, basename="event")

urlpatterns: list = router.urls
