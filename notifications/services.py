"""``notification_send``: the one service every part of the product calls to tell operators something.

Delivery goes to every webhook of ``IXNODE_NOTIFY_WEBHOOK_URLS`` (Slack-compatible JSON: ``{"text": ...}``)
and to ``IXNODE_NOTIFY_EMAILS`` through Django's mail backend. The same ``(service, kind, key)`` is
delivered at most once per ``IXNODE_NOTIFY_DEDUP_SECONDS``; repeats are counted on the row. The
de-duplication is a conditional UPDATE on a unique row, so concurrent callers deliver once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from events.models import ScaleEvent
from notifications.choices import SEVERITY, NotificationKind
from notifications.models import SentNotification

logger = logging.getLogger(__name__)


@dataclass
class NotificationResult:
    sent: bool
    notification_id: int | None = None
    delivered: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _claim(*, kind: str, service: str, key: str, text: str, now: dt.datetime, window: int) -> SentNotification | None:
    """The row to deliver for, or None when the same notification went out inside the window."""
    try:
        with transaction.atomic():
            row, created = SentNotification.objects.get_or_create(
                service_name=service, kind=kind, key=key, defaults={"text": text, "last_sent_at": now}
            )
    except IntegrityError:  # a concurrent caller created it first: it delivers
        created, row = False, SentNotification.objects.get(service_name=service, kind=kind, key=key)
    if created:
        return row
    claimed = SentNotification.objects.filter(pk=row.pk, last_sent_at__lte=now - dt.timedelta(seconds=window)).update(
        last_sent_at=now, sent_count=F("sent_count") + 1, text=text, last_error=""
    )
    if not claimed:
        SentNotification.objects.filter(pk=row.pk).update(suppressed_count=F("suppressed_count") + 1)
        return None
    row.refresh_from_db()
    return row


def _payload(*, kind: str, service: str, key: str, text: str, url: str) -> dict:
    severity = SEVERITY.get(kind, "info")
    icon = {"info": ":white_check_mark:", "warning": ":warning:", "error": ":rotating_light:"}[severity]
    line = f"{icon} *[{service or 'IXNode'}]* {text}"
    if url:
        line += f" <{url}|{_('details')}>"
    return {
        "text": line,
        "username": "IXNode Autoscaling",
        "ixnode": {"kind": kind, "service": service, "key": key, "severity": severity, "url": url, "text": text},
    }


def notification_send(
    *, kind: str, service: str = "", key: str = "", text: str, url: str = "", window_seconds: int | None = None
) -> NotificationResult:
    """Tell the operators once per (service, kind, key) and window; never raises on delivery errors."""
    if kind not in NotificationKind.values:
        raise ValueError(f"unknown notification kind {kind!r}; use one of {', '.join(NotificationKind.values)}")
    window = settings.IXNODE_NOTIFY_DEDUP_SECONDS if window_seconds is None else window_seconds
    row = _claim(kind=kind, service=service, key=key, text=text, now=timezone.now(), window=window)
    if row is None:
        return NotificationResult(sent=False)
    result = NotificationResult(sent=True, notification_id=row.pk)
    payload = _payload(kind=kind, service=service, key=key, text=text, url=url)
    for hook in settings.IXNODE_NOTIFY_WEBHOOK_URLS:
        try:
            response = requests.post(hook, json=payload, timeout=settings.IXNODE_NOTIFY_TIMEOUT)
        except requests.RequestException as exc:
            # The URL's path and query hold the webhook's secret and requests/urllib3 put the path into their
            # messages: record only the exception class and the HTTP status, never str(exc).
            status = getattr(getattr(exc, "response", None), "status_code", None)
            status_text = f" (HTTP {status})" if status else ""
            result.errors.append(f"webhook {_redact(hook)}: {exc.__class__.__name__}{status_text}")
            continue
        if response.status_code >= 400:
            result.errors.append(f"webhook {_redact(hook)}: HTTPError: answered HTTP {response.status_code}")
        else:
            result.delivered.append(_redact(hook))
    if settings.IXNODE_NOTIFY_EMAILS:
        subject = f"[IXNode] {service + ': ' if service else ''}{NotificationKind(kind).label}"
        body = text + (f"\n\n{url}" if url else "")
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, settings.IXNODE_NOTIFY_EMAILS)
            result.delivered.append("email")
        except Exception as exc:  # noqa: BLE001 - any mail backend error is reported on the row, not raised
            result.errors.append(f"email: {exc.__class__.__name__}: {str(exc)[:200]}")
    for error in result.errors:
        logger.warning("notification %s/%s/%s not delivered: %s", kind, service, key, error)
    SentNotification.objects.filter(pk=row.pk).update(channels=result.delivered, last_error="\n".join(result.errors))
    return result


def _redact(url: str) -> str:
    """A webhook URL reduced to scheme, host and port: Slack URLs carry the token in the path, others in the
    query or in ``user:password@``, so all of those are masked."""

    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = parts.port
    except ValueError:
        return "<unparsable webhook URL>"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme or '?'}://{host}{f':{port}' if port else ''}/…"


# --- scale events ----------------------------------------------------------------------------------------

BLOCK_KINDS = {
    "BLOCK_MAX": (NotificationKind.MAX_REACHED, "max"),
    "BLOCK_MIN": (NotificationKind.MIN_REACHED, "min"),
    "BLOCK_IP_POOL": (NotificationKind.IP_POOL_EXHAUSTED, "ip-pool"),
    "BLOCK_UNKNOWN_COUNT": (NotificationKind.INTEGRATION_DOWN, "prometheus"),
}


def notification_block_repeat_count(*, status: str, decision: str, action: str, service: str,
                                    now: dt.datetime | None = None) -> bool:
    """A blocked event (BLOCK_MAX at max while Alertmanager repeats the alert, …) whose notification — the
    service's (kind, key) — went out inside ``IXNODE_NOTIFY_DEDUP_SECONDS``: count the repeat on its row, as its
    task would (``notification_send`` suppresses it), and return True: nothing to deliver, no task to enqueue.
    False: the task decides (a first block, a window that has passed, a run's outcome)."""
    if status != "blocked":
        return False
    found = notification_kind_for_event(status=status, decision=decision, action=action)
    if found is None:
        return False
    kind, key = found
    since = (now or timezone.now()) - dt.timedelta(seconds=settings.IXNODE_NOTIFY_DEDUP_SECONDS)
    return bool(SentNotification.objects.filter(service_name=service, kind=kind, key=key, last_sent_at__gt=since)
                .update(suppressed_count=F("suppressed_count") + 1))


def notification_kind_for_event(*, status: str, decision: str, action: str) -> tuple[str, str] | None:
    """(kind, key suffix) for a scale event in ``status``, or None when it is nothing to notify."""
    if status == "succeeded":
        return (NotificationKind.SCALE_OUT_DONE if action == "scale-out" else NotificationKind.SCALE_IN_DONE), ""
    if status == "failed":
        return NotificationKind.RUN_FAILED, ""
    if status == "rolled_back":
        return NotificationKind.RUN_ROLLED_BACK, ""
    if status == "blocked" and decision in BLOCK_KINDS:
        kind, key = BLOCK_KINDS[decision]
        return kind, key
    return None


def notification_send_for_event(*, event_id: int) -> NotificationResult | None:
    """Notify about a scale event's current status (the task behind the ScaleEvent receiver)."""


    event = ScaleEvent.objects.select_related("config").filter(pk=event_id).first()
    if event is None:
        return None
    found = notification_kind_for_event(status=event.status, decision=event.decision, action=event.action)
    if found is None:
        return None
    kind, key = found
    # A run's outcome is one notification per event; a block repeats per alert, so it is keyed per service.
    key = key or f"event-{event.pk}"
    url = settings.IXNODE_PUBLIC_URL + reverse("events:detail", args=[event.pk])
    result = notification_send(kind=kind, service=event.service_name, key=key, text=_event_text(event, kind),
                               url=url)
    bound = _bound_reached(event)
    if bound is not None:  # the run itself brought the service to its maximum / minimum
        bound_kind, limit = bound
        text = _("%(service)s now runs %(count)s VMs: its %(which)s (%(limit)s) is reached.") % {
            "service": event.service_name, "count": event.after_count, "limit": limit,
            "which": _("maximum") if bound_kind == NotificationKind.MAX_REACHED else _("minimum")}
        notification_send(kind=bound_kind, service=event.service_name, key=BOUND_KEYS[bound_kind], text=text, url=url)
    return result


BOUND_KEYS: dict[str, str] = {NotificationKind.MAX_REACHED: "max", NotificationKind.MIN_REACHED: "min"}


def _bound_reached(event) -> tuple[str, int] | None:
    config = event.config
    if event.status != "succeeded" or config is None or event.after_count is None:
        return None
    if event.action == "scale-out" and event.after_count >= config.max_vms:
        return NotificationKind.MAX_REACHED, config.max_vms
    if event.action == "scale-in" and event.after_count <= config.min_vms:
        return NotificationKind.MIN_REACHED, config.min_vms
    return None


def _event_text(event, kind: str) -> str:
    vms = ", ".join(event.vm_names or []) or "–"
    counts = f"{event.before_count if event.before_count is not None else '?'} → " + (
        f"{event.after_count}" if event.after_count is not None else "?"
    )
    if kind in (NotificationKind.SCALE_OUT_DONE, NotificationKind.SCALE_IN_DONE):
        return _("%(action)s #%(id)s finished: %(counts)s VMs (%(vms)s).") % {
            "action": event.get_action_display(), "id": event.pk, "counts": counts, "vms": vms}
    if kind == NotificationKind.RUN_FAILED:
        return _("%(action)s #%(id)s failed at stage %(stage)s: %(error)s") % {
            "action": event.get_action_display(), "id": event.pk, "stage": event.current_stage or "–",
            "error": (event.error or "")[:500]}
    if kind == NotificationKind.RUN_ROLLED_BACK:
        return _("%(action)s #%(id)s failed and was rolled back: %(error)s %(rollback)s") % {
            "action": event.get_action_display(), "id": event.pk, "error": (event.error or "")[:400],
            "rollback": (event.rollback_summary or "")[:400]}
    return _("%(action)s blocked: %(decision)s. %(reason)s") % {
        "action": event.get_action_display(), "decision": event.get_decision_display(), "reason": event.reason}
