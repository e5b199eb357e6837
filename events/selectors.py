"""Read-side queries of scale events."""

from __future__ import annotations

from django.db.models import QuerySet

from events.models import ScaleEvent


def scale_event_list(*, filters: dict | None = None) -> QuerySet[ScaleEvent]:
    """Events, newest first; ``filters`` may hold service, action, decision, status."""
    filters = filters or {}
    queryset = ScaleEvent.objects.prefetch_related("stages").order_by("-created_at", "-id")
    if filters.get("service"):
        queryset = queryset.filter(service_name=filters["service"])
    for name in ("action", "decision", "status"):
        if filters.get(name):
            queryset = queryset.filter(**{name: filters[name]})
    return queryset
