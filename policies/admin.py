"""Admin: scaling policies with their scheduled actions and operator controls."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from policies import services

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise
from policies.choices import ScalingProcess
from policies.models import ScalingPolicy, ScheduledAction


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
class ScalingPolicyAdmin(admin.ModelAdmin):
    list_display = ("config", "policy_type", "target_utilisation", "dry_run", "suspended", "last_evaluated_at")
    list_filter = ("policy_type", "dry_run", "suspend_scale_out", "suspend_scale_in")
    search_fields = ("config__service_name",)
    inlines = [ScheduledActionInline]
    readonly_fields = ("last_evaluated_at", "last_evaluation", "last_alert_recheck_at", "applied_window_key",
                       "recommendations", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("config", "policy_type", "metric", "time_zone")}),
        (_("Target tracking"), {"fields": ("target_utilisation", "scale_in_target_utilisation", "tolerance",
                                           "max_change_per_run", "stabilisation_seconds", "warmup_seconds",
                                           "flapping_check")}),
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
