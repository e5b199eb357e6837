"""Reading policies: the settings the engine needs, the active scheduled window, suspension checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from artifacts.renderers.prometheus import scale_in_rule_thresholds
from autoscaling.models import AutoscalingConfig
from policies.choices import PolicyType
from policies.engine.evaluate import PolicySettings, recommended_settings
from policies.engine.schedules import ActiveWindow, Window, active_window, effective_bounds, parse_weekdays
from policies.models import ScalingPolicy


def policy_get(*, config: AutoscalingConfig) -> ScalingPolicy | None:
    """The config's policy, or None (the seed's step scaling)."""
    try:
        return config.scaling_policy
    except ScalingPolicy.DoesNotExist:
        return None


def policy_settings(config: AutoscalingConfig, policy: ScalingPolicy | None) -> PolicySettings:
    """The engine's view of a policy (seed defaults without one)."""
    if policy is None:
        return PolicySettings(scale_out_threshold=config.scale_out_cpu_threshold)
    threshold = config.scale_out_cpu_threshold if policy.metric == "cpu" else config.scale_out_memory_threshold
    if policy.policy_type == PolicyType.RECOMMENDED:
        # Its tested settings, with the config's band: the scale-out threshold (the upper edge) and the seed's
        # scale-in rule (the lower edge and its duration: headroom goes at least as fast as the seed lets it go).
        # The seed's scale-in rule is CPU *and* memory below their thresholds: the policy's metric and the other.
        scale_in = scale_in_rule_thresholds(config)
        other: dict[str, object] = {}  # the rule's metric besides the policy's (the engine weighs one)
        for metric, below in scale_in.items():
            if metric != policy.metric:
                other = {"scale_in_other_metric": metric, "scale_in_other_threshold": below}
        return recommended_settings(
            scale_out_threshold=threshold,
            scale_in_threshold=scale_in[policy.metric],
            **other,
            scale_in_duration_seconds=config.scale_in_duration_minutes * 60,
            warmup_seconds=policy.warmup_seconds,
            flapping_check=policy.flapping_check,
            scale_in_on_seed_rule=policy.scale_in_on_seed_rule,
            step_guard=policy.step_guard,
            scale_out_duration_seconds=config.scale_out_duration_minutes * 60,
            scale_out_step=config.scale_out_step,
            scale_in_step=config.scale_in_step,
            alert_repeat_seconds=config.alert_repeat_interval_seconds,
            suspend_scale_out=policy.suspend_scale_out,
            suspend_scale_in=policy.suspend_scale_in,
            suspend_scheduled=policy.suspend_scheduled,
            suspend_predictive=policy.suspend_predictive,
        )
    return PolicySettings(
        policy_type=policy.policy_type,
        target=policy.target_utilisation,
        tolerance=policy.tolerance,
        scale_in_target=policy.scale_in_target_utilisation,
        max_change=policy.max_change_per_run,
        stabilisation_seconds=policy.stabilisation_seconds,
        warmup_seconds=policy.warmup_seconds,
        scale_out_threshold=threshold,
        flapping_check=policy.flapping_check,
        forecast_only=policy.forecast_only,
        suspend_scale_out=policy.suspend_scale_out,
        suspend_scale_in=policy.suspend_scale_in,
        suspend_scheduled=policy.suspend_scheduled,
        suspend_predictive=policy.suspend_predictive,
    )


@dataclass(frozen=True)
class PolicyEvaluationSummary:
    """A service's policy as its page shows it: the policy type's label and its last evaluation (when, and what
    it concluded in the reader's language; "" when it has not been evaluated)."""

    label: str
    evaluated_at: datetime | None
    evaluation: str


def policy_evaluation_summary(*, policy: ScalingPolicy | None) -> PolicyEvaluationSummary:
    """What the service page shows of ``policy`` (None: the seed's step scaling, never evaluated)."""
    if policy is None:
        return PolicyEvaluationSummary(str(PolicyType.STEP.label), None, "")
    return PolicyEvaluationSummary(str(PolicyType(policy.policy_type).label), policy.last_evaluated_at,
                                   policy.last_evaluation_shown)


def policy_windows(*, policy: ScalingPolicy) -> list[Window]:
    return [
        Window(parse_weekdays(a.weekdays), a.start_time, a.end_time, a.min_vms, a.max_vms, a.desired_vms, a.name)
        for a in policy.scheduled_actions.all()
        if a.enabled
    ]


def policy_active_window(*, policy: ScalingPolicy, now: datetime) -> ActiveWindow | None:
    if policy.suspend_scheduled:
        return None
    return active_window(policy_windows(policy=policy), now=now, tz=ZoneInfo(policy.time_zone))


def effective_min_max(*, config: AutoscalingConfig, now: datetime) -> tuple[int, int]:
    """The min/max a decision for ``config`` uses at ``now``: the config's, or an active scheduled action's."""
    policy = policy_get(config=config)
    active = policy_active_window(policy=policy, now=now) if policy else None
    bounds = effective_bounds(min_vms=config.min_vms, max_vms=config.max_vms, active=active)
    return bounds.min_vms, bounds.max_vms
