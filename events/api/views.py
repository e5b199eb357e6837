"""``GET /api/events/?service=&action=&decision=&status=`` (paginated) and ``GET /api/events/<id>/``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets

from events.api.serializers import ScaleEventFilterSerializer, ScaleEventSerializer
from events.selectors import scale_event_list


class ScaleEventViewSet(viewsets.ReadOnlyModelViewSet):
    """Scale events (every decision and run), newest first. Read-only: the audit is append-only."""

    serializer_class = ScaleEventSerializer
    filters: dict = {}

    def get_queryset(self):
        return scale_event_list(filters=self.filters)

    @extend_schema(parameters=[ScaleEventFilterSerializer])
    def list(self, request, *args, **kwargs):
        filters = ScaleEventFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        self.filters = filters.validated_data
        return super().list(request, *args, **kwargs)
