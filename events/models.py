"""Scale events: every decision and every pipeline run, kept for audit (append-only)."""

from __future__ import annotations

import re
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from events.choices import Decision, EventStatus, Executor, ScaleAction, StageStatus, Trigger
from events.reasons import parts_display, reason_display
from ixnode.choices import ChoiceLabelsMixin

_UNRENDERABLE = re.compile("[\x00\ud800-\udfff]")


def text_renderable(text: str) -> str:
    """``text`` with what no page, JSON answer or database can carry written out as an escape: a lone surrogate
    (``\\udc80``) and NUL (``\\u0000``). Other text is returned as it is."""
    if not _UNRENDERABLE.search(text):
        return text
    return _UNRENDERABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def value_renderable(value: Any) -> Any:
    """:func:`text_renderable` over every string of a JSON value, keys included."""
    if isinstance(value, str):
        return text_renderable(value)
    if isinstance(value, dict):
        return {text_renderable(str(key)): value_renderable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [value_renderable(item) for item in value]
    return value


class RenderableJSONField(models.JSONField):
    """A JSONField whose values read back renderable (:func:`value_renderable`).

    The webhook refuses label keys and values no database can store and no page can render (NUL, lone surrogates),
    but rows written before it did hold them: SQLite stores a lone surrogate as a JSON escape and gives it back,
    and every page, API answer and admin form showing it then failed with UnicodeEncodeError. Read through this
    field they show the escape as text instead (``team\\u0000``), and saving such a row stores that text."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return value_renderable(super().from_db_value(value, expression, connection))


class ScaleEvent(ChoiceLabelsMixin, models.Model):
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
    alert_labels = RenderableJSONField(_("alert labels"), default=dict, blank=True)
    # The alert instance (labels' fingerprint + startsAt, autoscaling.services.webhook.alert_instance_key): its
    # re-deliveries are answered with this event instead of being decided again, and counted here.
    alert_key = models.CharField(_("alert instance"), max_length=64, blank=True)
    deliveries = models.PositiveIntegerField(
        _("deliveries"), default=1,
        help_text=_("How many times Alertmanager delivered this alert instance for this decision: the first "
                    "delivery decided it, re-deliveries (a retry whose answer was lost, an HA peer, a repeat) were "
                    "answered with it."))
    last_delivered_at = models.DateTimeField(_("last delivered at"), null=True, blank=True)
    triggered_by = models.CharField(_("triggered by"), max_length=150, blank=True)
    # What the trigger saw (a policy's evaluation), whole: its English text and its code and parameters
    # (events.reasons.reason_parts), shown in the reader's language on the event page.
    trigger_parts = models.JSONField(_("trigger detail"), default=dict, blank=True)
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
            models.Index(fields=["config", "alert_key", "-id"], name="event_alert_instance"),
        ]
        constraints = [
            # Defence in depth for BLOCK_IN_PROGRESS: at most one run in flight per service.
            models.UniqueConstraint(
                fields=["config"],
                condition=Q(status__in=["queued", "running"]),
                name="event_one_run_in_flight_per_config",
            )
        ]

    #: Not stored: set on the event a re-delivery of its alert instance was answered with (no new decision).
    delivery_repeat: bool = False

    def __str__(self) -> str:
        return f"#{self.pk} {self.service_name} {self.action} {self.decision}"

    @property
    def redelivered(self) -> bool:
        """Alertmanager delivered the alert instance again after this decision (answered with it, not re-decided)."""
        return self.deliveries > 1

    @property
    def is_in_flight(self) -> bool:
        return self.status in (EventStatus.QUEUED, EventStatus.RUNNING)

    @property
    def reason_shown(self) -> str:
        """The reason in the reader's language (events.reasons)."""
        return reason_display(code=self.reason_code, params=self.reason_params, text=self.reason)

    @property
    def triggered_by_shown(self) -> str:
        """Who or what triggered the decision in the reader's language: a label of the product's own (the evaluation
        loop's "recommended policy", stored as its English msgid) translated; a user's name or an Alertmanager
        receiver as it is."""
        if self.trigger == Trigger.MANUAL or not self.triggered_by:
            return self.triggered_by
        return gettext(self.triggered_by)

    @property
    def trigger_detail(self) -> str:
        """What the trigger saw (a policy's evaluation) in English, as the API gives it ("" when nothing was kept)."""
        text = self.trigger_parts.get("text") if isinstance(self.trigger_parts, dict) else None
        return text if isinstance(text, str) else ""

    @property
    def trigger_detail_shown(self) -> str:
        """What the trigger saw in the reader's language (events.reasons.parts_display)."""
        return parts_display(self.trigger_parts, text=self.trigger_detail) if self.trigger_parts else ""


class ScaleEventStage(ChoiceLabelsMixin, models.Model):
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
