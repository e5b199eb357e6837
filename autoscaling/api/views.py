"""Config API keyed by service name: ``/api/autoscaling/configs/`` and ``/api/autoscaling/configs/<serviceName>/``."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from autoscaling import selectors
from autoscaling.api.serializers import (
    AutoscalingConfigSerializer,
    DesiredCountSerializer,
    ManualScaleSerializer,
    VMProtectionSerializer,
)
from autoscaling.converters import ServiceNameConverter
from autoscaling.models import ManagedVM
from autoscaling.services.configs import ConfigDeleteRefused, config_delete, validation_error_dict
from autoscaling.services.manual import ManualScaleUnavailable, scale_manual, scale_to_desired_count
from autoscaling.services.vms import managed_vm_set_protection
from events.api.serializers import ScaleEventSerializer
from ixnode.api.permissions import OperatorPermissions


class ChangeConfigPermission(OperatorPermissions):
    """A manual action changes the service's state: POST needs ``change_autoscalingconfig`` (not ``add``)."""

    perms_map = {**OperatorPermissions.perms_map, "POST": ["%(app_label)s.change_%(model_name)s"]}


DETAIL = inline_serializer("ManualActionError", {"detail": serializers.CharField()})
DESIRED_RESPONSE = inline_serializer("DesiredCountResponse", {
    "currentCount": serializers.IntegerField(),
    "desiredCount": serializers.IntegerField(),
    "event": ScaleEventSerializer(allow_null=True),
})


@extend_schema_view(
    destroy=extend_schema(
        responses={204: None, 400: OpenApiResponse(description="A run is in flight or autoscaled VMs are alive.")}
    )
)
class AutoscalingConfigViewSet(viewsets.ModelViewSet):
    """Autoscaling configs in the seed's JSON shape (camelCase, nested monitoring/network/f5)."""

    serializer_class = AutoscalingConfigSerializer
    lookup_field = "service_name"
    lookup_url_kwarg = "service_name"
    lookup_value_regex = ServiceNameConverter.regex  # a name no config can have never reaches the database

    def get_queryset(self):
        return selectors.config_list()

    def destroy(self, request, *args, **kwargs) -> Response:
        config = self.get_object()
        try:
            config_delete(config=config)
        except ConfigDeleteRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _manual_config(self, request):
        return self.get_object()

    @extend_schema(
        request=ManualScaleSerializer,
        responses={200: ScaleEventSerializer, 400: OpenApiResponse(description="Field errors."), 403: DETAIL},
        description="Scale the service out or in by `count` VMs as the calling operator: one decision through the "
                    "decision service (trigger `manual`, `triggeredBy` the user name), recorded as an event. A "
                    "refused action is recorded too: the answer's `decision` and `reason` say why (200 either way).",
    )
    @action(detail=True, methods=["post"], url_path="scale", permission_classes=[ChangeConfigPermission])
    def scale(self, request, service_name=None) -> Response:
        config = self._manual_config(request)
        data = ManualScaleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            event = scale_manual(config=config, action=data.validated_data["action"],
                                 count=data.validated_data["count"], user=request.user.get_username())
        except DjangoValidationError as exc:
            raise serializers.ValidationError(validation_error_dict(exc)) from exc
        return Response(ScaleEventSerializer(event).data)

    @extend_schema(
        request=DesiredCountSerializer,
        responses={200: DESIRED_RESPONSE, 400: OpenApiResponse(description="Outside min/max."), 403: DETAIL,
                   503: DETAIL},
        description="Move the service to `desiredCount` VMs (between its min and max): one scale-out or scale-in "
                    "decision for the difference from the current count, as `scale`. `event` is null when the "
                    "service already runs that many; 503 when the current count cannot be read from Prometheus "
                    "(nothing is decided then).",
    )
    @action(detail=True, methods=["post"], url_path="desired-count", permission_classes=[ChangeConfigPermission])
    def desired_count(self, request, service_name=None) -> Response:
        config = self._manual_config(request)
        data = DesiredCountSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            outcome = scale_to_desired_count(config=config, desired=data.validated_data["desiredCount"],
                                             user=request.user.get_username())
        except DjangoValidationError as exc:
            errors = validation_error_dict(exc)
            raise serializers.ValidationError({"desiredCount": errors.get("desired", [])} if "desired" in errors
                                              else errors) from exc
        except ManualScaleUnavailable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response({"currentCount": outcome.current, "desiredCount": outcome.desired,
                         "event": ScaleEventSerializer(outcome.event).data if outcome.event else None})


class VMProtectionView(GenericAPIView):
    """GET/PATCH ``/api/managed-vms/<name>/protection`` ``{"scale_in_protected": true}``."""

    serializer_class = VMProtectionSerializer
    queryset = ManagedVM.objects.select_related("config")
    lookup_field = "name"

    def get(self, request, name):
        return Response(self.get_serializer(self.get_object()).data)

    def patch(self, request, name):
        vm = self.get_object()
        serializer = self.get_serializer(vm, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        protected = serializer.validated_data.get("scale_in_protected", vm.scale_in_protected)
        vm = managed_vm_set_protection(vm=vm, protected=protected)
        return Response(self.get_serializer(vm).data)
