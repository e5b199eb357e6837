"""API shapes of scaling policies."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from policies import constants
from policies.choices import ScalingProcess, WhatIfStatus
from policies.models import ScalingPolicy, ScheduledAction, WhatIfRun
from policies.services import policy_save
from policies.whatif import (
    whatif_already_running_note,
    whatif_days_validate,
    whatif_error_code,
    whatif_error_summary,
    whatif_run_result,
)


class ScheduledActionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScheduledAction
        fields = ["name", "weekdays", "start_time", "end_time", "min_vms", "max_vms", "desired_vms", "enabled"]

    def validate(self, attrs):
        try:
            ScheduledAction(**attrs).clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs


class ScalingPolicySerializer(serializers.ModelSerializer):
    service_name = serializers.CharField(source="config.service_name", read_only=True)
    scheduled_actions = ScheduledActionSerializer(many=True, required=False)
    suspended_processes = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = ScalingPolicy
        fields = [
            "service_name", "policy_type", "metric", "target_utilisation", "scale_in_target_utilisation",
            "tolerance", "max_change_per_run",
            "stabilisation_seconds", "warmup_seconds", "flapping_check", "scale_in_on_seed_rule", "step_guard",
            "recheck_alert_at_cooldown_end",
            "forecast_only", "clone_lead_seconds", "forecast_history_days", "time_zone", "dry_run",
            "suspend_scale_out", "suspend_scale_in", "suspend_scheduled", "suspend_predictive", "suspended_processes",
            "scheduled_actions", "last_evaluated_at", "last_evaluation",
        ]
        read_only_fields = ["last_evaluated_at", "last_evaluation"]

    def validate(self, attrs):
        target = attrs.get("target_utilisation", getattr(self.instance, "target_utilisation", 60.0))
        scale_in = attrs.get("scale_in_target_utilisation", getattr(self.instance, "scale_in_target_utilisation", None))
        if scale_in is not None and target is not None and scale_in > target:
            raise serializers.ValidationError({"scale_in_target_utilisation": [
                "The scale-in target must not exceed the target utilisation."]})
        return attrs

    def validate_scheduled_actions(self, value):
        names = [item["name"] for item in value]
        if len(names) != len(set(names)):
            raise serializers.ValidationError("Scheduled action names must be unique per service.")
        return value

    def save_with_actions(self, *, config) -> ScalingPolicy:
        """Save through the policy service (the admin's and the pages' too); its field errors as a 400."""
        values = dict(self.validated_data)
        actions = values.pop("scheduled_actions", None)
        try:
            self.instance = policy_save(config=config, values=values, policy=self.instance,
                                        scheduled_actions=actions)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return self.instance


class ProcessesSerializer(serializers.Serializer):
    processes = serializers.ListField(
        child=serializers.ChoiceField(choices=ScalingProcess.choices), allow_empty=False,
        default=lambda: [p.value for p in ScalingProcess],
    )


class DryRunSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()


# --- What-if on the service's own history (policies.whatif) ------------------------------------------------------

class WhatIfDaysField(serializers.IntegerField):
    """Days of history to replay, checked as the page's form checks them (``policies.whatif.whatif_days_validate``:
    a whole number, WHATIF_MIN_DAYS..WHATIF_MAX_DAYS, the same messages)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=constants.WHATIF_MIN_DAYS, max_value=constants.WHATIF_MAX_DAYS, **kwargs)

    def to_internal_value(self, data: Any) -> int:
        try:
            return whatif_days_validate(data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict.get("days", exc.messages)) from exc


class WhatIfStartSerializer(serializers.Serializer):
    days = WhatIfDaysField(help_text="Days of the service's own history to replay (a whole number, "
                                     f"{constants.WHATIF_MIN_DAYS}–{constants.WHATIF_MAX_DAYS}).")


