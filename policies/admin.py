"""Admin: scaling policies with their scheduled actions and operator controls."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from ixnode.admin_guards import SelectedRowsGuardMixin
from ixnode.history import HumanHistoryAdminMixin
from policies import services

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise
from policies.choices import ScalingProcess
from policies.models import ScalingPolicy, ScheduledAction, WhatIfRun


class ScheduledActionInline(admin.TabularInline):
    model = ScheduledAction
    extra = 0
    fields = ("name", "weekdays", "start_time", "end_time", "min_vms", "max_vms", "desired_vms", "enabled")


def _processes_action(processes: list[str], suspended: bool, label: StrOrPromise):
    def action(modeladmin, request, queryset):
        for policy in queryset:
            services.policy_processes_set(policy=policy, processes=processes, suspended=suspended)
        modeladmin.message_user(request, _("%(label)s: %(n)d service(s).") % {"label": label, "n": queryset.count()},
                                messages.SUCCESS)

    action.__name__ = f"{'suspend' if suspended else 'resume'}_{'_'.join(processes)}"
    return admin.action(description=label, permissions=["change"])(action)


@admin.register(ScalingPolicy)
class ScalingPolicyAdmin(SelectedRowsGuardMixin, HumanHistoryAdminMixin, SimpleHistoryAdmin):
    list_display = ("config", "policy_type", "target_utilisation", "dry_run", "suspended", "last_evaluated_at")
    list_filter = ("policy_type", "dry_run", "suspend_scale_out", "suspend_scale_in")
    search_fields = ("config__service_name",)
    inlines = [ScheduledActionInline]
    readonly_fields = ("last_evaluated_at", "last_evaluation_shown", "last_alert_recheck_at", "applied_window_key",
                       "recommendations", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("config", "policy_type", "metric", "time_zone")}),
        (_("Target tracking"), {"fields": ("target_utilisation", "scale_in_target_utilisation", "tolerance",
                                           "max_change_per_run", "stabilisation_seconds", "warmup_seconds",
                                           "flapping_check")}),
        (_("Recommended"), {"fields": ("step_guard", "scale_in_on_seed_rule")}),
        (_("Step (seed)"), {"fields": ("recheck_alert_at_cooldown_end",)}),
        (_("Predictive"), {"fields": ("forecast_only", "clone_lead_seconds", "forecast_history_days")}),
        (_("Operator controls"), {"fields": ("dry_run", "suspend_scale_out", "suspend_scale_in", "suspend_scheduled",
                                             "suspend_predictive")}),
        (_("Evaluation"), {"fields": readonly_fields}),
    )
    actions = [
        _processes_action([p.value for p in ScalingProcess], True, _("Suspend all processes")),
        _processes_action([p.value for p in ScalingProcess], False, _("Resume all processes")),
        _processes_action([ScalingProcess.SCALE_IN.value], True, _("Suspend scale-in")),
        _processes_action([ScalingProcess.SCALE_IN.value], False, _("Resume scale-in")),
        "dry_run_on", "dry_run_off",
    ]

    def save_model(self, request, obj, form, change):
        # the one write of a policy's settings (as the API and the pages)
        values = {name: getattr(obj, name) for name in form.changed_data if name != "config"}
        services.policy_save(config=obj.config, values=values, policy=obj)

    @admin.display(description=_("last evaluation"))
    def last_evaluation_shown(self, obj: ScalingPolicy) -> str:
        """The last evaluation in the reader's language (the API gives the stored English text)."""
        return obj.last_evaluation_shown or "—"

    @admin.display(description=_("suspended"))
    def suspended(self, obj: ScalingPolicy) -> str:
        return ", ".join(obj.suspended_processes) or "—"

    @admin.action(description=_("Dry run on (record decisions and plans, execute nothing)"), permissions=["change"])
    def dry_run_on(self, request, queryset):
        for policy in queryset:
            services.policy_dry_run_set(policy=policy, enabled=True)

    @admin.action(description=_("Dry run off"), permissions=["change"])
    def dry_run_off(self, request, queryset):
        for policy in queryset:
            services.policy_dry_run_set(policy=policy, enabled=False)


@admin.register(WhatIfRun)
class WhatIfRunAdmin(SelectedRowsGuardMixin, admin.ModelAdmin):
    list_display = ("id", "config", "days", "status", "progress", "created_by", "created_at", "finished_at")
    list_filter = ("status",)
    search_fields = ("config__service_name",)
    exclude = ("plot_png",)
    readonly_fields = ("config", "days", "status", "progress", "step_seconds", "result", "error", "language",
                       "task_id", "created_by", "created_at", "started_at", "finished_at")

    def has_add_permission(self, request):
        return False  # a run is started from the service page, which enqueues it
