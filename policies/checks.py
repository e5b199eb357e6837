"""System checks: the evaluation loop's interval must be something its django-q2 schedule can run."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from policies.services import policy_interval_error


@register()
def policy_interval_check(app_configs, **kwargs) -> list[Error]:

    error = policy_interval_error(settings.IXNODE_POLICY_INTERVAL)
    return [Error(error, id="policies.E001")] if error else []
