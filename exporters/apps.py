from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExportersAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "exporters"
    verbose_name = _("Exporter installs")
