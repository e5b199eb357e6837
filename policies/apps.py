from django.apps import AppConfig


class PoliciesAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "policies"
    verbose_name = "Scaling policies"

    def ready(self) -> None:
        from policies import signals  # noqa: F401 - connects the receivers
