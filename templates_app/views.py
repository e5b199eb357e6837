"""Server-rendered pages of templates_app: vCenter VMs and templates, create a template from a VM, sync."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ixnode.integrations.problems import Problem, explain
from ixnode.integrations.vcenter.interface import VCenterConfigError, VCenterError
from templates_app.forms import TemplateFromVMForm
from templates_app.models import Template
from templates_app.selectors import template_list, vcenter_vms_list
from templates_app.services import templates_sync


def site_base_template() -> str:
    """The site layout (ixnode/templates/base.html) when it exists, else templates_app's minimal one."""
    try:
        get_template("base.html")
    except TemplateDoesNotExist:
        return "templates_app/base.html"
    return "base.html"


@dataclass(frozen=True)
class TemplateRow:
    """A Template row and whether vCenter has it: True, False, or None when vCenter cannot be asked."""

    template: Template
    in_vcenter: bool | None


def _template_rows(vcenter_templates: list | None) -> list[TemplateRow]:
    rows = list(template_list())
    if vcenter_templates is None:
        return [TemplateRow(row, None) for row in rows]
    names = {vm.name for vm in vcenter_templates}
    paths = {vm.path for vm in vcenter_templates}
    return [TemplateRow(row, row.name in names or bool(row.vcenter_path and row.vcenter_path in paths))
            for row in rows]


@login_required
@permission_required("templates_app.view_template", raise_exception=True)
@require_http_methods(["GET", "POST"])
def vcenter_inventory(request: HttpRequest) -> HttpResponse:
    """vCenter's VMs and templates next to the Template rows, with the "create template from VM" form."""
    vcenter_problem: Problem | None = None
    vcenter_configured = True
    vms, templates = [], []
    try:
        inventory = vcenter_vms_list()
        vms = [vm for vm in inventory if not vm.is_template]
        templates = [vm for vm in inventory if vm.is_template]
    except VCenterError as exc:
        vcenter_problem = explain(exc)
        vcenter_configured = not isinstance(exc, VCenterConfigError)
    vm_names = [vm.name for vm in vms] if vcenter_problem is None else None
    can_add = request.user.has_perm("templates_app.add_template")
    status = 200
    if request.method == "POST":
        if not can_add:
            messages.error(request, _("You need the permission to add templates."))
            return redirect("templates_app:inventory")
        form = TemplateFromVMForm(request.POST, vm_names=vm_names)
        if vcenter_problem is not None:  # said once, in the page's banner; the form is not tried
            status = 503
        else:
            template = form.create_template()
            if template is not None:
                messages.success(
                    request,
                    _("Template '%(name)s' created from VM '%(vm)s' at %(path)s.")
                    % {"name": template.name, "vm": template.source_vm_name, "path": template.vcenter_path},
                )
                return redirect("templates_app:inventory")
            status = 400
    else:
        form = TemplateFromVMForm(vm_names=vm_names)
    context = {
        "vms": vms,
        "vcenter_templates": templates,
        "rows": _template_rows(templates if vcenter_problem is None else None),
        "form": form,
        "vcenter_problem": vcenter_problem,
        "vcenter_configured": vcenter_configured,
        "vcenter_ok": vcenter_problem is None,
        "can_add": can_add,
        "can_sync": can_add and request.user.has_perm("templates_app.change_template"),
        "site_base": site_base_template(),
    }
    return render(request, "templates_app/inventory.html", context, status=status)


@login_required
@permission_required(["templates_app.add_template", "templates_app.change_template"], raise_exception=True)
@require_POST
def templates_sync_view(request: HttpRequest) -> HttpResponse:
    try:
        result = templates_sync()
    except VCenterError as exc:
        messages.error(request, _("Sync failed: %(error)s") % {"error": explain(exc).summary})
    else:
        messages.success(request, _("Templates synced from vCenter: %(summary)s.") % {"summary": result.summary()})
        if result.missing_in_vcenter:
            messages.warning(
                request,
                _("No longer in vCenter: %(names)s.") % {"names": ", ".join(result.missing_in_vcenter)},
            )
    return redirect("templates_app:inventory")
