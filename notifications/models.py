"""What was notified, so that the same service+kind+key is sent once per de-duplication window."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from notifications.choices import NotificationKind


class SentNotification(models.Model):
    """The last delivery of one (service, kind, key); repeats inside the window are counted, not sent."""

    service_name = models.CharField(_("service"), max_length=63, blank=True)
    kind = models.CharField(_("kind"), max_length=32, choices=NotificationKind.choices)
    key = models.CharField(_("key"), max_length=128, blank=True)
    text = models.TextField(_("text"))
    first_sent_at = models.DateTimeField(_("first sent at"), auto_now_add=True)
    last_sent_at = models.DateTimeField(_("last sent at"), db_index=True)
    sent_count = models.PositiveIntegerField(_("times sent"), default=1)
    suppressed_count = models.PositiveIntegerField(_("repeats suppressed"), default=0)
    channels = models.JSONField(_("delivered to"), default=list, blank=True)
    last_error = models.TextField(_("last delivery error"), blank=True)

    class Meta:
        ordering = ["-last_sent_at"]
        verbose_name = _("sent notification")
        verbose_name_plural = _("sent notifications")
        constraints = [
            models.UniqueConstraint(fields=["service_name", "kind", "key"], name="notification_once_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.service_name} {self.key}".strip()