class WhatIfRowSerializer(serializers.Serializer):
    """One replayed policy's figures (a row of the page's table)."""

    key = serializers.CharField(read_only=True, help_text="`step`, `recommended` or `current`.")
    # a field named like Field.label (DRF moves declared fields off the class; the stubs see the attribute)
    label = serializers.CharField(  # type: ignore[assignment]
        read_only=True, help_text="The row's name in the reader's language.")
    policyType = serializers.CharField(source="policy_type", read_only=True)  # noqa: N815
    simulatedAs = serializers.CharField(  # noqa: N815
        source="simulated_as", read_only=True, help_text="The simulator's name of the replay (e.g. `step+recheck`).")
    current = serializers.BooleanField(
        read_only=True, help_text="The row replayed the service's policy as it was when the run started.")
    inUse = serializers.BooleanField(  # noqa: N815
        source="in_use", read_only=True, help_text="The row's policy is the one the service scales by now.")
    switchable = serializers.BooleanField(
        read_only=True, help_text="The pages offer a switch to this policy (through the policy API: "
                                  "`PATCH /api/policies/<serviceName>/` with `policy_type`).")
    overloadMinutes = serializers.IntegerField(  # noqa: N815
        source="overload_minutes", read_only=True, help_text="Minutes of CPU above the scale-out threshold.")
    vmHours = serializers.FloatField(source="vm_hours", read_only=True, help_text="VM-hours powered on.")  # noqa: N815
    stoppedVmHours = serializers.FloatField(  # noqa: N815
        source="stopped_vm_hours", read_only=True, help_text="VM-hours of the warm pool's stopped VMs.")
    scaleOuts = serializers.IntegerField(source="scale_outs", read_only=True)  # noqa: N815
    scaleIns = serializers.IntegerField(source="scale_ins", read_only=True)  # noqa: N815
    scaleActions = serializers.IntegerField(source="scale_actions", read_only=True)  # noqa: N815
    flaps = serializers.IntegerField(
        read_only=True, help_text="Scale-ins followed by a scale-out within 15 minutes.")
    peakVms = serializers.IntegerField(source="peak_vms", read_only=True)  # noqa: N815
    parameters = serializers.CharField(read_only=True, help_text="The parameters the row ran with, in English.")
    parametersText = serializers.CharField(  # noqa: N815
        source="parameters_text", read_only=True, help_text="The same line in the reader's language.")


class WhatIfResultSerializer(serializers.Serializer):
    """A succeeded run's figures: the history replayed and one row per policy."""

    historyStart = serializers.DateTimeField(source="history_start", read_only=True, allow_null=True)  # noqa: N815
    historyEnd = serializers.DateTimeField(source="history_end", read_only=True, allow_null=True)  # noqa: N815
    stepSeconds = serializers.IntegerField(source="step_seconds", read_only=True)  # noqa: N815
    points = serializers.IntegerField(read_only=True)
    gapPoints = serializers.IntegerField(source="gap_points", read_only=True)  # noqa: N815
    gapMinutes = serializers.FloatField(  # noqa: N815
        source="gap_minutes", read_only=True, help_text="Minutes without samples (gaps, not counted).")
    knownMinutes = serializers.FloatField(source="known_minutes", read_only=True)  # noqa: N815
    initialVms = serializers.IntegerField(  # noqa: N815
        source="initial_vms", read_only=True, help_text="The VM count the replay starts with.")
    demandPeak = serializers.FloatField(  # noqa: N815
        source="demand_peak", read_only=True, help_text="The demand's peak in VM-percent.")
    historyVmHours = serializers.FloatField(  # noqa: N815
        source="history_vm_hours", read_only=True, help_text="VM-hours the service actually used.")
    hasPolicy = serializers.BooleanField(  # noqa: N815
        source="has_policy", read_only=True,
        help_text="False: the service has no policy row and scales by the seed's step policy (the step row).")
    currentPolicyType = serializers.CharField(source="current_policy_type", read_only=True)  # noqa: N815
    currentOnMemory = serializers.BooleanField(  # noqa: N815
        source="current_on_memory", read_only=True,
        help_text="The service's policy scales on memory: the CPU replay has no row of it.")
    rows = WhatIfRowSerializer(many=True, read_only=True)


