from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from notifications import receivers  # noqa: F401 - connects the ScaleEvent receiver
