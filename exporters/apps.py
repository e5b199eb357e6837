from django.apps import AppConfig


class ExportersAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "exporters"
    verbose_name = "Exporter installs"
