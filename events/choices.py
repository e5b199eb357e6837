"""Enumerations of scale events and their pipeline stages."""

from django.db import models
from django.utils.translation import gettext_lazy as _


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
