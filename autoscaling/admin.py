"""Admin of the autoscaling domain. Thin: validation is the model's (full_clean), actions call services."""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from artifacts.admin import ArtifactsAdminMixin
from autoscaling.choices import ArtifactStatus
from autoscaling.decision import cooldown_remaining
from autoscaling.models import AutoscalingConfig, CooldownState, IPLease, ManagedVM, artifacts_status_label
from autoscaling.naming import DERIVED_FIELDS
from autoscaling.services.configs import (
    ConfigDeleteRefused,
    config_delete,
    config_delete_blockers,
    config_set_enabled,
    config_values_with_defaults,
    validation_error_dict,
)
from autoscaling.services.runs import cooldown_clear
from autoscaling.services.vms import managed_vm_set_protection
from autoscaling.services.warm_pool import warm_pool_trim
from ixnode.admin_guards import SelectedRowsGuardMixin
from ixnode.history import HumanHistoryAdminMixin
from ixnode.integrations.problems import explain


class ArtifactsStatusFilter(admin.SimpleListFilter):
    """The artifacts status in the wording of the list column (pending and removed read alike while publishing is
    off: nothing is published either way)."""

    title = gettext_lazy("artifacts status")
    parameter_name = "artifacts"
    NOT_PUBLISHED = "not_published"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        if settings.IXNODE_PLG_MODE == "off":
            return [(self.NOT_PUBLISHED, artifacts_status_label(status=ArtifactStatus.PENDING)),
                    *[(s, artifacts_status_label(status=s)) for s in (ArtifactStatus.ACTIVE, ArtifactStatus.ERROR)]]
        return [(s, artifacts_status_label(status=s)) for s in ArtifactStatus.values]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == self.NOT_PUBLISHED:
            return queryset.filter(artifacts_status__in=[ArtifactStatus.PENDING, ArtifactStatus.REMOVED])
        if value in ArtifactStatus.values:
            return queryset.filter(artifacts_status=value)
        return queryset


