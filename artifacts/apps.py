from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ArtifactsAppConfig(AppConfig):
    """Generated PLG, Grafana and Jenkins artifacts: renderers, merge, publishing, file_sd targets."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "artifacts"
    verbose_name = _("Generated artifacts")

    def ready(self) -> None:
        from artifacts import signals  # noqa: PLC0415 - receivers need the app registry ready (models loaded)

        signals.connect()
