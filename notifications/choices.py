"""Kinds of operator notifications."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    SCALE_OUT_DONE = "scale_out_done", _("Scale-out done")
    SCALE_IN_DONE = "scale_in_done", _("Scale-in done")
    RUN_FAILED = "run_failed", _("Run failed")
    RUN_ROLLED_BACK = "run_rolled_back", _("Run failed and rolled back")
    MAX_REACHED = "max_reached", _("Maximum VM count reached")
    MIN_REACHED = "min_reached", _("Minimum VM count reached")
    IP_POOL_EXHAUSTED = "ip_pool_exhausted", _("IP pool exhausted")
    INTEGRATION_DOWN = "integration_down", _("Integration down")


SEVERITY: dict[str, str] = {
    NotificationKind.SCALE_OUT_DONE: "info",
    NotificationKind.SCALE_IN_DONE: "info",
    NotificationKind.RUN_FAILED: "error",
    NotificationKind.RUN_ROLLED_BACK: "error",
    NotificationKind.MAX_REACHED: "warning",
    NotificationKind.MIN_REACHED: "warning",
    NotificationKind.IP_POOL_EXHAUSTED: "error",
    NotificationKind.INTEGRATION_DOWN: "error",
}
