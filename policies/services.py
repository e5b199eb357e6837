"""Policy services: the evaluation loop, operator controls, dry-run plans and the alert path's options.

Every action goes through ``autoscaling.services.decisions.scale_decision_record`` (lock, ``decide()``,
ScaleEvent, run queued), so policies share the seed's safety rules and audit trail.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django_q.models import Schedule

from autoscaling import selectors as as_selectors
from autoscaling.choices import ManagedVMState
from autoscaling.hooks import DecisionOptions
from autoscaling.managed_vms import managed_vm_names_new
from autoscaling.models import AutoscalingConfig, CooldownState
from autoscaling.services.configs import (
    config_build,
    config_save,
    config_writes_serialize,
    validation_error_dict,
)
from autoscaling.services.decisions import DecisionTrigger, scale_decision_record, vm_count_read
from autoscaling.services.ip_leases import ip_pool_free_addresses
from autoscaling.services.warm_pool import warm_pool_room, warm_vms_ready
from events.choices import ScaleAction, Trigger
from events.models import ScaleEvent
from events.reasons import Reason, msgid_of, reason_parts
from ixnode.integrations.alertmanager.client import alertmanager_client
from ixnode.integrations.alertmanager.interface import Alertmanager, AlertmanagerError
from ixnode.integrations.prometheus import promql
from ixnode.integrations.prometheus.client import prometheus_client
from ixnode.integrations.prometheus.interface import Prometheus, PrometheusError
from ixnode.netaddr import address_of, join_host_port
from policies import selectors
from policies.choices import PolicyType, ScalingProcess
from policies.engine.evaluate import PolicyInput, PolicyOutcome, evaluate_policy, seed_rule_other_needed
from policies.engine.notes import note
from policies.engine.predictive import Forecaster
from policies.engine.schedules import effective_bounds
from policies.engine.target_tracking import VMUtilisation
from policies.models import ScalingPolicy, ScheduledAction

logger = logging.getLogger(__name__)

def _by_instance(*, config: AutoscalingConfig, metric: str, window: str) -> str:
    """The policy's metric (``cpu`` or ``memory``) of each instance of the service."""
    job = config.prometheus_job_name
    return promql.cpu_by_instance(job, window) if metric == "cpu" else promql.memory_by_instance(job)


def _decision_options(*, config: AutoscalingConfig, action: ScaleAction | str, now: datetime | None,
                      policy_decides: bool) -> DecisionOptions:
    """Dry-run, suspension and scheduled bounds of ``config``'s policy for a decision on ``action``; with
    ``policy_decides`` a non-step policy also turns the decision away (the policy, not the caller, scales)."""
    policy = selectors.policy_get(config=config)
    if policy is None:
        return DecisionOptions()
    now = now or timezone.now()
    action = ScaleAction(action)
    process = ScalingProcess.SCALE_OUT if action == ScaleAction.SCALE_OUT else ScalingProcess.SCALE_IN
    reason: str = ""
    if policy.is_suspended(process):
        reason = Reason("suspended_out" if action == ScaleAction.SCALE_OUT else "suspended_in")
    elif policy_decides and policy.policy_type != PolicyType.STEP:
        # The label is stored as its English msgid (translated where the reason is shown).
        reason = Reason("scaled_by_policy", policy=msgid_of(PolicyType(policy.policy_type).label),
                        interval=settings.IXNODE_POLICY_INTERVAL)
    active = selectors.policy_active_window(policy=policy, now=now)
    bounds = None
    if active is not None:
        b = effective_bounds(min_vms=config.min_vms, max_vms=config.max_vms, active=active)
        bounds = (b.min_vms, b.max_vms)
    return DecisionOptions(dry_run=policy.dry_run, bounds=bounds, suspended_reason=reason)


def policy_alert_options(*, config: AutoscalingConfig, action: ScaleAction | str, now: datetime | None = None
                         ) -> DecisionOptions:
    """Dry-run, suspension, scheduled bounds and non-step policies for an alert-driven decision."""
    return _decision_options(config=config, action=action, now=now, policy_decides=True)


