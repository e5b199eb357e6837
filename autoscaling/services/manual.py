"""An operator's manual actions: scale out/in by N and set a desired count, through the decision service.

Every action is one ``scale_decision_record`` with the manual trigger (``Trigger.MANUAL``, ``triggered_by`` the
operator's user name): the same lock, checks and audit trail as an alert — in flight, min/max, cooldown, IP pool —
and, registered by the policies app, the service's dry-run, suspended processes and scheduled bounds. A refused
action is recorded too (BLOCK_… with the reason). Pages and API call these functions alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from autoscaling.models import AutoscalingConfig
from autoscaling.services.decisions import DecisionTrigger, scale_decision_record, vm_count_read
from events.choices import ScaleAction, Trigger
from events.models import ScaleEvent
from ixnode.integrations.prometheus.interface import Prometheus

#: An upper bound on one manual step (a typo such as 1000 must not be read as "up to the maximum").
MAX_MANUAL_STEP = 100


class ManualScaleUnavailable(Exception):
    """The action cannot be decided now (the current VM count is unknown); nothing was recorded."""


@dataclass(frozen=True)
class DesiredCountOutcome:
    """What setting a desired count did: the recorded decision (None when the count already matched)."""

    current: int
    desired: int
    event: ScaleEvent | None


def _trigger(user: str) -> DecisionTrigger:
    return DecisionTrigger(kind=Trigger.MANUAL, triggered_by=user)


def _count_error(count: object, *, field: str) -> None:
    if isinstance(count, bool) or not isinstance(count, int):
        raise ValidationError({field: [_("Enter a whole number.")]})


def scale_manual(
    *,
    config: AutoscalingConfig,
    action: ScaleAction | str,
    count: int,
    user: str,
    now: datetime | None = None,
    prometheus: Prometheus | None = None,
) -> ScaleEvent:
    """Scale ``config`` out or in by ``count`` VMs (never past min/max: the decision moves ``min(count, headroom)``)
    on behalf of ``user``. Returns the recorded event; raises ValidationError for a count outside 1–100."""
    try:
        action = ScaleAction(action)
    except ValueError:
        raise ValidationError({"action": [_("Choose scale-out or scale-in.")]}) from None
    _count_error(count, field="count")
    if not 1 <= count <= MAX_MANUAL_STEP:
        raise ValidationError({"count": [_("Scale by 1 to %(max)d VMs at a time.") % {"max": MAX_MANUAL_STEP}]})
    return scale_decision_record(config=config, action=action, trigger=_trigger(user), step=count, now=now,
                                 prometheus=prometheus)


def scale_to_desired_count(
    *,
    config: AutoscalingConfig,
    desired: int,
    user: str,
    now: datetime | None = None,
    prometheus: Prometheus | None = None,
) -> DesiredCountOutcome:
    """Move ``config`` to ``desired`` VMs: one scale-out or scale-in decision for the difference from the current
    count (Prometheus' target count, as every decision). ``desired`` must lie within the config's min and max;
    raises ManualScaleUnavailable when the current count cannot be read (nothing is decided then)."""
    _count_error(desired, field="desired")
    if not config.min_vms <= desired <= config.max_vms:
        raise ValidationError({"desired": [
            _("The desired count must lie between the minimum (%(min)d) and the maximum (%(max)d) VMs; change them "
              "in the config first.") % {"min": config.min_vms, "max": config.max_vms}]})
    count = vm_count_read(config=config, prometheus=prometheus)
    if count.value is None:
        raise ManualScaleUnavailable(
            _("The current VM count could not be read from Prometheus, so no direction can be decided: %(error)s")
            % {"error": count.error})
    if count.value == desired:
        return DesiredCountOutcome(current=count.value, desired=desired, event=None)
    action = ScaleAction.SCALE_OUT if desired > count.value else ScaleAction.SCALE_IN
    event = scale_decision_record(config=config, action=action, trigger=_trigger(user),
                                  step=abs(desired - count.value), now=now, prometheus=prometheus)
    return DesiredCountOutcome(current=count.value, desired=desired, event=event)
