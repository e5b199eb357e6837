"""Scale events, read-only, camelCase like the config API."""

from __future__ import annotations

from rest_framework import serializers

from events.choices import Decision, EventStatus, Executor, ScaleAction
from events.models import ScaleEvent, ScaleEventStage


class ScaleEventStageSerializer(serializers.ModelSerializer):
    # null until the stage starts / finishes
    startedAt = serializers.DateTimeField(source="started_at", read_only=True, allow_null=True)  # noqa: N815
    finishedAt = serializers.DateTimeField(source="finished_at", read_only=True, allow_null=True)  # noqa: N815

    class Meta:
        model = ScaleEventStage
        fields = ["position", "name", "status", "startedAt", "finishedAt", "log", "detail"]
        read_only_fields = fields


_CAMEL = {
    "serviceName": "service_name",
    "dryRun": "dry_run",
    "currentVmCount": "current_vm_count",
    "requestedCount": "requested_count",
    "beforeCount": "before_count",
    "afterCount": "after_count",
    "vmNames": "vm_names",
    "currentStage": "current_stage",
    "rollbackSummary": "rollback_summary",
    "alertName": "alert_name",
    "alertFingerprint": "alert_fingerprint",
    "alertStartsAt": "alert_starts_at",
    "alertLabels": "alert_labels",
    "triggeredBy": "triggered_by",
    "jenkinsBuildUrl": "jenkins_build_url",
    "createdAt": "created_at",
    "startedAt": "started_at",
    "finishedAt": "finished_at",
    "heartbeatAt": "heartbeat_at",
    "lastDeliveredAt": "last_delivered_at",
}


class ScaleEventSerializer(serializers.ModelSerializer):
    """One decision and, when allowed, its run with stages."""

    stages = ScaleEventStageSerializer(many=True, read_only=True)
    # Empty for a decision that started no run (DRF drops allow_blank from read-only model fields).
    executor = serializers.ChoiceField(Executor.choices, allow_blank=True, read_only=True,
                                       help_text="Who runs the pipeline; empty when no run started.")
    # Served as stored: "" when no Jenkins build ran (a string, not ``format: uri``, which "" would violate).
    jenkinsBuildUrl = serializers.CharField(  # noqa: N815
        source="jenkins_build_url", read_only=True, help_text="URL of the Jenkins build; empty when none ran.")

    # A policy's evaluation behind the event, whole, in English (the event page shows it translated); "" otherwise.
    triggerDetail = serializers.CharField(  # noqa: N815
        source="trigger_detail", read_only=True,
        help_text="What the trigger saw: the policy's evaluation in English; empty for other triggers.")

    class Meta:
        model = ScaleEvent
        fields = ["id", "serviceName", "action", "decision", "reason", "status", "trigger", "executor", "dryRun",
                  "currentVmCount", "requestedCount", "beforeCount", "afterCount", "vmNames", "currentStage",
                  "error", "rollbackSummary", "alertName", "alertFingerprint", "alertStartsAt", "alertLabels",
                  "triggeredBy", "triggerDetail", "jenkinsBuildUrl", "createdAt", "startedAt", "finishedAt",
                  "heartbeatAt", "deliveries", "lastDeliveredAt", "stages"]
        extra_kwargs = {name: {"source": model} for name, model in _CAMEL.items()}
        read_only_fields = fields


class ScaleEventFilterSerializer(serializers.Serializer):
    """Query parameters of the event list."""

    service = serializers.CharField(required=False, max_length=63, help_text="Service name.")
    action = serializers.ChoiceField(ScaleAction.choices, required=False)
    decision = serializers.ChoiceField(Decision.choices, required=False)
    status = serializers.ChoiceField(EventStatus.choices, required=False)
