from django.contrib import admin

from notifications.models import SentNotification


@admin.register(SentNotification)
class SentNotificationAdmin(admin.ModelAdmin):
    list_display = ["last_sent_at", "kind", "service_name", "key", "sent_count", "suppressed_count", "last_error"]
    list_filter = ["kind"]
    search_fields = ["service_name", "key", "text"]
    readonly_fields = [f.name for f in SentNotification._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
