from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProvisioningAppConfig(AppConfig):
    """Pipelines (stages, runner, executors), reconcile, drift and diagnostics."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "provisioning"
    verbose_name = _("Provisioning")

    def ready(self) -> None:
        from provisioning import hooks  # noqa: PLC0415 - registering needs the app registry ready (models loaded)

        hooks.register()
