"""ScaleEvent status changes → a notification task, enqueued only once the transaction commits."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django_q.tasks import async_task

from events.models import ScaleEvent
from notifications.services import notification_kind_for_event


@receiver(post_save, sender=ScaleEvent, dispatch_uid="notifications_scale_event_saved")
def scale_event_saved(sender, instance: ScaleEvent, **kwargs) -> None:
    if notification_kind_for_event(status=instance.status, decision=instance.decision, action=instance.action):
        event_id = instance.pk
        transaction.on_commit(
            lambda: async_task("notifications.tasks.notification_send_for_event", event_id, group="notifications")
        )
