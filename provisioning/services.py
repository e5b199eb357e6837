"""Provisioning services that write: enabling a config behind its pre-flight.

Enabling publishes the service's scrape job, rules and route, so alerts start acting on it. The pre-flight
(``diagnostics.config_preflight``: template in vCenter, SSH key, Prometheus, free addresses, publishing, webhook
token) runs first. When a check does not pass, the config is not enabled — unless the operator acknowledged exactly
the checks that fail now (a check that starts failing between the operator's look and the click is not
acknowledged, so it is shown again). An enable despite failures is recorded in the config's change history with
the checks' keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from autoscaling.models import AutoscalingConfig
from autoscaling.services.configs import config_set_enabled
from provisioning.diagnostics import CheckResult, config_preflight

__all__ = ["EnableOutcome", "config_enable", "config_preflight"]


@dataclass(frozen=True)
class EnableOutcome:
    """The pre-flight's results and whether the config is enabled now."""

    enabled: bool
    results: list[CheckResult]

    @property
    def failed(self) -> list[CheckResult]:
        return [result for result in self.results if result.ok is not True]


def config_enable(*, config: AutoscalingConfig, acknowledged: Iterable[str] = ()) -> EnableOutcome:
    """Run the pre-flight and enable ``config`` when every check passes or every failing check's key is in
    ``acknowledged``. Raises ValidationError when the config itself breaks a rule (never enabled then)."""
    results = config_preflight(config=config)
    outcome = EnableOutcome(enabled=False, results=results)
    failing = {result.key for result in outcome.failed}
    if failing - set(acknowledged):
        return outcome
    reason = ("enabled despite pre-flight: " + ", ".join(sorted(failing))) if failing else ""
    config_set_enabled(config=config, enabled=True, reason=reason)
    return EnableOutcome(enabled=True, results=results)
