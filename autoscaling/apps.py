from django.apps import AppConfig


class AutoscalingAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "autoscaling"
    verbose_name = "Autoscaling"

    def ready(self) -> None:
        from autoscaling.artifacts import signals as artifact_signals

        artifact_signals.connect()
