"""Admin of scale events: a read-only, append-only audit (no add, change or delete for anyone)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from events.models import ScaleEvent, ScaleEventStage
from ixnode.admin_guards import SelectedRowsGuardMixin


class ReadOnlyAdminMixin:
    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ScaleEventStageInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ScaleEventStage
    fields = ("position", "name", "status", "started_at", "finished_at", "log")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False


@admin.register(ScaleEvent)
class ScaleEventAdmin(SelectedRowsGuardMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "service_name", "action", "decision", "status", "current_vm_count", "requested_count",
                    "trigger", "created_at", "finished_at")
    list_filter = ("action", "decision", "status", "trigger", "executor", "dry_run")
    search_fields = ("service_name", "alert_name", "alert_fingerprint", "reason", "error", "triggered_by")
    date_hierarchy = "created_at"
    inlines = [ScaleEventStageInline]
    fieldsets = (
        (None, {"fields": ("service_name", "config", "action", "decision", "reason_shown", "reason_code", "status",
                           "dry_run")}),
        (gettext_lazy("Run"), {"fields": (
            "executor", "current_vm_count", "requested_count", "before_count", "after_count", "vm_names",
            "current_stage", "error", "rollback_summary", "task_id", "jenkins_build_url", "plan")}),
        (gettext_lazy("Trigger"), {"fields": (
            "trigger", "triggered_by_shown", "trigger_detail_shown", "alert_name", "alert_fingerprint",
            "alert_starts_at", "alert_labels", "alert_key", "deliveries", "last_delivered_at")}),
        (gettext_lazy("Timing"), {"fields": ("created_at", "started_at", "finished_at", "heartbeat_at")}),
    )
    # Every field above is a plain name (no nested groups), so the flat list is the read-only list.
    readonly_fields = tuple(str(field) for group in fieldsets for field in group[1]["fields"])

    def get_actions(self, request: HttpRequest) -> dict:
        return {}

    @admin.display(description=gettext_lazy("triggered by"))
    def triggered_by_shown(self, obj: ScaleEvent) -> str:
        """Who or what triggered it: the product's own labels in the reader's language, a user's name as it is."""
        return obj.triggered_by_shown or "–"

    @admin.display(description=gettext_lazy("policy evaluation"))
    def trigger_detail_shown(self, obj: ScaleEvent) -> str:
        """What the trigger saw (a policy's evaluation) in the reader's language."""
        return obj.trigger_detail_shown or "–"

    @admin.display(description=gettext_lazy("reason"))
    def reason_shown(self, obj: ScaleEvent) -> str:
        """The reason in the reader's language (the stored English text is what the API and CSV give)."""
        return obj.reason_shown
