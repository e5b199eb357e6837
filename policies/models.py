"""Scaling policy per autoscaling config, its scheduled actions and the state the evaluation loop keeps."""

from __future__ import annotations

import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from events.reasons import parts_display
from ixnode.history import HistoricalActorModel, history_user_of
from ixnode.jobs import BackgroundJob
from policies import constants
from policies.choices import PolicyMetric, PolicyType, ScalingProcess, WhatIfStatus
from policies.engine.schedules import parse_weekdays


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(
            _("Unknown time zone %(tz)s; use an IANA name such as Asia/Seoul or Europe/Berlin."), params={"tz": value}
        ) from exc


def validate_weekdays(value: str) -> None:
    try:
        parse_weekdays(value)
    except ValueError as exc:
        raise ValidationError(
            _("%(error)s: use mon..sun, comma-separated, ranges allowed (e.g. mon-fri,sun)."),
            params={"error": str(exc)},
        ) from exc


class ScalingPolicy(models.Model):
    """How one service chooses its VM count. Without a row (or with type *step*) it is the seed's
    alert-driven step scaling, decision for decision."""

    config = models.OneToOneField(
        "autoscaling.AutoscalingConfig", on_delete=models.CASCADE, related_name="scaling_policy",
        verbose_name=_("config"),
    )
    # A new policy is the recommended one; a config without a row keeps the seed's step scaling.
    policy_type = models.CharField(_("policy"), max_length=24, choices=PolicyType.choices,
                                   default=PolicyType.RECOMMENDED)
    metric = models.CharField(_("metric"), max_length=16, choices=PolicyMetric.choices, default=PolicyMetric.CPU)
    target_utilisation = models.FloatField(
        _("target utilisation %"), default=constants.DEFAULT_TARGET_UTILISATION,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    scale_in_target_utilisation = models.FloatField(
        _("scale-in target utilisation %"), null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("Optional hysteresis: a scale-in removes only as many VMs as leave the rest at or below this "
                    "(at most the target; empty = the target). Fewer flaps, a little more headroom."),
    )
    tolerance = models.FloatField(
        _("tolerance"), default=constants.DEFAULT_TOLERANCE, validators=[MinValueValidator(0), MaxValueValidator(0.9)],
        help_text=_("No change while |utilisation / target − 1| is at most this (0.1 = 10 %)."),
    )
    max_change_per_run = models.PositiveIntegerField(
        _("maximum VMs per run"), default=constants.DEFAULT_MAX_CHANGE_PER_RUN, validators=[MinValueValidator(1)]
    )
    stabilisation_seconds = models.PositiveIntegerField(
        _("scale-in stabilisation window (s)"), default=constants.DEFAULT_STABILISATION_SECONDS,
        validators=[MaxValueValidator(86400)],
        help_text=_("Scale-in uses the highest recommendation of this window."),
    )
    warmup_seconds = models.PositiveIntegerField(
        _("warm-up (s)"), default=constants.DEFAULT_WARMUP_SECONDS, validators=[MaxValueValidator(86400)],
        help_text=_("A new VM's utilisation is ignored for this long after it went into service."),
    )
    flapping_check = models.BooleanField(
        _("flapping check"), default=True,
        help_text=_("Before a policy scale-in, check the remaining VMs would stay below the scale-out threshold."),
    )
    recheck_alert_at_cooldown_end = models.BooleanField(
        _("re-check alert at cooldown end"), default=True,
        help_text=_("Step policy: when a cooldown ends while the alert still fires, act then instead of waiting "
                    "for Alertmanager's next repeat."),
    )
    scale_in_on_seed_rule = models.BooleanField(
        _("scale in only on the seed's rule"), default=False,
        help_text=_("Recommended policy: a scale-in waits until the seed's scale-in rule holds (utilisation below "
                    "the config's scale-in threshold for its duration): less overload for more VM-hours, the "
                    "figures in docs/policies.md."),
    )
    step_guard = models.BooleanField(
        _("keep within the seed's results"), default=True,
        help_text=_("Recommended policy: replay the seed's step policy beside it on the same load and keep the "
                    "count at least the seed's while the service has had no overload to spare against it, and at "
                    "most the seed's once its VM-hours exceed the seed's by 1 %: never much worse than the seed, "
                    "on any load (docs/policies.md)."),
    )
    # Predictive
    forecast_only = models.BooleanField(
        _("forecast only"), default=False, help_text=_("Record what the forecast would do; act on the reactive part.")
    )
    clone_lead_seconds = models.PositiveIntegerField(
        _("clone lead time (s)"), default=constants.DEFAULT_CLONE_LEAD_SECONDS, validators=[MaxValueValidator(7200)],
        help_text=_("Scale out this far ahead of the forecast (about the time a clone takes to be in service)."),
    )
    forecast_history_days = models.PositiveIntegerField(
        _("forecast history (days)"), default=constants.DEFAULT_FORECAST_HISTORY_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC", validators=[validate_time_zone])
    # Operator controls
    dry_run = models.BooleanField(
        _("dry run"), default=False, help_text=_("Record every decision and its plan as events; execute nothing.")
    )
    suspend_scale_out = models.BooleanField(_("scale-out suspended"), default=False)
    suspend_scale_in = models.BooleanField(_("scale-in suspended"), default=False)
    suspend_scheduled = models.BooleanField(_("scheduled actions suspended"), default=False)
    suspend_predictive = models.BooleanField(_("predictive suspended"), default=False)
    # Evaluation state
    recommendations = models.JSONField(_("recent recommendations"), default=list, blank=True)
    # The recommended policy's step guard: the seed's shadow count, its timers and both sides' running totals
    guard_state = models.JSONField(_("step guard state"), default=dict, blank=True)
    applied_window_key = models.CharField(_("last applied scheduled action"), max_length=160, blank=True)
    last_evaluated_at = models.DateTimeField(_("last evaluated at"), null=True, blank=True)
    last_evaluation = models.TextField(_("last evaluation"), blank=True)
    # The evaluation's code and parameters (policies.engine.notes): pages show it in the reader's language.
    last_evaluation_parts = models.JSONField(_("last evaluation (code and parameters)"), default=dict, blank=True)
    last_alert_recheck_at = models.DateTimeField(_("last alert re-check at"), null=True, blank=True)
    last_decision_key = models.CharField(_("last recorded decision"), max_length=120, blank=True)
    last_forecast_desired = models.IntegerField(_("last recorded forecast"), null=True, blank=True)

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # Who changed which setting when (the evaluation loop's own state is not a setting: not recorded).
    history = HistoricalRecords(
        excluded_fields=["updated_at", "recommendations", "guard_state", "applied_window_key", "last_evaluated_at",
                         "last_evaluation", "last_evaluation_parts", "last_alert_recheck_at", "last_decision_key",
                         "last_forecast_desired"],
        bases=[HistoricalActorModel], get_user=history_user_of,
    )

    class Meta:
        verbose_name = _("scaling policy")
        verbose_name_plural = _("scaling policies")

    def __str__(self) -> str:
        return f"{self.config} ({self.policy_type})"

    def clean(self) -> None:
        if (self.scale_in_target_utilisation is not None and self.target_utilisation is not None
                and self.scale_in_target_utilisation > self.target_utilisation):
            raise ValidationError({"scale_in_target_utilisation": _(
                "The scale-in target must not exceed the target utilisation (a scale-in would be undone by the "
                "next scale-out).")})

    def is_suspended(self, process: str) -> bool:
        return bool(getattr(self, f"suspend_{ScalingProcess(process).value}"))

    @property
    def last_evaluation_shown(self) -> str:
        """The last evaluation in the reader's language (rows without parts: the stored English text)."""
        return parts_display(self.last_evaluation_parts, text=self.last_evaluation)

    @property
    def suspended_processes(self) -> list[str]:
        return [p.value for p in ScalingProcess if self.is_suspended(p)]


class ScheduledAction(models.Model):
    """A weekday/time window in the policy's time zone that sets min/max (and optionally a desired count)."""

    policy = models.ForeignKey(ScalingPolicy, on_delete=models.CASCADE, related_name="scheduled_actions")
    name = models.CharField(_("name"), max_length=64)
    weekdays = models.CharField(
        _("weekdays"), max_length=64, default="mon-fri", validators=[validate_weekdays],
        help_text=_("Days the window starts on: mon..sun, comma-separated, ranges allowed (mon-fri)."),
    )
    start_time = models.TimeField(_("start (local)"))
    end_time = models.TimeField(_("end (local)"), help_text=_("At or before the start: the window crosses midnight."))
    min_vms = models.PositiveIntegerField(_("minimum VMs"), validators=[MinValueValidator(1)])
    max_vms = models.PositiveIntegerField(_("maximum VMs"), validators=[MinValueValidator(1)])
    desired_vms = models.PositiveIntegerField(_("desired VMs"), null=True, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        ordering = ["policy", "start_time", "name"]
        verbose_name = _("scheduled action")
        verbose_name_plural = _("scheduled actions")
        constraints = [models.UniqueConstraint(fields=["policy", "name"], name="scheduled_action_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} {self.weekdays} {self.start_time:%H:%M}-{self.end_time:%H:%M}"

    def clean(self) -> None:
        errors: dict[str, list[str | Promise]] = {}
        if self.min_vms is not None and self.max_vms is not None and self.min_vms > self.max_vms:
            errors["max_vms"] = [_("Maximum VMs must be greater than or equal to minimum VMs.")]
        if self.desired_vms is not None and self.min_vms is not None and self.max_vms is not None and not (
            self.min_vms <= self.desired_vms <= self.max_vms
        ):
            errors["desired_vms"] = [_("Desired VMs must lie between the window's minimum and maximum.")]
        if self.start_time is not None and self.start_time == self.end_time:
            errors["end_time"] = [_("Start and end must differ.")]
        if errors:
            raise ValidationError(errors)


class WhatIfRun(BackgroundJob):
    """One replay of a service's own Prometheus history through several policies (a background task): what was
    asked, how far it got, and the figures per policy (``result``) with the plot."""

    config = models.ForeignKey(
        "autoscaling.AutoscalingConfig", on_delete=models.CASCADE, related_name="whatif_runs",
        verbose_name=_("config"),
    )
    days = models.PositiveIntegerField(
        _("days"), default=constants.WHATIF_DEFAULT_DAYS,
        validators=[MinValueValidator(constants.WHATIF_MIN_DAYS), MaxValueValidator(constants.WHATIF_MAX_DAYS)],
    )
    status = models.CharField(_("status"), max_length=16, choices=WhatIfStatus.choices, default=WhatIfStatus.PENDING)
    progress = models.PositiveIntegerField(_("progress %"), default=0, validators=[MaxValueValidator(100)])
    step_seconds = models.PositiveIntegerField(_("step (s)"), null=True, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    plot_png = models.BinaryField(_("plot (PNG)"), blank=True, default=b"")
    language = models.CharField(_("language"), max_length=16, blank=True)

    class Meta(BackgroundJob.Meta):
        verbose_name = _("what-if run")
        verbose_name_plural = _("what-if runs")

    def __str__(self) -> str:
        return f"#{self.pk} {self.config} {self.days} d"
