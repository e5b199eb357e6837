import logging

from django.apps import AppConfig
from django.db.models.signals import post_migrate

logger = logging.getLogger(__name__)


def _schedule_sync(sender, using="default", **kwargs) -> None:
    """After ``migrate``: set the evaluation loop's django-q2 schedule to IXNODE_POLICY_INTERVAL."""
    from policies.services import policy_schedule_sync

    try:
        policy_schedule_sync()
    except ValueError as exc:  # also reported by the system check policies.E001
        logger.error("evaluation schedule not changed: %s", exc)


class PoliciesAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "policies"
    verbose_name = "Scaling policies"

    def ready(self) -> None:
        from policies import checks, signals  # noqa: F401 - registers the check, connects the receivers

        post_migrate.connect(_schedule_sync, sender=self, dispatch_uid="policies-schedule-sync")
