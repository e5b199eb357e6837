"""API of templates_app: Template rows, create-from-VM, sync, and vCenter's VM list. Thin: services do the work."""

from __future__ import annotations

from dataclasses import asdict

from django.db.models import ProtectedError
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ixnode.integrations.vcenter.interface import VCenterError, VCenterUnavailable
from templates_app.api.serializers import (
    TemplateFromVMSerializer,
    TemplateSerializer,
    TemplatesSyncResultSerializer,
    VCenterVMSerializer,
)
from templates_app.models import Template
from templates_app.selectors import template_list, vcenter_vms_list
from templates_app.services import template_create_from_vm, templates_sync


class VCenterAPIError(APIException):
    status_code: int = status.HTTP_502_BAD_GATEWAY
    default_code = "vcenter_error"

    def __init__(self, exc: VCenterError) -> None:
        super().__init__(detail=exc.message, code=self.default_code)
        if isinstance(exc, VCenterUnavailable):
            self.status_code = status.HTTP_503_SERVICE_UNAVAILABLE


class TemplateInUse(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "template_in_use"


class CanViewTemplates(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.user.has_perm("templates_app.view_template")


VCENTER_ERRORS = {
    502: OpenApiResponse(description="vCenter answered with an error (the message says which)."),
    503: OpenApiResponse(description="vCenter (or the database) is unreachable; retry later."),
}


@extend_schema_view(destroy=extend_schema(
    responses={204: None, 409: OpenApiResponse(description="Autoscaling configs use the template.")}))
class TemplateViewSet(viewsets.ModelViewSet):
    """Template metadata; ``from-vm`` creates a vCenter template from a VM, ``sync`` imports vCenter's."""

    serializer_class = TemplateSerializer
    queryset = Template.objects.all()

    def get_queryset(self):
        return template_list()

    def perform_destroy(self, instance: Template) -> None:
        try:
            instance.delete()
        except ProtectedError as exc:
            names = ", ".join(sorted(str(obj) for obj in exc.protected_objects))
            raise TemplateInUse(f"Template '{instance.name}' is used by autoscaling configs: {names}.") from exc

    @extend_schema(request=TemplateFromVMSerializer, responses={201: TemplateSerializer, **VCENTER_ERRORS})
    @action(detail=False, methods=["post"], url_path="from-vm")
    def from_vm(self, request: Request) -> Response:
        serializer = TemplateFromVMSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            template = template_create_from_vm(**serializer.validated_data)
        except VCenterError as exc:
            raise VCenterAPIError(exc) from exc
        return Response(TemplateSerializer(template).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: TemplatesSyncResultSerializer, **VCENTER_ERRORS})
    @action(detail=False, methods=["post"])
    def sync(self, request: Request) -> Response:
        if not request.user.has_perm("templates_app.change_template"):
            self.permission_denied(request, message="Syncing needs the change_template permission.")
        try:
            result = templates_sync()
        except VCenterError as exc:
            raise VCenterAPIError(exc) from exc
        return Response(TemplatesSyncResultSerializer(asdict(result)).data)


class VCenterVMListView(APIView):
    """Every VM and template vCenter reports (``?templates=true|false`` to filter)."""

    permission_classes = [IsAuthenticated, CanViewTemplates]

    @extend_schema(
        parameters=[OpenApiParameter("templates", bool, required=False)],
        responses={200: VCenterVMSerializer(many=True), **VCENTER_ERRORS},
    )
    def get(self, request: Request) -> Response:
        raw = request.query_params.get("templates")
        templates = raw.lower() in ("1", "true", "yes") if raw else None
        try:
            vms = vcenter_vms_list(templates=templates)
        except VCenterError as exc:
            raise VCenterAPIError(exc) from exc
        return Response(VCenterVMSerializer([asdict(vm) for vm in vms], many=True).data)
