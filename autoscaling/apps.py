from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutoscalingAppConfig(AppConfig):
    """Autoscaling configs, the decision, the webhook, IP leases and the warm pool."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "autoscaling"
    verbose_name = _("Autoscaling")
