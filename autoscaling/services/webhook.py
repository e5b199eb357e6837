"""Handling of one Alertmanager notification (webhook payload v4) for a service."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from autoscaling import hooks
from autoscaling.models import AutoscalingConfig
from autoscaling.services.decisions import DecisionTrigger, scale_decision_record
from events.choices import Trigger
from events.models import ScaleEvent

AUTOSCALE_LABEL = "autoscale"


@dataclass
class NotificationOutcome:
    events: list[ScaleEvent] = field(default_factory=list)
    ignored: list[dict[str, Any]] = field(default_factory=list)


def alertmanager_notification_handle(
    *, config: AutoscalingConfig, alerts: list[dict[str, Any]], receiver: str = ""
) -> NotificationOutcome:
    """One decision (and ScaleEvent) per firing alert, in payload order; resolved alerts start nothing.

    ``alerts`` are validated alerts of the payload (``status``, ``labels`` with ``autoscale``,
    ``fingerprint``, ``startsAt``). Repeats and duplicates are decided like any alert: the in-flight
    check and the cooldown make sure they start at most one run.
    """
    outcome = NotificationOutcome()
    for alert in alerts:
        labels = alert.get("labels") or {}
        if alert.get("status") != "firing":
            outcome.ignored.append(
                {
                    "alert_name": labels.get("alertname", ""),
                    "fingerprint": alert.get("fingerprint", ""),
                    "action": labels.get(AUTOSCALE_LABEL, ""),
                    "status": alert.get("status", ""),
                    "reason": "Resolved alerts start nothing.",
                }
            )
            continue
        repeat = hooks.alert_repeat_reason(config=config, action=labels[AUTOSCALE_LABEL],
                                           fingerprint=alert.get("fingerprint", ""), starts_at=alert.get("startsAt"))
        if repeat:  # a policy manages the service: one event per alert start, not one per repeat
            outcome.ignored.append(
                {
                    "alert_name": labels.get("alertname", ""),
                    "fingerprint": alert.get("fingerprint", ""),
                    "action": labels.get(AUTOSCALE_LABEL, ""),
                    "status": "firing",
                    "reason": repeat,
                }
            )
            continue
        trigger = DecisionTrigger(
            kind=Trigger.ALERT,
            alert_name=labels.get("alertname", ""),
            fingerprint=alert.get("fingerprint", ""),
            starts_at=alert.get("startsAt"),
            labels=dict(labels),
            triggered_by=f"alertmanager:{receiver}" if receiver else "alertmanager",
        )
        outcome.events.append(
            scale_decision_record(config=config, action=labels[AUTOSCALE_LABEL], trigger=trigger)
        )
    return outcome
