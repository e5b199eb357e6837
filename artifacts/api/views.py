"""Scrape-target registration API: ``GET/POST /api/autoscaling/configs/<service>/targets/`` and
``DELETE /api/autoscaling/configs/<service>/targets/<host:port>/`` (thin: parse, call the service, answer)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from artifacts.targets import target_add, target_normalize, target_remove, targets_list
from autoscaling.models import AutoscalingConfig
from ixnode.integrations.plg.interface import PlgError


class TargetsPermission(BasePermission):
    """Reading needs ``view_autoscalingconfig``; changing targets needs ``change_autoscalingconfig``."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        action = "view" if request.method in ("GET", "HEAD", "OPTIONS") else "change"
        return user.has_perm(f"autoscaling.{action}_autoscalingconfig")


class StrictCharField(serializers.CharField):
    """A CharField that refuses JSON numbers and booleans instead of turning ``123`` into ``"123"``."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class TargetInputSerializer(serializers.Serializer):
    target = StrictCharField(max_length=300, help_text="host:port (a bare host gets the node exporter port)")


TargetsOutput = inline_serializer(
    "ScrapeTargets",
    {"service": serializers.CharField(), "targets": serializers.ListField(child=serializers.CharField())},
)


def _unavailable(exc: PlgError) -> Response:
    return Response({"detail": str(exc), "code": "plg_unavailable"}, status=status.HTTP_503_SERVICE_UNAVAILABLE)


class ConfigTargetsView(APIView):
    permission_classes = [TargetsPermission]

    @extend_schema(responses={200: TargetsOutput}, summary="Scrape targets of a service")
    def get(self, request: Request, service_name: str) -> Response:
        config = get_object_or_404(AutoscalingConfig, service_name=service_name)
        try:
            targets = targets_list(config=config)
        except PlgError as exc:
            return _unavailable(exc)
        return Response({"service": config.service_name, "targets": targets})

    @extend_schema(request=TargetInputSerializer, responses={200: TargetsOutput, 201: TargetsOutput},
                   summary="Register a scrape target")
    def post(self, request: Request, service_name: str) -> Response:
        config = get_object_or_404(AutoscalingConfig, service_name=service_name)
        payload = TargetInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            targets, changed = target_add(config=config, target=payload.validated_data["target"])
        except ValidationError as exc:
            raise serializers.ValidationError(serializers.as_serializer_error(exc)) from exc
        except PlgError as exc:
            return _unavailable(exc)
        return Response(
            {"service": config.service_name, "targets": targets},
            status=status.HTTP_201_CREATED if changed else status.HTTP_200_OK,
        )


class ConfigTargetDetailView(APIView):
    permission_classes = [TargetsPermission]

    @extend_schema(responses={204: None}, summary="Unregister a scrape target")
    def delete(self, request: Request, service_name: str, target: str) -> Response:
        config = get_object_or_404(AutoscalingConfig, service_name=service_name)
        try:
            normalized = target_normalize(target, default_port=config.node_exporter_port)
            _targets, removed = target_remove(config=config, target=normalized)
        except ValidationError as exc:
            raise serializers.ValidationError(serializers.as_serializer_error(exc)) from exc
        except PlgError as exc:
            return _unavailable(exc)
        if not removed:
            return Response(
                {"detail": _("%(target)s is not a registered target of %(service)s") % {
                    "target": normalized, "service": config.service_name}, "code": "not_found"},
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)
