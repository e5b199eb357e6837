"""What notifications listens to: ScaleEvent status changes and the provisioning app's signals; each becomes a
notification task, enqueued only once the transaction commits."""

from __future__ import annotations

import threading

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django_q.brokers import Broker, get_broker
from django_q.tasks import async_task

from events.models import ScaleEvent
from notifications.choices import NotificationKind
from notifications.services import (
    notification_block_repeat_count,
    notification_kind_for_event,
    notification_send,
)
from provisioning.signals import integration_down, ip_pool_exhausted

_local = threading.local()


def _broker() -> Broker:
    """One django-q2 broker per thread: ``async_task`` without one builds a broker per call, and building it
    closes and re-opens the database connection (ORM broker) — a noticeable share of a webhook decision."""
    broker = getattr(_local, "broker", None)
    if broker is None:
        broker = _local.broker = get_broker()
    return broker


@receiver(post_save, sender=ScaleEvent, dispatch_uid="notifications_scale_event_saved")
def scale_event_saved(sender, instance: ScaleEvent, **kwargs) -> None:
    status, decision, action = instance.status, instance.decision, instance.action
    if not notification_kind_for_event(status=status, decision=decision, action=action):
        return
    event_id, service = instance.pk, instance.service_name

    def enqueue() -> None:
        # A repeat of a block already notified inside the window (Alertmanager repeating an alert at max) would
        # only be counted by its task: counted here, and no task.
        if notification_block_repeat_count(status=status, decision=decision, action=action, service=service):
            return
        async_task("notifications.tasks.notification_send_for_event", event_id, group="notifications",
                   broker=_broker())

    transaction.on_commit(enqueue)


@receiver(ip_pool_exhausted, dispatch_uid="notifications_ip_pool_exhausted")
def run_ip_pool_exhausted(sender, event: ScaleEvent, text: str, **kwargs) -> None:
    notification_send(kind=NotificationKind.IP_POOL_EXHAUSTED, service=event.service_name, key="ip-pool", text=text)


@receiver(integration_down, dispatch_uid="notifications_integration_down")
def probe_integration_down(sender, system: str, text: str, **kwargs) -> None:
    # A probe is no database change: queued now (de-duplicated per system and window by the task).
    async_task("notifications.tasks.notification_send_integration_down", system, text, group="notifications",
               broker=_broker())
