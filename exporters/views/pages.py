"""Exporter installs: list + start form, one job's page with live per-host progress. Thin views."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from exporters.selectors import exporter_install_get, exporter_install_list, exporter_install_progress

VIEW_INSTALLS = "exporters.view_exporterinstall"


@login_required
@permission_required(VIEW_INSTALLS, raise_exception=True)
def install_list(request: HttpRequest) -> HttpResponse:
    return render(request, "exporters/list.html", {"installs": exporter_install_list()})


@require_GET
@login_required
@permission_required(VIEW_INSTALLS, raise_exception=True)
def install_detail(request: HttpRequest, install_id: int) -> HttpResponse:
    install = exporter_install_get(install_id=install_id)
    if install is None:
        raise Http404
    return render(request, "exporters/detail.html", {"install": install})


@require_GET
@login_required
@permission_required(VIEW_INSTALLS, raise_exception=True)
def install_progress_json(request: HttpRequest, install_id: int) -> JsonResponse:
    install = exporter_install_get(install_id=install_id)
    if install is None:
        return JsonResponse({"error": "no such install"}, status=404)
    return JsonResponse(exporter_install_progress(install=install))