def policy_manual_options(*, config: AutoscalingConfig, action: ScaleAction | str, now: datetime | None = None
                          ) -> DecisionOptions:
    """Dry-run, suspension and scheduled bounds for an operator's manual action. Unlike an alert, a manual action
    is not stopped by a target-tracking or predictive policy (the operator asked; the policy may correct it later),
    but a suspended process stays suspended for everyone until it is resumed (the same translated reason)."""
    return _decision_options(config=config, action=action, now=now, policy_decides=False)


def _utilisation_read(*, config: AutoscalingConfig, policy: ScalingPolicy, prometheus: Prometheus,
                      fresh: bool = False, metric: str = "") -> tuple[list | None, str]:
    """Each instance's utilisation of the policy's metric (or ``metric``): over the loop's window
    (IXNODE_POLICY_RATE_WINDOW), over the alert rules' window (IXNODE_PROMETHEUS_RATE_WINDOW) for the recommended
    policy, or with ``fresh`` from the last two scrapes (CPU; memory is a gauge, always fresh)."""
    metric = metric or policy.metric
    recommended = policy.policy_type == PolicyType.RECOMMENDED
    window = settings.IXNODE_PROMETHEUS_RATE_WINDOW if recommended else settings.IXNODE_POLICY_RATE_WINDOW
    job = config.prometheus_job_name
    if fresh and metric == "cpu":
        query = promql.cpu_by_instance_fresh(job, settings.IXNODE_POLICY_FRESH_WINDOW)
    else:
        query = _by_instance(config=config, metric=metric, window=window)
    query = promql.scraped_now(query, job)  # the VMs of the service now, not those that left inside the window
    try:
        result = prometheus.query(query)
    except PrometheusError as exc:
        return None, str(exc)
    in_service = {
        (vm.ip_address or ""): vm.in_service_at
        for vm in as_selectors.managed_vms_alive(config=config).exclude(in_service_at=None)
    }
    vms = []
    broken: list[str] = []
    for sample in result.samples:
        value = sample.value
        if value != value:  # NaN: no rate yet
            continue
        instance = sample.labels.get("instance", "")
        if not math.isfinite(value):  # ±Inf: a broken reading (MemTotal 0, a counter gone wrong), never a load
            broken.append(instance)
            continue
        vms.append(VMUtilisation(value, in_service.get(address_of(instance))))
    if broken:
        logger.warning("%s: %s utilisation of %s is infinite (check node_exporter there); left out of the policy",
                       config.service_name, metric, ", ".join(sorted(broken)))
    if not vms:
        if broken:
            return None, note("policy_samples_infinite", metric=metric, job=config.prometheus_job_name,
                              instances=", ".join(sorted(broken))).reason()
        return None, note("policy_no_samples", metric=metric, job=config.prometheus_job_name).reason()
    return vms, ""


