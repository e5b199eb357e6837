"""Extension points of the autoscaling app: what apps above it plug into the decision and the IP pool.

Registered in the upper apps' ``AppConfig.ready()`` (``policies``, ``artifacts``, ``provisioning``); without a
registration the autoscaling app behaves as the plain seed design (no policy options, no extra addresses in use,
runs cannot be executed and fail with a message saying so).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from ixnode.registry import ExtensionPoint, registry

if TYPE_CHECKING:
    from autoscaling.models import AutoscalingConfig


@dataclass(frozen=True)
class DecisionOptions:
    """What an upper app changes in an alert-driven decision (the defaults change nothing).

    ``suspended_reason``: the action may not run even when every check passes (the operator suspended the
    process, or a policy other than step scales the service); ``decide()`` answers BLOCK_DISABLED with it.
    """

    dry_run: bool = False
    bounds: tuple[int, int] | None = None
    suspended_reason: str = ""


class DecisionOptionsProvider(Protocol):
    def __call__(self, *, config: AutoscalingConfig, action: str, now: datetime | None) -> DecisionOptions: ...


class AlertRepeatCheck(Protocol):
    def __call__(self, *, config: AutoscalingConfig, action: str, fingerprint: str,
                 starts_at: datetime | None) -> str: ...


class AddressesInUse(Protocol):
    def __call__(self, *, config: AutoscalingConfig) -> Iterable[str]: ...


class RegisteredTargets(Protocol):
    def __call__(self, *, config: AutoscalingConfig) -> Iterable[str] | None: ...


#: ``fn(config=, action=, now=) -> DecisionOptions`` for alert-driven decisions (the policies app).
decision_options = registry.extension_point(ExtensionPoint[DecisionOptionsProvider]("autoscaling.decision_options"))
#: ``fn(config=, action=, now=) -> DecisionOptions`` for an operator's manual action (the policies app: dry-run,
#: suspension and scheduled bounds; a policy other than step does not stop a manual action).
manual_decision_options = registry.extension_point(
    ExtensionPoint[DecisionOptionsProvider]("autoscaling.manual_decision_options"))
#: ``fn(config=, action=, fingerprint=, starts_at=) -> reason``: a non-empty reason records no new event for the alert.
alert_repeat_checks = registry.extension_point(ExtensionPoint[AlertRepeatCheck]("autoscaling.alert_repeat_checks"))
#: ``fn(config=) -> addresses``: addresses (``host`` or ``host:port``) in use outside the lease table (the artifacts
#: app: the service's registered Prometheus targets). A failing source is logged and skipped.
addresses_in_use = registry.extension_point(ExtensionPoint[AddressesInUse]("autoscaling.addresses_in_use"))
#: ``fn(config=) -> targets or None``: the scrape targets the product registered for the service (the artifacts app:
#: its file_sd file), which Prometheus' count must match before a decision acts on it; None when nothing is
#: registered to compare with (publishing off). A failing source makes the count unknown.
registered_targets = registry.extension_point(ExtensionPoint[RegisteredTargets]("autoscaling.registered_targets"))
#: The dotted path of the django-q2 task that executes an allowed run (the provisioning app).
run_task = registry.extension_point(ExtensionPoint[str]("autoscaling.run_task"))


def decision_options_for(*, config: AutoscalingConfig, action: str, now: datetime | None,
                         providers: ExtensionPoint[DecisionOptionsProvider] = decision_options) -> DecisionOptions:
    """The registered providers' options, combined: dry-run if any says so, the last bounds, every reason
    (``providers``: the alert path's by default, ``manual_decision_options`` for a manual action)."""
    dry_run, bounds, reasons = False, None, []
    for provider in providers:
        options = provider(config=config, action=action, now=now)
        dry_run = dry_run or options.dry_run
        bounds = options.bounds or bounds
        if options.suspended_reason:
            reasons.append(options.suspended_reason)
    # One reason is passed on as it is (an events.reasons.Reason keeps its code for translation).
    reason = reasons[0] if len(reasons) == 1 else " ".join(reasons)
    return DecisionOptions(dry_run=dry_run, bounds=bounds, suspended_reason=reason)


def alert_repeat_reason(*, config: AutoscalingConfig, action: str, fingerprint: str,
                        starts_at: datetime | None) -> str:
    """The first non-empty reason a registered check gives for not recording the alert again, or ""."""
    for check in alert_repeat_checks:
        reason = check(config=config, action=action, fingerprint=fingerprint, starts_at=starts_at)
        if reason:
            return reason
    return ""


def registered_targets_for(*, config: AutoscalingConfig) -> set[str] | None:
    """The targets the last registered source says the product registered for ``config`` (None: none to compare)."""
    source = registered_targets.last()
    if source is None:
        return None
    found = source(config=config)
    return None if found is None else set(found)
