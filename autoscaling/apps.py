from django.apps import AppConfig


class AutoscalingAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "autoscaling"
    verbose_name = "Autoscaling"
