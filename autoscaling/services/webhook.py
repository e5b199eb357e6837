"""Handling of one Alertmanager notification (webhook payload v4) for a service."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from autoscaling import hooks
from autoscaling.models import AutoscalingConfig
from autoscaling.services.decisions import DecisionTrigger, scale_decision_record
from events.choices import IN_FLIGHT_STATUSES, EventStatus, Trigger
from events.models import ScaleEvent

AUTOSCALE_LABEL = "autoscale"


@dataclass
class NotificationOutcome:
    events: list[ScaleEvent] = field(default_factory=list)
    ignored: list[dict[str, Any]] = field(default_factory=list)


def alert_instance_key(*, action: str, fingerprint: str, labels: dict[str, str], starts_at: datetime | None) -> str:
    """The identity of one alert instance, whoever delivers it: the action, the labels' fingerprint (Alertmanager's,
    or a hash of the labels when it sends none) and when it started firing. A new ``startsAt`` is a new instance."""
    identity = fingerprint or hashlib.sha256(json.dumps(sorted(labels.items())).encode()).hexdigest()
    started = starts_at.astimezone(UTC).isoformat() if starts_at else ""
    return hashlib.sha256(f"{action}\n{identity}\n{started}".encode()).hexdigest()


def repeat_reason(event: ScaleEvent) -> str:
    """Why a delivery of an alert instance was answered with ``event`` instead of a new decision."""
    head = f"Re-delivery of the alert instance decided as event {event.pk} ({event.decision})"
    if event.status in IN_FLIGHT_STATUSES:
        return f"{head}, whose run is {event.status}: an alert instance starts at most one run."
    if event.status in (EventStatus.FAILED, EventStatus.ROLLED_BACK):
        return (f"{head}, whose run {event.status.replace('_', ' ')}: an alert instance starts at most one run "
                f"while it fires; it acts again when it fires anew.")
    ago = (timezone.now() - event.created_at).total_seconds()
    return (f"{head} {ago:.0f} s ago: answered with that decision, not decided again "
            f"(delivery {event.deliveries}).")


def alertmanager_notification_handle(
    *, config: AutoscalingConfig, alerts: list[dict[str, Any]], receiver: str = ""
) -> NotificationOutcome:
    """One decision (and ScaleEvent) per firing alert, in payload order; resolved alerts start nothing.

    ``alerts`` are validated alerts of the payload (``status``, ``labels`` with ``autoscale``,
    ``fingerprint``, ``startsAt``). A re-delivery of an alert instance whose decision stands (the same notification
    re-sent after a lost answer, an HA peer's copy, a duplicate storm, a repeat after its run failed) records no
    new event: it is listed in ``ignored`` with the ``event_id`` it was answered with, and counted on that event
    (``deliveries``). See ``decisions.alert_instance_standing``.
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
            alert_key=alert_instance_key(action=labels[AUTOSCALE_LABEL], fingerprint=alert.get("fingerprint", ""),
                                         labels=labels, starts_at=alert.get("startsAt")),
        )
        event = scale_decision_record(config=config, action=labels[AUTOSCALE_LABEL], trigger=trigger)
        if event.delivery_repeat:
            outcome.ignored.append(
                {
                    "alert_name": labels.get("alertname", ""),
                    "fingerprint": alert.get("fingerprint", ""),
                    "action": labels.get(AUTOSCALE_LABEL, ""),
                    "status": "firing",
                    "reason": repeat_reason(event),
                    "event_id": event.pk,
                }
            )
            continue
        outcome.events.append(event)
    return outcome
