from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from autoscaling import hooks as autoscaling_hooks


class ArtifactsAppConfig(AppConfig):
    """Generated PLG, Grafana and Jenkins artifacts: renderers, merge, publishing, file_sd targets."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "artifacts"
    verbose_name = _("Generated artifacts")

    def ready(self) -> None:
        # Receivers and the targets reader need the models loaded: imported here, once the app registry is ready.
        from artifacts import signals  # noqa: PLC0415
        from artifacts.targets import targets_list, targets_registered  # noqa: PLC0415

        signals.connect()
        autoscaling_hooks.addresses_in_use.register(targets_list)
        autoscaling_hooks.registered_targets.register(targets_registered)
