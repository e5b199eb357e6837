from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from autoscaling.converters import converters_register


class AutoscalingAppConfig(AppConfig):
    """Autoscaling configs, the decision, the webhook, IP leases and the warm pool."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "autoscaling"
    verbose_name = _("Autoscaling")

    def ready(self) -> None:
        # The URLconfs of every app use these converters; the URL resolver loads after every app is ready.
        converters_register()
