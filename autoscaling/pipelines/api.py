"""API of the pipelines: the drift report of a service and the Jenkins stage callback."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import path
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from autoscaling.models import AutoscalingConfig
from autoscaling.pipelines.drift import drift_report


class DriftReportView(APIView):
    """GET: the service's drift report (read-only; VMs vs Prometheus targets vs F5 members)."""

    def get(self, request, service_name: str):
        config = get_object_or_404(AutoscalingConfig, service_name=service_name)
        report = drift_report(config=config)
        return Response(report.as_dict(), status=status.HTTP_200_OK)


urlpatterns = [
    path("autoscaling/drift/<str:service_name>/", DriftReportView.as_view(), name="autoscaling-drift"),
]
