"""Thin API views: parse, call a service, serialise."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.mixins import ListModelMixin
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from autoscaling.models import AutoscalingConfig
from policies import services
from policies.api.serializers import (
    DryRunSerializer,
    ProcessesSerializer,
    ScalingPolicySerializer,
    WhatIfRunSerializer,
    WhatIfStartedSerializer,
    WhatIfStartSerializer,
)
from policies.models import ScalingPolicy, WhatIfRun
from policies.whatif import whatif_run_create, whatif_run_expire, whatif_run_get, whatif_run_list


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


# --- What-if on the service's own history (policies.whatif; the pages: autoscaling/views/whatif.py) -------------

class WhatIfPermission(BasePermission):
    """The pages' rules: reading needs ``autoscaling.view_autoscalingconfig``; starting a run also
    ``policies.add_whatifrun``."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.has_perm("autoscaling.view_autoscalingconfig")):
            return False
        return request.method in SAFE_METHODS or user.has_perm("policies.add_whatifrun")


class _WhatIfMixin(GenericAPIView):
    permission_classes = [WhatIfPermission]
    serializer_class = WhatIfRunSerializer
    queryset = WhatIfRun.objects.none()  # the runs are read through policies.whatif's selectors

    def config(self) -> AutoscalingConfig:
        return get_object_or_404(AutoscalingConfig, service_name=self.kwargs["service_name"])

    def run(self, *, with_plot: bool = False) -> WhatIfRun:
        run = whatif_run_get(config=self.config(), run_id=self.kwargs["run_id"], with_plot=with_plot)
        if run is None:
            raise NotFound
        return run


class WhatIfRunListView(ListModelMixin, _WhatIfMixin):
    """GET/POST ``/api/policies/<serviceName>/whatif-runs/``: the service's recent what-if runs; start one.
    (``ListModelMixin`` makes the schema describe the GET as the paginated list it is.)"""

    def get_queryset(self) -> QuerySet[WhatIfRun]:
        # the config's policy with it: each run's rows mark the policy in use (one query, not one per run)
        return whatif_run_list(config=self.config()).select_related("config", "config__scaling_policy", "created_by")

    @extend_schema(summary="What-if runs of a service (newest first)", operation_id="policies_whatif_runs_list",
                   description="The service's last what-if runs (a service keeps 20), newest first, paginated.")
    def get(self, request: Request, service_name: str) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        runs = [whatif_run_expire(run=run) for run in page or []]
        return self.get_paginated_response(self.get_serializer(runs, many=True).data)

    @extend_schema(
        summary="Start a what-if run", operation_id="policies_whatif_runs_create",
        request=WhatIfStartSerializer,
        responses={
            202: OpenApiResponse(WhatIfStartedSerializer, description="The run is queued (`created` true); "
                                 "`Location` is its URL. Poll it until `active` is false."),
            200: OpenApiResponse(WhatIfStartedSerializer, description="A run of the service is already pending or "
                                 "running: that run (`created` false, `note` says so); nothing new was queued."),
        },
        description="Replay the last `days` days of the service's own Prometheus history through the step policy, "
                    "the recommended policy and the service's current one (a background task), as the service "
                    "page's *Run what-if*. Needs `policies.add_whatifrun` (and `autoscaling.view_autoscalingconfig`).",
    )
    def post(self, request: Request, service_name: str) -> Response:
        config = self.config()
        body = WhatIfStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run, created = whatif_run_create(config=config, days=body.validated_data["days"], user=request.user,
                                         language=get_language() or "")
        data = WhatIfStartedSerializer(run, context={**self.get_serializer_context(), "created": created}).data
        if not created:
            return Response(data, status=status.HTTP_200_OK)
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})


class WhatIfRunDetailView(_WhatIfMixin):
    """GET ``/api/policies/<serviceName>/whatif-runs/<id>/``: status, progress and, once succeeded, the figures."""

    @extend_schema(summary="A what-if run: progress, then the figures per policy",
                   operation_id="policies_whatif_runs_retrieve")
    def get(self, request: Request, service_name: str, run_id: int) -> Response:
        return Response(self.get_serializer(self.run()).data)


class PNGRenderer(BaseRenderer):
    """``image/png``: bytes as they are (so a client asking for ``Accept: image/png`` is not refused a 406)."""

    media_type = "image/png"
    format = "png"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: Mapping[str, Any] | None = None) -> bytes:
        return data if isinstance(data, bytes) else b""


class WhatIfRunPlotView(_WhatIfMixin):
    """GET ``/api/policies/<serviceName>/whatif-runs/<id>/plot``: the plot of a succeeded run as ``image/png``."""

    renderer_classes = [JSONRenderer, PNGRenderer]

    @extend_schema(
        summary="The plot of a what-if run (PNG)", operation_id="policies_whatif_runs_plot_retrieve",
        responses={(200, "image/png"): OpenApiTypes.BINARY,
                   404: OpenApiResponse(description="No such run, or the run has no plot (not succeeded).")},
        description="Demand, capacity at the threshold and the VM count per policy, in the language the run was "
                    "started in (times in `TIME_ZONE`); 404 with `code` `no_plot` while the run has not succeeded.",
    )
    def get(self, request: Request, service_name: str, run_id: int) -> HttpResponseBase:
        run = self.run(with_plot=True)
        if not run.plot_png:
            return Response({"detail": _("What-if run %(id)s has no plot: only a run that has succeeded has one "
                                         "(its status: %(status)s).") % {"id": run.pk, "status": run.status},
                             "code": "no_plot"}, status=status.HTTP_404_NOT_FOUND)
        response = HttpResponse(bytes(run.plot_png), content_type="image/png")
        response["Cache-Control"] = "private, max-age=3600"
        return response

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        # An error is JSON (the API's shape) even for a client that asked for the image only.
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and isinstance(getattr(response, "accepted_renderer", None), PNGRenderer):
            response.accepted_renderer, response.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return response
