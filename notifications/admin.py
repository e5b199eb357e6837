from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy

from ixnode.admin_guards import SelectedRowsGuardMixin
from ixnode.integrations.problems import explain_text
from notifications.models import SentNotification


@admin.register(SentNotification)
class SentNotificationAdmin(SelectedRowsGuardMixin, admin.ModelAdmin):
    list_display = ["last_sent_at", "kind", "service_name", "key", "sent_count", "suppressed_count", "delivery_error"]
    list_filter = ["kind"]
    search_fields = ["service_name", "key", "text"]
    readonly_fields = [f.name for f in SentNotification._meta.fields]

    @admin.display(description=gettext_lazy("last delivery error"))
    def delivery_error(self, obj: SentNotification) -> str:
        """The error as a sentence; the delivery's own text in the tooltip and on the detail page."""
        if not obj.last_error:
            return "–"
        return format_html('<span title="{}">{}</span>', obj.last_error, explain_text(obj.last_error).summary)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