class WhatIfRunSerializer(serializers.ModelSerializer):
    """A what-if run: what was asked, how far it got, and (once succeeded) its figures and plot."""

    url = serializers.SerializerMethodField()
    serviceName = serializers.CharField(source="config.service_name", read_only=True)  # noqa: N815
    stepSeconds = serializers.IntegerField(  # noqa: N815
        source="step_seconds", read_only=True, allow_null=True, help_text="The history's step (the query's).")
    progress = serializers.IntegerField(read_only=True, help_text="Percent done.")
    active = serializers.BooleanField(source="is_active", read_only=True, help_text="Pending or running.")
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)  # noqa: N815
    startedAt = serializers.DateTimeField(source="started_at", read_only=True, allow_null=True)  # noqa: N815
    finishedAt = serializers.DateTimeField(source="finished_at", read_only=True, allow_null=True)  # noqa: N815
    createdBy = serializers.CharField(  # noqa: N815
        source="created_by.username", read_only=True, allow_null=True, default=None,
        help_text="Who started the run (null when the user is gone).")
    error = serializers.CharField(read_only=True, help_text="Why the run failed, in English as stored; empty else.")
    errorCode = serializers.SerializerMethodField()  # noqa: N815
    errorText = serializers.SerializerMethodField()  # noqa: N815
    result = serializers.SerializerMethodField()
    plotUrl = serializers.SerializerMethodField()  # noqa: N815

    class Meta:
        model = WhatIfRun
        fields = ["id", "url", "serviceName", "days", "stepSeconds", "status", "progress", "active", "createdAt",
                  "startedAt", "finishedAt", "createdBy", "error", "errorCode", "errorText", "result", "plotUrl"]
        read_only_fields = fields

    def _url(self, name: str, run: WhatIfRun) -> str:
        location = reverse(name, args=[run.config.service_name, run.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(location) if request is not None else location

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, run: WhatIfRun) -> str:
        return self._url("policy-whatif-run-detail", run)

    @extend_schema_field(serializers.CharField(
        help_text="`prometheus`, `no_history`, `timeout` or `failed` when the run failed; empty else."))
    def get_errorCode(self, run: WhatIfRun) -> str:  # noqa: N802
        return whatif_error_code(run=run)

    @extend_schema_field(serializers.CharField(
        help_text="Why the run failed, one sentence in the reader's language (the page's); empty else."))
    def get_errorText(self, run: WhatIfRun) -> str:  # noqa: N802
        return whatif_error_summary(run=run)

    @extend_schema_field(WhatIfResultSerializer(allow_null=True, help_text="Null until the run has succeeded."))
    def get_result(self, run: WhatIfRun) -> dict[str, Any] | None:
        result = whatif_run_result(run=run, config=run.config)
        return WhatIfResultSerializer(result).data if result is not None else None

    @extend_schema_field(serializers.URLField(allow_null=True, help_text="The plot (PNG) once the run has "
                                                                         "succeeded; null until then."))
    def get_plotUrl(self, run: WhatIfRun) -> str | None:  # noqa: N802
        return self._url("policy-whatif-run-plot", run) if run.status == WhatIfStatus.SUCCEEDED else None


class WhatIfStartedSerializer(WhatIfRunSerializer):
    """The answer to a start: the run, whether it was queued now, and the page's note when one was under way."""

    created = serializers.SerializerMethodField()
    note = serializers.SerializerMethodField()

    class Meta(WhatIfRunSerializer.Meta):
        fields = [*WhatIfRunSerializer.Meta.fields, "created", "note"]
        read_only_fields = fields

    @extend_schema_field(serializers.BooleanField(
        help_text="False: a run of the service was already pending or running; this is that run."))
    def get_created(self, run: WhatIfRun) -> bool:
        return bool(self.context.get("created", True))

    @extend_schema_field(serializers.CharField(help_text="Empty, or why no new run was queued."))
    def get_note(self, run: WhatIfRun) -> str:
        return "" if self.context.get("created", True) else whatif_already_running_note()
