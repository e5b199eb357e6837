"""Enumerations of scale events (the action, its decision, the run's status) and their pipeline stages."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ScaleAction(models.TextChoices):
    SCALE_OUT = "scale-out", _("Scale-out")
    SCALE_IN = "scale-in", _("Scale-in")


class Decision(models.TextChoices):
    ALLOW = "ALLOW", _("Allowed")
    BLOCK_MAX = "BLOCK_MAX", _("Blocked: maximum VM count reached")
    BLOCK_MIN = "BLOCK_MIN", _("Blocked: minimum VM count reached")
    BLOCK_COOLDOWN = "BLOCK_COOLDOWN", _("Blocked: in cooldown")
    BLOCK_IN_PROGRESS = "BLOCK_IN_PROGRESS", _("Blocked: a run is already in flight")
    BLOCK_DISABLED = "BLOCK_DISABLED", _("Blocked: config disabled")
    BLOCK_UNKNOWN_COUNT = "BLOCK_UNKNOWN_COUNT", _("Blocked: current VM count unknown")
    BLOCK_IP_POOL = "BLOCK_IP_POOL", _("Blocked: IP pool exhausted")


class EventStatus(models.TextChoices):
    BLOCKED = "blocked", _("Blocked")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    ROLLED_BACK = "rolled_back", _("Failed, rolled back")
    DRY_RUN = "dry_run", _("Dry run (not executed)")


IN_FLIGHT_STATUSES = (EventStatus.QUEUED, EventStatus.RUNNING)
FINISHED_STATUSES = (EventStatus.SUCCEEDED, EventStatus.FAILED, EventStatus.ROLLED_BACK)


class StageStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")
    ROLLED_BACK = "rolled_back", _("Rolled back")


class Trigger(models.TextChoices):
    ALERT = "alert", _("Alertmanager webhook")
    MANUAL = "manual", _("Operator")
    POLICY = "policy", _("Scaling policy")
    SCHEDULE = "schedule", _("Scheduled action")
    RECONCILE = "reconcile", _("Reconcile")


class Executor(models.TextChoices):
    EMBEDDED = "embedded", _("Embedded worker")
    JENKINS = "jenkins", _("Jenkins")
