"""API shapes of scaling policies."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from policies.choices import ScalingProcess
from policies.models import ScalingPolicy, ScheduledAction
from policies.services import policy_save


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
            "stabilisation_seconds", "warmup_seconds", "flapping_check", "scale_in_on_seed_rule",
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
