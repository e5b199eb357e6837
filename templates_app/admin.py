"""Admin of templates_app: Template metadata, plus "sync from vCenter" and "create from VM"."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from ixnode.admin_guards import SelectedRowsGuardMixin
from ixnode.history import HumanHistoryAdminMixin
from ixnode.integrations.problems import explain
from ixnode.integrations.vcenter.interface import VCenterError
from templates_app.forms import TemplateAdminForm, TemplateFromVMForm
from templates_app.models import Template
from templates_app.selectors import vcenter_vms_list
from templates_app.services import templates_sync


@admin.register(Template)
class TemplateAdmin(SelectedRowsGuardMixin, HumanHistoryAdminMixin, SimpleHistoryAdmin):
    form = TemplateAdminForm
    list_display = ("name", "source_vm_name", "vcenter_path", "datastore", "tags_shown", "created_at")
    search_fields = ("name", "source_vm_name", "vcenter_path", "description")
    readonly_fields = ("created_at", "updated_at")
    change_list_template = "admin/templates_app/template/change_list.html"
    actions = ["sync_from_vcenter"]

    @admin.display(description=gettext_lazy("tags"))
    def tags_shown(self, obj: Template) -> str:
        return ", ".join(obj.tags or [])

    def get_urls(self):
        urls = [
            path("sync/", self.admin_site.admin_view(self.sync_view), name="templates_app_template_sync"),
            path(
                "create-from-vm/",
                self.admin_site.admin_view(self.create_from_vm_view),
                name="templates_app_template_create_from_vm",
            ),
        ]
        return urls + super().get_urls()

    def _sync(self, request: HttpRequest) -> None:
        try:
            result = templates_sync()
        except VCenterError as exc:
            self.message_user(request, _("Sync failed: %(error)s") % {"error": explain(exc).summary}, messages.ERROR)
            return
        self.message_user(request, _("Synced from vCenter: %(summary)s.") % {"summary": result.summary()})
        if result.missing_in_vcenter:
            self.message_user(
                request,
                _("No longer in vCenter: %(names)s.") % {"names": ", ".join(result.missing_in_vcenter)},
                messages.WARNING,
            )

    @admin.action(description=gettext_lazy("Sync all templates from vCenter"), permissions=["add", "change"])
    def sync_from_vcenter(self, request: HttpRequest, queryset) -> None:
        self._sync(request)

    def sync_view(self, request: HttpRequest) -> HttpResponse:
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        if request.method == "POST":
            self._sync(request)
        return redirect("admin:templates_app_template_changelist")

    def create_from_vm_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        vm_names = None
        try:
            vm_names = [vm.name for vm in vcenter_vms_list(templates=False)]
        except VCenterError as exc:
            self.message_user(request, _("vCenter cannot be read: %(error)s") % {"error": explain(exc).summary},
                              messages.ERROR)
        form = TemplateFromVMForm(request.POST or None, vm_names=vm_names)
        status = 200
        if request.method == "POST":
            status = 400
            template = form.create_template()
            if template is not None:
                self.message_user(
                    request,
                    _("Template '%(name)s' created at %(path)s.")
                    % {"name": template.name, "path": template.vcenter_path},
                )
                return redirect("admin:templates_app_template_change", template.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Create a template from a VM"),
            "form": form,
        }
        return TemplateResponse(request, "admin/templates_app/template/create_from_vm.html", context, status=status)
