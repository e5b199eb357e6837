"""Thin API views: parse, call a service, serialise."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from autoscaling.models import AutoscalingConfig
from policies import services
from policies.api.serializers import (
    DryRunSerializer,
    ProcessesSerializer,
    ScalingPolicySerializer,
)
from policies.models import ScalingPolicy


class _PolicyMixin(GenericAPIView):
    queryset = ScalingPolicy.objects.select_related("config")
    lookup_field = "config__service_name"
    lookup_url_kwarg = "service_name"

    def config(self) -> AutoscalingConfig:
        return get_object_or_404(AutoscalingConfig, service_name=self.kwargs["service_name"])

    def policy(self) -> ScalingPolicy:
        return get_object_or_404(ScalingPolicy, config__service_name=self.kwargs["service_name"])


class ScalingPolicyDetailView(_PolicyMixin):
    """GET/PUT/PATCH/DELETE ``/api/policies/<serviceName>/`` — PUT creates the policy when missing."""

    serializer_class = ScalingPolicySerializer

    def get(self, request, service_name):
        return Response(self.get_serializer(self.policy()).data)

    def put(self, request, service_name):
        return self._write(request, partial=False)

    def patch(self, request, service_name):
        return self._write(request, partial=True)

    def _write(self, request, *, partial: bool):
        config = self.config()
        instance = ScalingPolicy.objects.filter(config=config).first()
        serializer = ScalingPolicySerializer(
            instance, data=request.data, partial=partial or instance is None, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        policy = serializer.save_with_actions(config=config)
        code = status.HTTP_200_OK if instance else status.HTTP_201_CREATED
        return Response(self.get_serializer(policy).data, status=code)

    def delete(self, request, service_name):
        self.policy().delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class _ControlView(_PolicyMixin):
    def check_permissions(self, request):
        super().check_permissions(request)
        if not request.user.has_perm("policies.change_scalingpolicy"):
            self.permission_denied(request, message="You need the 'change scaling policy' permission.")


class PolicySuspendView(_ControlView):
    """POST ``/api/policies/<serviceName>/suspend`` ``{"processes": [...]}`` (default: all)."""

    serializer_class = ProcessesSerializer
    suspended = True

    @extend_schema(responses=ScalingPolicySerializer)
    def post(self, request, service_name):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        policy = services.policy_get_or_create(config=self.config())
        policy = services.policy_processes_set(policy=policy, processes=serializer.validated_data["processes"],
                                               suspended=self.suspended)
        return Response(ScalingPolicySerializer(policy).data)


class PolicyResumeView(PolicySuspendView):
    """POST ``/api/policies/<serviceName>/resume`` ``{"processes": [...]}`` (default: all)."""

    suspended = False


class PolicyDryRunView(_ControlView):
    """POST ``/api/policies/<serviceName>/dry-run`` ``{"enabled": true}``."""

    serializer_class = DryRunSerializer

    @extend_schema(responses=ScalingPolicySerializer)
    def post(self, request, service_name):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        policy = services.policy_get_or_create(config=self.config())
        policy = services.policy_dry_run_set(policy=policy, enabled=serializer.validated_data["enabled"])
        return Response(ScalingPolicySerializer(policy).data)
