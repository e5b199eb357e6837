import logging

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from autoscaling import hooks as autoscaling_hooks

logger = logging.getLogger(__name__)


def _schedule_sync(sender, using="default", **kwargs) -> None:
    """After ``migrate``: set the evaluation loop's django-q2 schedule to IXNODE_POLICY_INTERVAL."""
    # apps.py is imported before the models are loaded: services (they import models) only inside functions.
    from policies.services import policy_schedule_sync  # noqa: PLC0415

    try:
        policy_schedule_sync()
    except ValueError as exc:  # also reported by the system check policies.E001
        logger.error("evaluation schedule not changed: %s", exc)


class PoliciesAppConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "policies"
    verbose_name = _("Scaling policies")

    def ready(self) -> None:
        # Importing these registers the system check and connects the receivers; they need the models loaded.
        from policies import checks, signals  # noqa: F401, PLC0415
        from policies.engine import notes  # noqa: F401, PLC0415 - the evaluation's sentences, for stored rows' pages
        from policies.services import (  # noqa: PLC0415
            policy_alert_options,
            policy_alert_repeat_reason,
            policy_manual_options,
        )

        autoscaling_hooks.decision_options.register(policy_alert_options)
        autoscaling_hooks.manual_decision_options.register(policy_manual_options)
        autoscaling_hooks.alert_repeat_checks.register(policy_alert_repeat_reason)
        post_migrate.connect(_schedule_sync, sender=self, dispatch_uid="policies-schedule-sync")