def _forecast_peak_read(*, config: AutoscalingConfig, policy: ScalingPolicy, prometheus: Prometheus, now: datetime
                        ) -> float | None:

    step = 300
    query = promql.total(_by_instance(config=config, metric=policy.metric, window="5m"))
    # A grid aligned to the step: Prometheus answers at start + k × step (millisecond timestamps).
    first = (now.timestamp() - policy.forecast_history_days * 86400) // step * step
    start = datetime.fromtimestamp(first, tz=UTC)
    try:
        result = prometheus.query_range(query, start=start, end=now, step_seconds=step)
    except PrometheusError as exc:
        logger.warning("forecast history of %s unavailable: %s", config.service_name, exc)
        return None
    if not result.samples:
        return None
    values: list[float | None] = [None] * (int((now.timestamp() - first) // step) + 1)
    for at, value in result.samples[0].points:
        index = round((at - first) / step)
        if 0 <= index < len(values) and math.isfinite(value):  # NaN: no data in that bin; ±Inf: a broken reading
            values[index] = value
    forecaster = Forecaster(start=first, step=step, values=values)
    return forecaster.peak(now=now.timestamp(), horizon=policy.clone_lead_seconds + settings.IXNODE_POLICY_INTERVAL)


# The events' "triggered by" of the evaluation loop: English msgids, stored as they are (search, CSV, the API) and
# shown translated (ScaleEvent.triggered_by_shown).
POLICY_TRIGGER_LABELS: dict[str, str] = {
    PolicyType.STEP: gettext_noop("step policy"),
    PolicyType.RECOMMENDED: gettext_noop("recommended policy"),
    PolicyType.TARGET_TRACKING: gettext_noop("target_tracking policy"),
    PolicyType.PREDICTIVE: gettext_noop("predictive policy"),
}
FORECAST_ONLY_TRIGGER_LABEL = gettext_noop("predictive policy (forecast only)")
RECHECK_TRIGGER_LABEL = gettext_noop("re-check at cooldown end")


def guard_state_of(policy: ScalingPolicy) -> dict:
    """The step guard's state to carry into this evaluation: none when it was kept under the other dry-run setting
    (a dry run's count never moves, so its totals say nothing of the live service: going live starts afresh)."""
    state = policy.guard_state or {}
    if bool(state.get("dry_run", False)) != policy.dry_run:
        return {}
    return state


def policy_evaluate(*, config: AutoscalingConfig, now: datetime | None = None,
                    prometheus: Prometheus | None = None
                    ) -> tuple[PolicyOutcome | None, ScaleEvent | None]:
    """Evaluate one service's policy (target tracking, predictive, scheduled actions) and act on it."""

    policy = selectors.policy_get(config=config)
    if policy is None or not config.enabled:
        return None, None
    now = now or timezone.now()
    active = selectors.policy_active_window(policy=policy, now=now)
    if policy.policy_type == PolicyType.STEP and active is None:
        return None, None  # alert-driven only; nothing to evaluate
    prometheus = prometheus or prometheus_client()
    count = vm_count_read(config=config, prometheus=prometheus)
    policy_settings = selectors.policy_settings(config, policy)
    vms, metric_error = (None, "")
    fresh_vms = other_vms = None
    other_error = ""
    if policy.policy_type != PolicyType.STEP and count.value is not None:
        vms, metric_error = _utilisation_read(config=config, policy=policy, prometheus=prometheus)
        if policy.policy_type == PolicyType.RECOMMENDED and vms:
            fresh_vms, _ = _utilisation_read(config=config, policy=policy, prometheus=prometheus, fresh=True)
        if seed_rule_other_needed(policy_settings) and vms:  # the seed's scale-in rule: CPU and memory
            other_vms, other_error = _utilisation_read(config=config, policy=policy, prometheus=prometheus,
                                                       metric=policy_settings.scale_in_other_metric)
    peak = None
    if policy.policy_type == PolicyType.PREDICTIVE and not policy.suspend_predictive and vms:
        peak = _forecast_peak_read(config=config, policy=policy, prometheus=prometheus, now=now)
    state = CooldownState.objects.filter(pk=config.pk).first()
    outcome = evaluate_policy(
        policy_settings,
        PolicyInput(
            now=now, enabled=config.enabled, min_vms=config.min_vms, max_vms=config.max_vms,
            cooldown_seconds=config.cooldown_seconds, current_vm_count=count.value, vms=vms,
            last_scale_out_at=state.last_scale_out_at if state else None,
            last_scale_in_at=state.last_scale_in_at if state else None,
            run_in_flight=as_selectors.scale_event_in_flight_exists(config=config),
            count_error=count.error, metric_error=metric_error, active_window=active,
            applied_window_key=policy.applied_window_key, history=[tuple(x) for x in policy.recommendations],
            forecast_peak=peak, fresh_vms=fresh_vms, other_vms=other_vms, other_error=other_error,
            guard=guard_state_of(policy),
        ),
    )
    event = None
    key = f"{outcome.action}:{outcome.desired}:{outcome.decision.decision if outcome.decision else ''}"
    fields = {"recommendations": [list(x) for x in outcome.history],
              "guard_state": {**outcome.guard, "dry_run": policy.dry_run} if outcome.guard else {},
              "last_evaluated_at": now,
              "last_evaluation": outcome.reason[:2000], "last_evaluation_parts": reason_parts(outcome.reason)}
    # The event's "triggered by" is a short English label (search, CSV); the evaluation itself is kept whole with
    # its codes (the event page shows it in the reader's language, the API as English text).
    label = POLICY_TRIGGER_LABELS.get(policy.policy_type, f"{policy.policy_type} policy")
    if outcome.decision is not None and outcome.action is not None and (
        outcome.allowed or key != policy.last_decision_key
    ):
        kind = Trigger.SCHEDULE if outcome.trigger == "schedule" else Trigger.POLICY
        bounds = effective_bounds(min_vms=config.min_vms, max_vms=config.max_vms,
                                  active=None if policy.suspend_scheduled else active)
        event = scale_decision_record(
            config=config, action=outcome.action, now=now, prometheus=prometheus, dry_run=policy.dry_run,
            step=max(outcome.decision.count, abs((outcome.desired or 0) - (count.value or 0)), 1),
            bounds=(bounds.min_vms, bounds.max_vms),
            trigger=DecisionTrigger(kind=kind, triggered_by=label, detail=outcome.reason),
        )
        fields["last_decision_key"] = key
        if event.decision == "ALLOW" and outcome.window_key:
            fields["applied_window_key"] = outcome.window_key
    if (policy.policy_type == PolicyType.PREDICTIVE and policy.forecast_only and outcome.forecast_desired
            and count.value is not None and outcome.forecast_desired > count.value
            and outcome.forecast_desired != policy.last_forecast_desired):
        scale_decision_record(
            config=config, action=ScaleAction.SCALE_OUT, now=now, prometheus=prometheus, dry_run=True,
            step=outcome.forecast_desired - count.value,
            trigger=DecisionTrigger(kind=Trigger.POLICY, triggered_by=FORECAST_ONLY_TRIGGER_LABEL,
                                    detail=note("policy_forecast_only", count=outcome.forecast_desired).reason()),
        )
        fields["last_forecast_desired"] = outcome.forecast_desired
    ScalingPolicy.objects.filter(pk=policy.pk).update(**fields)
    return outcome, event


EVALUATION_SCHEDULE_NAME = "policies: evaluate scaling policies"
EVALUATION_TASK = "policies.tasks.policy_evaluate_all"


def policy_interval_error(interval_seconds: int) -> str:
    """Why ``interval_seconds`` cannot be the evaluation schedule ("" when it can): django-q2 schedules
    run at whole minutes."""
    if interval_seconds < 60 or interval_seconds % 60:
        return (gettext("IXNODE_POLICY_INTERVAL=%(seconds)s s: the evaluation loop runs on a django-q2 schedule, "
                        "which counts whole minutes; use a multiple of 60 (60, 120, 300, ...).")
                % {"seconds": interval_seconds})
    return ""


def policy_schedule_sync(*, interval_seconds: int | None = None):
    """Create or update the django-q2 schedule of the evaluation loop to run every ``interval_seconds``
    (default ``IXNODE_POLICY_INTERVAL``). Raises ValueError for an interval that is not whole minutes."""

    interval = settings.IXNODE_POLICY_INTERVAL if interval_seconds is None else interval_seconds
    error = policy_interval_error(interval)
    if error:
        raise ValueError(error)
    schedule, created = Schedule.objects.get_or_create(
        name=EVALUATION_SCHEDULE_NAME,
        defaults={"func": EVALUATION_TASK, "schedule_type": Schedule.MINUTES, "minutes": interval // 60,
                  "repeats": -1},
    )
    if not created and (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) != (
            EVALUATION_TASK, Schedule.MINUTES, interval // 60, -1):
        schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats = (
            EVALUATION_TASK, Schedule.MINUTES, interval // 60, -1)
        schedule.save(update_fields=["func", "schedule_type", "minutes", "repeats"])
    return schedule


def policy_alert_repeat_reason(*, config: AutoscalingConfig, action: ScaleAction | str, fingerprint: str,
                               starts_at: datetime | None) -> str:
    """For a service a target-tracking/predictive policy manages, an alert is recorded once per alert start
    (fingerprint + startsAt) as BLOCK_DISABLED; its repeats return the reason they are ignored (no event).
    "" means: decide the alert as usual (no policy, a step policy, or the first notification)."""
    policy = selectors.policy_get(config=config)
    if policy is None or policy.policy_type == PolicyType.STEP or not fingerprint:
        return ""
    process = ScalingProcess.SCALE_OUT if ScaleAction(action) == ScaleAction.SCALE_OUT else ScalingProcess.SCALE_IN
    if policy.is_suspended(process):
        return ""
    first = (ScaleEvent.objects.filter(config=config, trigger=Trigger.ALERT, action=action,
                                       alert_fingerprint=fingerprint[:64], alert_starts_at=starts_at)
             .order_by("pk").values_list("pk", flat=True).first())
    if first is None:
        return ""
    return (f"Repeat of an alert already recorded as event {first}: this service scales by its "
            f"{policy.get_policy_type_display()} policy, not by alerts.")


def policy_evaluate_all(*, now: datetime | None = None) -> int:
    """Evaluate every enabled service that has a policy; one failing service does not stop the others."""
    done = 0
    for config in AutoscalingConfig.objects.filter(enabled=True, scaling_policy__isnull=False):
        try:
            policy_evaluate(config=config, now=now)
            alert_recheck(config=config, now=now)
            done += 1
        except Exception:
            logger.exception("policy evaluation of %s failed", config.service_name)
    return done


def alert_recheck(
    *, config: AutoscalingConfig, now: datetime | None = None, alertmanager: Alertmanager | None = None
) -> ScaleEvent | None:
    """Seed path: once a cooldown has ended, if the service's alert still fires, act now instead of waiting
    for Alertmanager's next repeat (up to a repeat interval, 5 minutes by default, after the cooldown)."""

    policy = selectors.policy_get(config=config)
    if policy is None or policy.policy_type != PolicyType.STEP or not policy.recheck_alert_at_cooldown_end:
        return None
    now = now or timezone.now()
    state = CooldownState.objects.filter(pk=config.pk).first()
    if state is None or as_selectors.scale_event_in_flight_exists(config=config):
        return None
    cooldown = timedelta(seconds=config.cooldown_seconds)
    directions = ((ScaleAction.SCALE_OUT, state.last_scale_out_at), (ScaleAction.SCALE_IN, state.last_scale_in_at))
    for action, last in directions:
        if last is None or now < last + cooldown:
            continue
        ended = last + cooldown
        if policy.last_alert_recheck_at and policy.last_alert_recheck_at >= ended:
            continue
        ScalingPolicy.objects.filter(pk=policy.pk).update(last_alert_recheck_at=now)
        policy.last_alert_recheck_at = now
        # after a BLOCK_MAX / BLOCK_MIN the count is unchanged: only re-check after a run
        if not ScaleEvent.objects.filter(config=config, action=action, finished_at=last).exists():
            continue
        try:
            alerts = (alertmanager or alertmanager_client()).active_alerts(
                {"service": config.service_name, "autoscale": str(action)})
        except AlertmanagerError as exc:
            logger.warning("cooldown-end re-check of %s skipped: %s", config.service_name, exc)
            continue
        if alerts:
            alert = alerts[0]
            return scale_decision_record(
                config=config, action=action, now=now,
                trigger=DecisionTrigger(kind=Trigger.ALERT, alert_name=alert.labels.get("alertname", ""),
                                        fingerprint=alert.fingerprint, starts_at=alert.starts_at,
                                        labels=alert.labels, triggered_by=RECHECK_TRIGGER_LABEL),
            )
    return None


def dry_run_plan(*, config: AutoscalingConfig, action: ScaleAction | str, count: int, now: datetime | None = None
                 ) -> dict:
    """What a run would do, without doing it: VM names, IPs and F5 members (scale-out takes warm-pool VMs first;
    scale-in skips protected VMs)."""
    now = now or timezone.now()
    if ScaleAction(action) == ScaleAction.SCALE_OUT:
        warm = list(warm_vms_ready(config=config)[:count])
        from_pool = [{"vm": vm.name, "ip": vm.ip_address,
                      "f5_member": join_host_port(vm.ip_address or "", config.f5_vip_port),
                      "prometheus_target": join_host_port(vm.ip_address or "", config.node_exporter_port),
                      "from_warm_pool": True}
                     for vm in warm]
        count -= len(from_pool)
        ips = ip_pool_free_addresses(config=config, limit=count)
        taken = set(as_selectors.managed_vms_alive(config=config).values_list("name", flat=True))
        names = managed_vm_names_new(config.vm_prefix, len(ips), taken, now)
        vms = from_pool + [{"vm": name, "ip": ip, "f5_member": join_host_port(ip, config.f5_vip_port),
                            "prometheus_target": join_host_port(ip, config.node_exporter_port)}
                           for name, ip in zip(names, ips, strict=True)]
        return {"action": "scale-out", "f5_pool": config.f5_pool_name, "template": str(config.template),
                "vms": vms, "short_of_ips": count - len(ips)}
    alive = as_selectors.managed_vms_alive(config=config).filter(state=ManagedVMState.IN_SERVICE)
    picked = as_selectors.managed_vms_scale_in_candidates(config=config)[:count]
    protected = list(alive.filter(scale_in_protected=True).values_list("name", flat=True))
    room = warm_pool_room(config)
    leased = set(as_selectors.ip_leases_active(config=config).values_list("ip_address", flat=True))
    vms = []
    for vm in picked:
        row: dict[str, str | bool | None] = {
            "vm": vm.name, "ip": vm.ip_address, "f5_member": join_host_port(vm.ip_address or "", config.f5_vip_port)
        }
        if room > 0 and vm.ip_address in leased:  # as the scale-in pipeline decides
            room -= 1
            row["to_warm_pool"] = True
        vms.append(row)
    return {"action": "scale-in", "f5_pool": config.f5_pool_name, "protected_skipped": protected, "vms": vms}


def scale_event_plan_record(*, event: ScaleEvent) -> None:
    """Attach the dry-run plan to an allowed dry-run event."""
    if not event.dry_run or event.decision != "ALLOW" or event.plan or event.config is None:
        return
    plan = dry_run_plan(config=event.config, action=event.action, count=event.requested_count, now=event.created_at)
    ScaleEvent.objects.filter(pk=event.pk).update(plan=plan)


def policy_processes_set(*, policy: ScalingPolicy, processes: list[str], suspended: bool) -> ScalingPolicy:
    """Suspend or resume processes (scale_out, scale_in, scheduled, predictive) of a service."""
    fields = []
    for process in processes:
        name = f"suspend_{ScalingProcess(process).value}"
        setattr(policy, name, suspended)
        fields.append(name)
    policy.save(update_fields=[*fields, "updated_at"])
    return policy


def policy_dry_run_set(*, policy: ScalingPolicy, enabled: bool) -> ScalingPolicy:
    policy.dry_run = enabled
    policy.save(update_fields=["dry_run", "updated_at"])
    return policy


def policy_get_or_create(*, config: AutoscalingConfig) -> ScalingPolicy:
    """The config's policy; a config without one scales by the seed's step policy, and gets a row saying so (a
    suspension or dry run must not switch it to the default policy of new configs)."""
    policy, _ = ScalingPolicy.objects.get_or_create(config=config, defaults={"policy_type": PolicyType.STEP})
    return policy


def policy_save(*, config: AutoscalingConfig, values: dict, policy: ScalingPolicy | None = None,
                scheduled_actions: list[dict] | None = None) -> ScalingPolicy:
    """Create or change ``config``'s scaling policy: ``values`` (model field names) applied to ``policy`` (default:
    the config's row, or a new one with the defaults of a new policy), validated with the model's rules, saved
    (the policy's change history records who changed what) and, when ``scheduled_actions`` is given, its
    scheduled actions replaced by those. The admin, the API and the pages (the config form, the what-if panel's
    switch) all set a policy through this. Raises ValidationError keyed by field names."""
    with transaction.atomic():
        if policy is None:
            policy = ScalingPolicy.objects.select_for_update().filter(config=config).first()
        if policy is None:
            policy = ScalingPolicy(config=config)
        for name, value in values.items():
            setattr(policy, name, value)
        policy.config = config
        policy.full_clean(exclude=["config"])
        policy.save()
        if scheduled_actions is not None:
            policy.scheduled_actions.all().delete()
            for item in scheduled_actions:
                ScheduledAction.objects.create(policy=policy, **item)
    return policy


def policy_type_set(*, config: AutoscalingConfig, policy_type: str) -> ScalingPolicy:
    """Switch ``config`` to the policy type ``policy_type`` (its other settings kept; a config without a policy
    row gets one with the defaults)."""
    if policy_type not in PolicyType.values:
        raise ValidationError({"policy_type": [gettext("Unknown policy %(policy)s.") % {"policy": policy_type}]})
    return policy_save(config=config, values={"policy_type": policy_type})


#: The policy settings the config pages edit in their "Policy" section (the rest: admin and API).
POLICY_PAGE_FIELDS = ("policy_type", "metric", "target_utilisation")


def _policy_for(*, config: AutoscalingConfig | None, values: dict) -> ScalingPolicy | None:
    """The config's policy with ``values`` applied (unsaved), or None when it has none and ``values`` are the
    seed's step scaling (no row is created for the default), or when no policy value is given."""
    if not values:
        return None
    policy = selectors.policy_get(config=config) if config is not None and config.pk else None
    if policy is None:
        defaults = {name: _field_default(ScalingPolicy, name) for name in values if name != "policy_type"}
        others = {name: value for name, value in values.items() if name != "policy_type"}
        if values.get("policy_type", PolicyType.STEP) == PolicyType.STEP and others == defaults:
            return None
        policy = ScalingPolicy(config=config) if config is not None and config.pk else ScalingPolicy()
    for name, value in values.items():
        setattr(policy, name, value)
    return policy


def _field_default(model: type[models.Model], name: str) -> object:
    field = model._meta.get_field(name)
    return field.get_default() if isinstance(field, models.Field) else None


def config_save_with_policy(*, config: AutoscalingConfig | None, values: dict, policy_values: dict,
                            commit: bool = True) -> AutoscalingConfig:
    """Create (``config`` None) or update a config and its policy settings in one transaction, validated as one:
    the config through ``config_build`` (the admin's and the API's ``full_clean``) and the policy's own rules, every
    field error at once. ``commit=False`` only validates. Raises ValidationError keyed by model field names."""
    with transaction.atomic():
        config_writes_serialize()  # validated against every config committed before: concurrent saves queue
        return _config_save_with_policy(config=config, values=values, policy_values=policy_values, commit=commit)


def _config_save_with_policy(*, config: AutoscalingConfig | None, values: dict, policy_values: dict,
                             commit: bool) -> AutoscalingConfig:
    errors: dict[str, list[str]] = {}
    built = None
    try:
        built = config_build(values=values, config=config)
    except ValidationError as exc:
        errors.update(validation_error_dict(exc))
    policy = _policy_for(config=config, values=policy_values)
    if policy is not None:
        try:
            policy.full_clean(exclude=["config"])
        except ValidationError as exc:
            errors.update(validation_error_dict(exc))
    if errors:
        raise ValidationError(errors)
    assert built is not None
    if not commit:
        return built
    config_save(config=built)  # a name taken meanwhile by a concurrent save: the field error, not a 500
    if policy is not None:
        policy_save(config=built, values={}, policy=policy)
    return built
