"""Config API keyed by service name: ``/api/autoscaling/configs/`` and ``/api/autoscaling/configs/<serviceName>/``."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from autoscaling import selectors
from autoscaling.api.serializers import AutoscalingConfigSerializer, VMProtectionSerializer
from autoscaling.models import ManagedVM
from autoscaling.services.configs import ConfigDeleteRefused, config_delete
from autoscaling.services.vms import managed_vm_set_protection


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
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return selectors.config_list()

    def destroy(self, request, *args, **kwargs) -> Response:
        config = self.get_object()
        try:
            config_delete(config=config)
        except ConfigDeleteRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(status=status.HTTP_204_NO_CONTENT)


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
