"""API of the pipelines: a service's drift report, and the stage callback of the generated Jenkins jobs."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import gettext
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from autoscaling.models import AutoscalingConfig
from events.models import ScaleEvent
from ixnode.registry import registry
from provisioning.drift import drift_report
from provisioning.runner import run_one_step, run_step_check
from provisioning.stages import stage_names


class BearerTokenAuthentication(TokenAuthentication):
    """DRF tokens sent as ``Authorization: Bearer <token>`` (what the generated Jenkins jobs send)."""

    keyword = "Bearer"


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "provisioning.api.views.BearerTokenAuthentication"
    name = "operatorBearerToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "DRF token of a user (e.g. the Jenkins bot)"}


class CanViewConfigs(BasePermission):
    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.has_perm("autoscaling.view_autoscalingconfig"))


class CanRunSteps(BasePermission):
    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.has_perm("events.change_scaleevent"))


class DriftReportView(APIView):
    """GET: the service's drift report (read-only; VMs vs Prometheus targets vs F5 members)."""

    permission_classes = [CanViewConfigs]

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="Drift report of a service (read-only)")
    def get(self, request, service_name: str):
        config = get_object_or_404(AutoscalingConfig, service_name=service_name)
        return Response(drift_report(config=config).as_dict())


class StepRequestSerializer(serializers.Serializer):
    stage = serializers.CharField(max_length=64)
    build_url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    event_id = serializers.CharField(required=False, allow_blank=True)


class RunStepView(APIView):
    """POST ``{"stage": <name>, "build_url": ...}``: run that stage of the run now (Jenkins stage callback).

    200 when the stage succeeded (or had already), 409 when it failed (the run was rolled back) or the run is
    over, 400 for an unknown stage or one whose predecessors have not succeeded.
    """

    authentication_classes = [BearerTokenAuthentication, TokenAuthentication, SessionAuthentication]
    permission_classes = [CanRunSteps]

    @extend_schema(request=StepRequestSerializer, responses=OpenApiTypes.OBJECT, summary="Run one stage of a run")
    def post(self, request, event_id: int):
        event = ScaleEvent.objects.filter(pk=event_id).first()
        if event is None:  # get_object_or_404's own text ("No ScaleEvent matches …") would be English only
            raise NotFound(gettext("Scale event %(id)s does not exist.") % {"id": event_id})
        body = StepRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        stage = body.validated_data["stage"]
        names = stage_names(event.action)
        steps = registry.stages_for_step(event.action, stage)
        if any(step not in names for step in steps):
            # In the request's language, as the step's own errors below and the API's field errors.
            message = gettext("Unknown stage '%(stage)s' for a %(action)s run; stages are: %(stages)s.") % {
                "stage": stage, "action": event.action, "stages": ", ".join(names)}
            return Response({"stage": [message]}, status=status.HTTP_400_BAD_REQUEST)
        try:  # a stage that cannot run yet is refused before the build URL is recorded (nothing half-written)
            run_step_check(event, steps[0])
        except ValueError as exc:
            return Response({"stage": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        build_url = body.validated_data.get("build_url") or ""
        if build_url and not event.jenkins_build_url:
            ScaleEvent.objects.filter(pk=event.pk).update(jenkins_build_url=build_url)
        for step in steps:
            try:
                ok, event = run_one_step(event.pk, step)
            except ValueError as exc:
                return Response({"stage": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
            if not ok:
                return Response(
                    {"stage": step, "status": event.status, "error": event.error,
                     "rollback_summary": event.rollback_summary},
                    status=status.HTTP_409_CONFLICT,
                )
        return Response({"stage": stage, "status": event.status})


urlpatterns = [
    path("autoscaling/drift/<service:service_name>/", DriftReportView.as_view(), name="autoscaling-drift"),
    path("runs/<int:event_id>/steps/", RunStepView.as_view(), name="run-steps"),
]