class AutoscalingConfigAdminForm(forms.ModelForm):
    """The admin's config form. Adding a config, the Prometheus job name, VM prefix and F5 pool name may be left
    empty, as on the *New config* page and in the API: they are derived from the service name
    (``config_values_with_defaults``, ``autoscaling.naming``). The admin makes its model form from this one, with
    the fieldsets' fields."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            for name in DERIVED_FIELDS:
                if name in self.fields:
                    self.fields[name].required = False
                    self.fields[name].help_text = _("Left empty: derived from the service name.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk is None:
            filled = config_values_with_defaults(data)
            data.update({name: filled[name] for name in DERIVED_FIELDS if name in filled})
        return data


@admin.register(AutoscalingConfig)
class AutoscalingConfigAdmin(SelectedRowsGuardMixin, ArtifactsAdminMixin, HumanHistoryAdminMixin,
                             SimpleHistoryAdmin):
    form = AutoscalingConfigAdminForm
    # Fits a 1,400 px window beside the admin's navigation: the bounds in one column, steps and F5 on the config's
    # page, the artifacts in the pages' wording, a short update time.
    list_display = ("service_name", "enabled", "template", "vm_bounds", "cooldown_seconds", "artifacts", "updated")
    list_filter = ("enabled", ArtifactsStatusFilter, "network_mode", "scale_in_order", "template")
    search_fields = ("service_name", "prometheus_job_name", "vm_prefix", "f5_pool_name", "f5_vip_address")
    list_select_related = ("template",)
    readonly_fields = ("created_at", "updated_at")
    actions = ["enable_configs", "disable_configs", "trim_warm_pools"]
    fieldsets = (
        (gettext_lazy("Service"), {"fields": ("service_name", "prometheus_job_name", "template", "vm_prefix",
                                              "enabled")}),
        (gettext_lazy("Scaling"), {"fields": (("min_vms", "max_vms"), ("scale_out_step", "scale_in_step"),
                                              "scale_in_order", "warm_pool_size")}),
        (gettext_lazy("Monitoring"), {
            "description": gettext_lazy("Scale out when CPU or memory stays above its threshold for the duration; "
                                        "scale in when both stay below theirs."),
            "fields": (("scale_out_cpu_threshold", "scale_out_memory_threshold", "scale_out_duration_minutes"),
                       ("scale_in_cpu_threshold", "scale_in_memory_threshold", "scale_in_duration_minutes"),
                       "cooldown_seconds", "alert_repeat_interval_seconds", "node_exporter_port"),
        }),
        (gettext_lazy("Network"), {"fields": ("network_mode", ("ip_pool_start", "ip_pool_end"), "gateway",
                                              "subnet_cidr", "vlan_id", "dns_servers")}),
        (gettext_lazy("F5"), {"fields": ("f5_pool_name", ("f5_vip_address", "f5_vip_port"),
                                         "f5_health_check_path")}),
        (gettext_lazy("SSH"), {"fields": ("ssh_user", "ssh_key_path")}),
        (gettext_lazy("Artifacts"), {"fields": ("artifacts_status", "artifacts_published_at", "artifacts_hash",
                                                "artifacts_error"), "classes": ("collapse",)}),
        (gettext_lazy("Timestamps"), {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    @admin.display(description=gettext_lazy("VMs (min–max)"), ordering="max_vms")
    def vm_bounds(self, obj: AutoscalingConfig) -> str:
        return f"{obj.min_vms}–{obj.max_vms}"

    @admin.display(description=gettext_lazy("updated at"), ordering="updated_at")
    def updated(self, obj: AutoscalingConfig) -> str:
        return formats.date_format(timezone.localtime(obj.updated_at), "Y-m-d H:i")

    @admin.display(description=gettext_lazy("Artifacts"), ordering="artifacts_status")
    def artifacts(self, obj: AutoscalingConfig) -> str:
        return obj.artifacts_status_text

    @admin.action(description=gettext_lazy("Enable selected configs"), permissions=["change"])
    def enable_configs(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(description=gettext_lazy("Disable selected configs"), permissions=["change"])
    def disable_configs(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_enabled(request, queryset, False)

    @admin.action(description=gettext_lazy("Destroy stale warm VMs and those above the warm pool size"),
                  permissions=["change"])
    def trim_warm_pools(self, request: HttpRequest, queryset: QuerySet) -> None:

        for config in queryset:
            try:
                lines = warm_pool_trim(config=config)
            except Exception as exc:  # a run in flight, vCenter unreachable: say so, never a 500
                self.message_user(request, _("%(name)s: the warm pool was not trimmed: %(error)s")
                                  % {"name": config.service_name, "error": explain(exc).summary}, messages.ERROR)
                continue
            failed = any(line.failed for line in lines)
            text = "; ".join(lines) or _("no stale warm VM and none above the pool size")
            self.message_user(request, f"{config.service_name}: {text}", messages.ERROR if failed else messages.SUCCESS)

    def _set_enabled(self, request: HttpRequest, queryset: QuerySet, enabled: bool) -> None:
        changed = []
        for config in queryset:
            try:
                config_set_enabled(config=config, enabled=enabled)
                changed.append(config.service_name)
            except ValidationError as exc:
                errors = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in validation_error_dict(exc).items())
                self.message_user(request, _("%(name)s was not enabled: %(errors)s")
                                  % {"name": config.service_name, "errors": errors}, messages.ERROR)
        if changed:
            text = _("Enabled: %(names)s") if enabled else _("Disabled: %(names)s")
            self.message_user(request, text % {"names": ", ".join(changed)}, messages.SUCCESS)

    # Delete goes through the service: refused while a run is in flight or autoscaled VMs are alive.
    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_view(self, request: HttpRequest, object_id: str, extra_context=None):
        config = self.get_object(request, object_id)
        if config is not None:
            reasons = config_delete_blockers(config=config)
            if reasons:
                self.message_user(request, _("%(name)s cannot be deleted: %(reasons)s")
                                  % {"name": config.service_name, "reasons": " ".join(reasons)}, messages.ERROR)
                return HttpResponseRedirect(
                    reverse("admin:autoscaling_autoscalingconfig_change", args=[config.pk])
                )
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request: HttpRequest, obj: AutoscalingConfig) -> None:
        try:
            config_delete(config=obj)
        except ConfigDeleteRefused as exc:  # a run started between the confirmation page and the POST
            self.message_user(request, str(exc), messages.ERROR)


@admin.register(CooldownState)
class CooldownStateAdmin(SelectedRowsGuardMixin, admin.ModelAdmin):
    list_display = ("config", "last_scale_out_at", "scale_out_remaining", "last_scale_in_at", "scale_in_remaining",
                    "updated_at")
    list_select_related = ("config",)
    search_fields = ("config__service_name",)
    readonly_fields = ("config", "last_scale_out_at", "last_scale_in_at", "updated_at")
    actions = ["clear_cooldowns"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created by the decision service

    @admin.display(description=gettext_lazy("scale-out cooldown left (s)"))
    def scale_out_remaining(self, obj: CooldownState) -> int:
        return math.ceil(cooldown_remaining(timezone.now(), obj.last_scale_out_at, obj.config.cooldown_seconds))

    @admin.display(description=gettext_lazy("scale-in cooldown left (s)"))
    def scale_in_remaining(self, obj: CooldownState) -> int:
        return math.ceil(cooldown_remaining(timezone.now(), obj.last_scale_in_at, obj.config.cooldown_seconds))

    @admin.action(description=gettext_lazy("Clear both cooldowns"), permissions=["change"])
    def clear_cooldowns(self, request: HttpRequest, queryset: QuerySet) -> None:
        for state in queryset:
            cooldown_clear(config_id=state.config_id)
        self.message_user(request, _("Cooldowns cleared."), messages.SUCCESS)


@admin.register(IPLease)
class IPLeaseAdmin(SelectedRowsGuardMixin, admin.ModelAdmin):
    """Leases are written by the pipelines only (allocate on clone, release on delete/rollback)."""

    list_display = ("ip_address", "config", "state", "vm_name", "event", "leased_at", "released_at")
    list_filter = ("state", "config")
    search_fields = ("ip_address", "vm_name", "config__service_name")
    list_select_related = ("config", "event")
    date_hierarchy = "leased_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(ManagedVM)
class ManagedVMAdmin(SelectedRowsGuardMixin, admin.ModelAdmin):
    """VMs the pipelines created; operators may only protect them from scale-in."""

    list_display = ("name", "config", "state", "ip_address", "scale_in_protected", "created_at", "in_service_at",
                    "deleted_at")
    list_filter = ("state", "scale_in_protected", "config")
    search_fields = ("name", "ip_address", "moref", "config__service_name")
    list_select_related = ("config",)
    readonly_fields = ("config", "name", "ip_address", "moref", "state", "created_by_event", "created_at",
                       "in_service_at", "deleted_at")
    fields = readonly_fields[:5] + ("scale_in_protected",) + readonly_fields[5:]
    actions = ["protect", "unprotect"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ManagedVM, form, change: bool) -> None:
        managed_vm_set_protection(vm=obj, protected=obj.scale_in_protected)

    @admin.action(description=gettext_lazy("Protect from scale-in"), permissions=["change"])
    def protect(self, request: HttpRequest, queryset: QuerySet) -> None:
        for vm in queryset:
            managed_vm_set_protection(vm=vm, protected=True)

    @admin.action(description=gettext_lazy("Remove scale-in protection"), permissions=["change"])
    def unprotect(self, request: HttpRequest, queryset: QuerySet) -> None:
        for vm in queryset:
            managed_vm_set_protection(vm=vm, protected=False)
