"""Scale events: every decision and every pipeline run, kept for audit (append-only)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from events.choices import Decision, EventStatus, Executor, ScaleAction, StageStatus, Trigger
from events.reasons import reason_display


class ScaleEvent(models.Model):
    """One scaling decision and, when allowed, the pipeline run that carried it out."""

    config = models.ForeignKey(
        "autoscaling.AutoscalingConfig",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("config"),
    )
    service_name = models.CharField(_("service"), max_length=63, db_index=True)
    action = models.CharField(_("action"), max_length=16, choices=ScaleAction.choices)
    decision = models.CharField(_("decision"), max_length=24, choices=Decision.choices)
    reason = models.TextField(_("reason"), blank=True)
    # The reason's code and parameters (events.reasons): pages show it in the reader's language.
    reason_code = models.CharField(_("reason code"), max_length=32, blank=True)
    reason_params = models.JSONField(_("reason parameters"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=EventStatus.choices)
    trigger = models.CharField(_("trigger"), max_length=16, choices=Trigger.choices, default=Trigger.ALERT)
    executor = models.CharField(_("executor"), max_length=16, choices=Executor.choices, blank=True)
    dry_run = models.BooleanField(_("dry run"), default=False)

    current_vm_count = models.IntegerField(_("VM count at decision"), null=True, blank=True)
    requested_count = models.PositiveIntegerField(_("VMs to add/remove"), default=0)
    before_count = models.IntegerField(_("before count"), null=True, blank=True)
    after_count = models.IntegerField(_("after count"), null=True, blank=True)
    vm_names = models.JSONField(_("VM names"), default=list, blank=True)
    current_stage = models.CharField(_("current stage"), max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)
    rollback_summary = models.TextField(_("rollback summary"), blank=True)
    plan = models.JSONField(_("plan"), default=dict, blank=True)

    alert_name = models.CharField(_("alert name"), max_length=255, blank=True)
    alert_fingerprint = models.CharField(_("alert fingerprint"), max_length=64, blank=True, db_index=True)
    alert_starts_at = models.DateTimeField(_("alert started at"), null=True, blank=True)
    alert_labels = models.JSONField(_("alert labels"), default=dict, blank=True)
    triggered_by = models.CharField(_("triggered by"), max_length=150, blank=True)
    jenkins_build_url = models.URLField(_("Jenkins build URL"), max_length=500, blank=True)
    task_id = models.CharField(_("task id"), max_length=64, blank=True)

    created_at = models.DateTimeField(_("decided at"), auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("worker heartbeat"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("scale event")
        verbose_name_plural = _("scale events")
        indexes = [
            models.Index(fields=["service_name", "-created_at"], name="event_service_recent"),
            models.Index(fields=["config", "status"], name="event_config_status"),
            # Event history filters (pages): newest first within an action / decision / status.
            models.Index(fields=["action", "-created_at"], name="event_action_recent"),
            models.Index(fields=["decision", "-created_at"], name="event_decision_recent"),
            models.Index(fields=["status", "-created_at"], name="event_status_recent"),
        ]
        constraints = [
            # Defence in depth for BLOCK_IN_PROGRESS: at most one run in flight per service.
            models.UniqueConstraint(
                fields=["config"],
                condition=Q(status__in=["queued", "running"]),
                name="event_one_run_in_flight_per_config",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.service_name} {self.action} {self.decision}"

    @property
    def is_in_flight(self) -> bool:
        return self.status in (EventStatus.QUEUED, EventStatus.RUNNING)

    @property
    def reason_shown(self) -> str:
        """The reason in the reader's language (events.reasons)."""
        return reason_display(code=self.reason_code, params=self.reason_params, text=self.reason)


class ScaleEventStage(models.Model):
    """One named stage of a pipeline run, with its timing and log."""

    event = models.ForeignKey(ScaleEvent, on_delete=models.CASCADE, related_name="stages")
    position = models.PositiveSmallIntegerField(_("position"))
    name = models.CharField(_("stage"), max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=StageStatus.choices, default=StageStatus.PENDING)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    log = models.TextField(_("log"), blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        ordering = ["event", "position"]
        verbose_name = _("pipeline stage")
        verbose_name_plural = _("pipeline stages")
        constraints = [models.UniqueConstraint(fields=["event", "position"], name="stage_unique_position")]

    def __str__(self) -> str:
        return f"{self.event_id}:{self.position} {self.name} {self.status}"
