"""The decision service: gather the inputs of ``decide()``, record the ScaleEvent, queue the run.

Concurrency (the same alert delivered N times at once yields at most one run): the decision is
taken inside one transaction that first locks the service's CooldownState row, so decisions of one
service are serialised and each sees the previous one's run or cooldown. On PostgreSQL that is a row
lock (``SELECT … FOR UPDATE``, other services are not blocked). On SQLite ``select_for_update`` is a no-op,
but every transaction starts with ``BEGIN IMMEDIATE`` (settings ``transaction_mode``), which takes the
write lock before the first read: all writers are serialised, which is stronger still. A partial unique
index (one queued/running event per config) is the last line of defence.

Every external input is read *before* the transaction so no lock is held across network I/O (on SQLite that
lock is the whole database): the VM count from Prometheus and, for a scale-out the unlocked inputs say would
be allowed, the IP pool's external half (the service's Prometheus targets, vCenter's guest IPs — up to
IXNODE_DECISION_VCENTER_TIMEOUT). This loses nothing: the count Prometheus reports already lags a finished run
by a discovery cycle, and what protects against double runs is the in-flight check and the cooldown a finished
run starts, both read under the lock, as are the database's IP leases. When the locked re-check needs an input
the pre-check did not read (it saw a run in flight or a disabled config, or predicted a block), the
transaction ends without writing, the input is read outside the lock and the decision is taken again.

A count is acted on only when it is known (``vm_count_read``: Prometheus has settled the job's targets) and, for a
decision that would act — ALLOW, or a block that starts a cooldown — matches the targets the product registered
for the service (``vm_count_verify``, the ``registered_targets`` hook); otherwise BLOCK_UNKNOWN_COUNT, which starts
no cooldown.

Alert instances (``DecisionTrigger.alert_key``, set by the webhook): under the same lock, a re-delivery of an
instance whose decision stands is answered with that decision (``ScaleEvent.delivery_repeat``) and counted on it
(``deliveries``) instead of being decided again — see ``alert_instance_standing``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from autoscaling import hooks, selectors
from autoscaling.decision import DecisionInput, DecisionResult, decide
from autoscaling.models import AutoscalingConfig, CooldownState
from autoscaling.services.ip_leases import PoolInUse, ip_pool_free_count, ip_pool_in_use_read
from autoscaling.services.runs import cooldown_lock, cooldown_start, scale_event_enqueue
from autoscaling.services.warm_pool import warm_vms_ready_count
from autoscaling.signals import scale_decision_recorded, send_logged, vm_count_unknown
from events.choices import IN_FLIGHT_STATUSES, Decision, EventStatus, ScaleAction, Trigger
from events.models import ScaleEvent
from events.reasons import Reason, reason_fields, reason_parts
from ixnode.integrations.prometheus.client import prometheus_client
from ixnode.integrations.prometheus.interface import Prometheus, PrometheusCountUnsettled, PrometheusError
from ixnode.metrics import DECISIONS

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DecisionTrigger:
    """Who or what asked for the action (recorded on the ScaleEvent)."""

    kind: Trigger | str = Trigger.ALERT
    alert_name: str = ""
    fingerprint: str = ""
    starts_at: datetime | None = None
    labels: dict[str, str] = field(default_factory=dict)
    triggered_by: str = ""  # a short label (who or what: a user, "alertmanager", "recommended policy")
    # What the trigger saw, in full (a policy's evaluation): an events.reasons.Reason, kept with its code and
    # parameters in ScaleEvent.trigger_parts so the event page shows it in the reader's language
    detail: str = ""
    # The alert instance (autoscaling.services.webhook.alert_instance_key): set on the webhook path, where
    # Alertmanager's re-deliveries of one instance are answered with its standing decision instead of re-decided.
    alert_key: str = ""


@dataclass(frozen=True)
class VMCount:
    value: int | None
    error: str = ""  # why the value is unknown: a Reason (its code kept) or Prometheus' message
    verified: bool = False  # checked against the product's registered targets (vm_count_verify)


def vm_count_read(*, config: AutoscalingConfig, prometheus: Prometheus | None = None) -> VMCount:
    """The config's current VM count from Prometheus, or the reason it is unknown (a target set Prometheus has not
    finished discovering since it started or reloaded is unknown, not 0)."""
    client = prometheus or prometheus_client()
    try:
        return VMCount(client.target_count(config.prometheus_job_name).total)
    except PrometheusCountUnsettled as exc:
        logger.warning("VM count of %s unknown: %s", config.service_name, exc)
        return VMCount(None, Reason("count_unsettled", ago=exc.loaded_ago, job=exc.job, seen=exc.seen,
                                    unscraped=exc.unscraped, settle=exc.settle_seconds))
    except PrometheusError as exc:
        logger.warning("VM count of %s unknown: %s", config.service_name, exc)
        return VMCount(None, str(exc))


def vm_count_verify(*, config: AutoscalingConfig, count: VMCount) -> VMCount:
    """``count`` checked against the scrape targets the product registered for the service (the
    ``registered_targets`` hook): a different number means Prometheus has not caught up with a registration (or
    reads another file), and the count is unknown. Nothing registered to compare with (publishing off, no
    registered source) leaves it as it is."""
    if count.value is None or count.verified:
        return count
    try:
        registered = hooks.registered_targets_for(config=config)
    except Exception as exc:  # noqa: BLE001 - an unreadable registration makes the count unknown, never a 500
        logger.warning("registered targets of %s unreadable: %s", config.service_name, exc)
        return VMCount(None, Reason("count_registered_unreadable", error=f"{exc.__class__.__name__}: {exc}"))
    if registered is not None and len(registered) != count.value:
        logger.warning("VM count of %s unknown: Prometheus lists %s targets, %s registered", config.service_name,
                       count.value, len(registered))
        return VMCount(None, Reason("count_mismatch", seen=count.value, job=config.prometheus_job_name,
                                    registered=len(registered)))
    return replace(count, verified=True)


def _acts(result: DecisionResult) -> bool:
    """The decision changes something on the strength of the count: a run, or a cooldown."""
    return result.allowed or result.starts_cooldown


# Deliveries of one alert instance this close to its decision (a fraction of the config's Alertmanager repeat
# interval) are re-deliveries — a retry whose answer was lost, the other peer of an HA pair, a duplicate storm —
# never Alertmanager's next repeat, which comes a repeat interval after the previous notification.
REDELIVERY_WINDOW = 0.9


def alert_instance_standing(*, config: AutoscalingConfig, last_id: int | None, now: datetime) -> ScaleEvent | None:
    """The decision a delivery of an alert instance is answered with, instead of a new one; None: decide it.
    ``last_id``: the instance's last event (``selectors.delivery_state``), None when it has none or no key.

    - The instance started a run that is queued or running, failed or was rolled back: that run. An alert instance
      starts at most one run while it fires, whatever the cooldown (a run failing fast with cooldown 0 is not
      retried on every delivery); it acts again once it resolves and fires anew (a new ``startsAt``).
    - Its last decision (a block, a dry run or a run that succeeded) is less than 90 % of the config's repeat
      interval old: that decision (a re-delivery). Alertmanager's next repeat, later, is decided afresh: a block
      may be over, and an alert still firing after a successful step asks for the next step, as the seed does.
    - Never a BLOCK_UNKNOWN_COUNT: the count was not known, nothing was decided about the alert, and the next
      delivery (an HA peer's, seconds later) is decided once it is.
    """
    # A new instance, the common case, costs nothing more; the whole event is read only for a repeat.
    last = ScaleEvent.objects.filter(pk=last_id).first() if last_id else None
    if last is None or last.decision == Decision.BLOCK_UNKNOWN_COUNT:
        return None  # an unknown count decided nothing about the alert: the next delivery is decided afresh
    if last.status in IN_FLIGHT_STATUSES or last.status in (EventStatus.FAILED, EventStatus.ROLLED_BACK):
        return last
    window = timedelta(seconds=config.alert_repeat_interval_seconds * REDELIVERY_WINDOW)
    return last if now - last.created_at < window else None


def _delivery_record(*, event: ScaleEvent, at: datetime) -> ScaleEvent:
    """Count one more delivery on ``event`` (a re-delivery answered with it); returns it marked as such."""
    ScaleEvent.objects.filter(pk=event.pk).update(deliveries=F("deliveries") + 1, last_delivered_at=at)
    event.deliveries += 1
    event.last_delivered_at = at
    event.delivery_repeat = True
    return event


def scale_decision_record(
    *,
    config: AutoscalingConfig,
    action: ScaleAction | str,
    trigger: DecisionTrigger | None = None,
    now: datetime | None = None,
    prometheus: Prometheus | None = None,
    dry_run: bool = False,
    step: int | None = None,
    bounds: tuple[int, int] | None = None,
) -> ScaleEvent:
    """Decide one scaling action for ``config`` and record it; on ALLOW queue its run after commit.

    Returns the ScaleEvent (``decision``, ``reason``, ``requested_count``, ``status`` blocked, queued or
    dry_run). With ``dry_run`` an allowed action is recorded as dry_run: no run, no cooldown.
    """
    action = ScaleAction(action)
    trigger = trigger or DecisionTrigger()
    # Registered options (the policies app): step/bounds come from policy evaluations; on the alert and manual paths
    # a policy may set dry-run, scheduled bounds or suspend the process. Without a registration nothing changes.
    # An operator's manual action gets the dry-run, suspension and scheduled bounds too (not a non-step policy's
    # "alerts are not acted on").
    suspended_reason = ""
    if trigger.kind in (Trigger.ALERT, Trigger.MANUAL):
        providers = hooks.decision_options if trigger.kind == Trigger.ALERT else hooks.manual_decision_options
        options = hooks.decision_options_for(config=config, action=action, now=now, providers=providers)
        dry_run, bounds, suspended_reason = dry_run or options.dry_run, bounds or options.bounds, \
            options.suspended_reason

    # Unlocked pre-check: skip the Prometheus round trip when the answer cannot depend on the count (a run in
    # flight), and for a re-delivery of an alert instance, which the locked check answers with its decision.
    unlocked_state = selectors.delivery_state(config=config, alert_key=trigger.alert_key)
    in_flight_hint = unlocked_state.in_flight
    standing = alert_instance_standing(config=config, last_id=unlocked_state.instance_last_id,
                                       now=now or timezone.now())
    needs_count = config.enabled and not in_flight_hint and standing is None
    count = vm_count_read(config=config, prometheus=prometheus) if needs_count else None
    in_use = None
    if count is not None and count.value is not None:
        unlocked = decide(_inputs(action=action, config=config, state=_cooldown_unlocked(config),
                                  in_flight=in_flight_hint, count=count, now=now or timezone.now(), bounds=bounds,
                                  step=step, suspended_reason=suspended_reason))
        if _acts(unlocked):  # only a decision that acts on the count needs it to match the registered targets
            count = vm_count_verify(config=config, count=count)
        # The IP pool's external half (Prometheus targets, vCenter guest IPs) only when the unlocked inputs say
        # the decision reaches the pool check, i.e. would ALLOW: not on every BLOCK_MAX or cooldown repeat.
        if unlocked.allowed and count.value is not None and action == ScaleAction.SCALE_OUT:
            in_use = ip_pool_in_use_read(config=config)

    # Every external read happens before the lock: the locked decision only reads and writes the database. If the
    # locked re-check needs an input the pre-check did not read (a run finished, the config was enabled or a
    # cooldown reset meanwhile), the transaction ends without writing anything, the inputs are read outside the
    # lock and the decision is taken again — at most once more, as the second attempt has every input.
    while True:
        outcome = _decide_locked(config=config, action=action, trigger=trigger, now=now, count=count, in_use=in_use,
                                 dry_run=dry_run, step=step, bounds=bounds, suspended_reason=suspended_reason)
        if isinstance(outcome, ScaleEvent):
            break
        config = outcome
        if count is None:
            count = vm_count_read(config=config, prometheus=prometheus)
        count = vm_count_verify(config=config, count=count)
        if in_use is None and action == ScaleAction.SCALE_OUT and count.value is not None:
            in_use = ip_pool_in_use_read(config=config)
    event = outcome
    if not event.delivery_repeat:
        DECISIONS.labels(event.service_name, event.action, event.decision).inc()
    return event


def _cooldown_unlocked(config: AutoscalingConfig) -> CooldownState | None:
    """The config's cooldown row without a lock (for the pre-check only), from the select_related cache if any."""
    cached = config._state.fields_cache.get("cooldown", False)
    if cached is not False:
        return cached
    return CooldownState.objects.filter(pk=config.pk).first()


def _inputs(*, action: ScaleAction, config: AutoscalingConfig, state: CooldownState | None, in_flight: bool,
            count: VMCount | None, now: datetime, bounds: tuple[int, int] | None, step: int | None,
            suspended_reason: str) -> DecisionInput:
    return DecisionInput(
        action=action,
        now=now,
        enabled=config.enabled,
        min_vms=bounds[0] if bounds else config.min_vms,
        max_vms=bounds[1] if bounds else config.max_vms,
        step=step or (config.scale_out_step if action == ScaleAction.SCALE_OUT else config.scale_in_step),
        cooldown_seconds=config.cooldown_seconds,
        current_vm_count=count.value if count else None,
        last_scale_out_at=state.last_scale_out_at if state else None,
        last_scale_in_at=state.last_scale_in_at if state else None,
        run_in_flight=in_flight,
        count_error=count.error if count else "",
        suspended_reason=suspended_reason,
    )


def _decide_locked(
    *,
    config: AutoscalingConfig,
    action: ScaleAction,
    trigger: DecisionTrigger,
    now: datetime | None,
    count: VMCount | None,
    in_use: PoolInUse | None,
    dry_run: bool,
    step: int | None,
    bounds: tuple[int, int] | None,
    suspended_reason: str,
) -> ScaleEvent | AutoscalingConfig:
    """The decision under the service's lock, from inputs read before it: the recorded ScaleEvent, or — when an
    external input it needs was not read — the config as re-read under the lock, and nothing written."""
    with transaction.atomic():
        state = cooldown_lock(config_id=config.pk)
        fresh = state.config  # re-read under the lock: enabled/bounds may have changed meanwhile
        decided_at = now or timezone.now()
        # Read after the lock, in a statement of its own: on PostgreSQL a subquery of the locking statement reads
        # the snapshot taken before it waited for the lock, and would miss the run its holder just committed.
        state_now = selectors.delivery_state(config=fresh, alert_key=trigger.alert_key)
        standing = alert_instance_standing(config=fresh, last_id=state_now.instance_last_id, now=decided_at)
        if standing is not None:
            return _delivery_record(event=standing, at=decided_at)
        in_flight = state_now.in_flight
        if count is None and fresh.enabled and not in_flight:
            return fresh
        inputs = _inputs(action=action, config=fresh, state=state, in_flight=in_flight, count=count, now=decided_at,
                         bounds=bounds, step=step, suspended_reason=suspended_reason)
        result = decide(inputs)
        if _acts(result) and count is not None and not count.verified:
            return fresh  # acting on the count: check it against the registered targets first (outside the lock)
        if result.allowed and action == ScaleAction.SCALE_OUT:
            if in_use is None:
                return fresh
            # The IP pool is the last check of decide(): count free addresses only when it would matter. Warm-pool
            # VMs are taken first and bring their own addresses, so they count as free ones.
            free = ip_pool_free_count(config=fresh, in_use=in_use)
            result = decide(replace(inputs, free_ips=free.count + warm_vms_ready_count(config=fresh)))
            if free.note:
                result = replace(result, reason=Reason("with_ip_pool_note", reason=result.reason, note=free.note))
        event = _event_create(config=fresh, action=action, result=result, count=count, trigger=trigger,
                              dry_run=dry_run)
        if result.starts_cooldown:
            cooldown_start(state=state, action=action, at=decided_at)
        if event.status == EventStatus.QUEUED:
            transaction.on_commit(lambda: scale_event_enqueue(event=event))
        transaction.on_commit(lambda: _announce(event=event, config=fresh, count=count))
    return event


def _event_create(
    *,
    config: AutoscalingConfig,
    action: ScaleAction,
    result: DecisionResult,
    count: VMCount | None,
    trigger: DecisionTrigger,
    dry_run: bool,
) -> ScaleEvent:
    status = (EventStatus.DRY_RUN if dry_run else EventStatus.QUEUED) if result.allowed else EventStatus.BLOCKED
    current = count.value if count else None
    event = ScaleEvent(
        config=config,
        service_name=config.service_name,
        action=action,
        decision=result.decision,
        **reason_fields(result.reason),
        status=status,
        trigger=trigger.kind,
        dry_run=dry_run,
        current_vm_count=current,
        requested_count=result.count,
        before_count=current,
        alert_name=trigger.alert_name[:255],
        alert_fingerprint=trigger.fingerprint[:64],
        alert_starts_at=trigger.starts_at,
        alert_labels=dict(trigger.labels),
        alert_key=trigger.alert_key[:64],
        triggered_by=trigger.triggered_by[:150],
        trigger_parts=reason_parts(trigger.detail, with_text=True),
    )
    if status != EventStatus.QUEUED:
        event.save()
        return event
    try:
        # The partial unique index (one in-flight run per config) must never fire behind the lock; if it
        # does (a row lock bypassed by a manual write), record the collision instead of failing the request.
        with transaction.atomic():
            event.save()
    except IntegrityError:
        logger.error("in-flight unique index rejected a second run for %s", config.service_name)
        event.pk = None
        event.decision = Decision.BLOCK_IN_PROGRESS
        for name, value in reason_fields(Reason("in_flight")).items():
            setattr(event, name, value)
        event.status = EventStatus.BLOCKED
        event.requested_count = 0
        event.save()
    return event


def _announce(*, event: ScaleEvent, config: AutoscalingConfig, count: VMCount | None) -> None:
    send_logged(scale_decision_recorded, ScaleEvent, event=event)
    if event.decision == Decision.BLOCK_UNKNOWN_COUNT:
        send_logged(vm_count_unknown, AutoscalingConfig, config=config, event=event, error=count.error if count else "")
