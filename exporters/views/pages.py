"""Exporter installs: list + start form, one job's page with live per-host progress. Thin views."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from exporters.forms import ExporterInstallForm
from exporters.selectors import exporter_install_get, exporter_install_list, exporter_install_progress, vcenter_vms
from exporters.services import exporter_install_create

VIEW_INSTALLS = "exporters.view_exporterinstall"
ADD_INSTALLS = "exporters.add_exporterinstall"


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(VIEW_INSTALLS, raise_exception=True)
def install_list(request: HttpRequest) -> HttpResponse:
    can_add = request.user.has_perm(ADD_INSTALLS)
    vms, vm_error = vcenter_vms() if can_add else ([], "")
    choices = [(f"{vm.name}|{vm.ip_address}", vm.name) for vm in vms if vm.ip_address]
    form = ExporterInstallForm(request.POST or None, vm_choices=choices) if can_add else None
    if request.method == "POST":
        if not can_add or form is None:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                install = exporter_install_create(
                    hosts=data["hosts"], components=data["components"], action=data["action"],
                    config=data["config"], ssh_user=data["ssh_user"], ssh_key_path=data["ssh_key_path"],
                    ssh_port=data["ssh_port"], source=data["source"], exporter_port=data["exporter_port"],
                    user=request.user,
                )
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, messages)
            else:
                return redirect("exporters:detail", install.pk)
    context = {"installs": exporter_install_list(), "form": form, "vms": vms, "vm_error": vm_error}
    return render(request, "exporters/list.html", context)


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
        return JsonResponse({"error": _("no such install")}, status=404)
    return JsonResponse(exporter_install_progress(install=install))
