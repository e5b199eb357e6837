"""One policy evaluation: metric → desired count → ``autoscaling.decision.decide()``.

The live evaluation loop and the simulator call :func:`evaluate_policy` with the same inputs, so what
the simulator measures is what production does. Every action still passes ``decide()`` (disabled,
in-flight, unknown count, min/max, cooldown, IP pool): the safety rules are shared with the webhook.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from autoscaling.decision import DecisionInput, DecisionResult, decide
from events.choices import ScaleAction
from events.reasons import Reason
from policies.choices import PolicyType
from policies.engine import predictive as pred
from policies.engine import recommended as rec
from policies.engine import step_guard as guard
from policies.engine import target_tracking as tt
from policies.engine.notes import Note, note
from policies.engine.schedules import ActiveWindow, effective_bounds


@dataclass(frozen=True)
class PolicySettings:
    """A policy's knobs (from ``ScalingPolicy`` live, from the CLI/JSON in the simulator)."""

    policy_type: str = PolicyType.STEP
    target: float = 60.0
    tolerance: float = 0.1
    max_change: int | None = None
    stabilisation_seconds: int = 300
    warmup_seconds: int = 300
    # Asymmetric band (hysteresis): a scale-in removes only as many VMs as leave the rest at or below this %
    # (None: the target). Below the target it keeps headroom on the way down and avoids flapping.
    scale_in_target: float | None = None
    scale_out_threshold: float = 80.0  # the flapping check's limit (the config's scale-out CPU %)
    # Recommended policy: how long the load must stay above the scale-out threshold before a scale-out
    confirm_seconds: int = 0
    # Recommended policy: scale out this many points below the scale-out threshold (the clone's lead time)
    scale_out_margin: float = 0.0
    # Recommended policy: a scale-in leaves the load of now this many points below the trigger
    scale_in_hysteresis: float = 0.0
    # Recommended policy: the clone lead time (decision → in service); the scale-out compares the load projected
    # this far ahead at the measured rate of rise with the trigger (0: the load of now)
    lead_seconds: int = 0
    rise_seconds: int = 0  # Recommended policy: the rate of rise is measured over this long (0: the lead time)
    rise_parts: int = 2  # Recommended policy: ... in each of this many periods of rise_seconds, the slowest counts
    # Recommended policy: how long a spike is remembered to see whether it recurs (0: off), and the utilisation at
    # most at which the count then carries it
    recurrence_seconds: int = 0
    spike_ceiling: float = 100.0
    spike_reach: int = 0  # ... only if carrying it needs at most this many VMs more than the current count (0: any)
    # Recommended policy: the margin from the fresh reading's noise — k × its standard deviation around its trend
    # over margin_noise_seconds, clamped to [margin_min, scale_out_margin] (k 0: the fixed scale_out_margin)
    margin_noise_k: float = 0.0
    margin_noise_seconds: int = 3600
    margin_min: float = 0.0
    # Recommended policy: the seed's scale-in band (the config's scale-in threshold and duration). With
    # release_like_step, once the rules' window at the current count has been below scale_in_threshold for
    # scale_in_duration_seconds (the seed's scale-in alert would fire), the count keeps no more than one VM
    # fewer, whatever the memory holds: headroom is released at least as fast as the seed releases it.
    scale_in_threshold: float = 30.0
    scale_in_duration_seconds: int = 300
    release_like_step: bool = False
    # Recommended policy: a scale-in waits until the seed's scale-in rule holds at the current count (the rules'
    # window below scale_in_threshold for scale_in_duration_seconds): headroom goes no sooner than the seed lets it go
    # (an operator's choice of overload protection over VM-hours; off by default)
    scale_in_on_seed_rule: bool = False
    # The seed's scale-in rule holds only while CPU *and* memory are below their scale-in thresholds (the rule the
    # product renders, artifacts.renderers.prometheus): the other metric than the policy's ("cpu" or "memory") and
    # its threshold. Live, the loop reads that metric too and the rule waits for both; "" (the simulator, which
    # replays one load column): the policy's metric alone.
    scale_in_other_metric: str = ""
    scale_in_other_threshold: float = 30.0
    # Recommended policy: the scale-out margin is used only when it pays: the share of the last
    # margin_noise_seconds' fresh readings, moved along their trend to a clone's arrival, that the current count
    # would carry above the scale-out threshold is at least margin_share (0: always, the margin of before)
    margin_share: float = 0.0
    # ... unless the fresh demand's trend over that time rises at least this many points (at the current count)
    # within a clone's lead time: a rising load keeps its margin. Both need the noise margin (margin_noise_k > 0):
    # with a fixed margin the margin always applies.
    margin_rise: float = 0.25
    # Recommended policy: a spike that recurs at a fixed period in the last anticipate_seconds (0: off) is expected:
    # its capacity is ready a clone's lead time before the next one and held while it lasts; between spikes the
    # scale-in memory and the recurring-spike hold leave it out
    anticipate_seconds: int = 0
    # Recommended policy: the step guard (policies.engine.step_guard) — the seed's step policy replayed beside it on
    # the same load; the count stays at least the seed's while the service has less than guard_reserve_seconds of
    # overload to spare against it, and at most the seed's once its VM-hours exceed the seed's by guard_vm_share.
    # The seed's rules it replays: the thresholds and durations above, these, and the config's cooldown.
    step_guard: bool = False
    guard_vm_share: float = guard.DEFAULT_VM_SHARE
    guard_reserve_seconds: int = guard.DEFAULT_RESERVE_SECONDS
    guard_credit_seconds: int = guard.DEFAULT_CREDIT_SECONDS
    scale_out_duration_seconds: int = 60
    scale_out_step: int = 1
    scale_in_step: int = 1
    alert_repeat_seconds: int = 300
    flapping_check: bool = True
    forecast_only: bool = False
    suspend_scale_out: bool = False
    suspend_scale_in: bool = False
    suspend_scheduled: bool = False
    suspend_predictive: bool = False

    def seed_rules(self, *, min_vms: int, max_vms: int, cooldown_seconds: int) -> guard.SeedRules:
        """The seed's step policy the step guard replays beside this one: these thresholds, durations, steps and
        repeat interval with the config's bounds and cooldown (made once per bounds and cooldown, not at every
        evaluation)."""
        key = (min_vms, max_vms, cooldown_seconds)
        rules = self._seed_rules.get(key)
        if rules is None:
            rules = self._seed_rules[key] = guard.SeedRules(
                min_vms=min_vms, max_vms=max_vms, scale_out_threshold=self.scale_out_threshold,
                scale_in_threshold=self.scale_in_threshold, scale_out_seconds=self.scale_out_duration_seconds,
                scale_in_seconds=self.scale_in_duration_seconds, cooldown_seconds=cooldown_seconds,
                repeat_seconds=self.alert_repeat_seconds, scale_out_step=self.scale_out_step,
                scale_in_step=self.scale_in_step)
        return rules

    @cached_property
    def _seed_rules(self) -> dict[tuple[int, int, int], guard.SeedRules]:
        return {}

    @cached_property
    def memory_seconds(self) -> int:
        """How far back the recommended policy's memory reaches: the longest window any of its readers looks at
        (worked out once per settings, not at every evaluation; the knobs are frozen)."""
        return max(self.stabilisation_seconds, self.recurrence_seconds,
                   self.rise_parts * (self.rise_seconds or self.lead_seconds),
                   self.margin_noise_seconds if self.margin_noise_k > 0 or self.margin_share > 0 else 0,
                   self.anticipate_seconds,
                   self.scale_in_duration_seconds + rec.SEED_RULE_SLACK_SECONDS
                   if self.release_like_step or self.scale_in_on_seed_rule else 0)


# The policy types and actions an evaluation compares with, read once (an enum member read from its class is a
# descriptor call: a quarter of a microsecond, several times an evaluation)
_STEP, _RECOMMENDED, _PREDICTIVE = PolicyType.STEP, PolicyType.RECOMMENDED, PolicyType.PREDICTIVE
_OUT, _IN = ScaleAction.SCALE_OUT, ScaleAction.SCALE_IN


def seed_rule_needed(settings: PolicySettings) -> bool:
    """Whether the evaluation asks if the seed's scale-in rule holds (the options that wait for it or follow it)."""
    return settings.policy_type == _RECOMMENDED and (settings.scale_in_on_seed_rule or settings.release_like_step)


def seed_rule_other_needed(settings: PolicySettings) -> bool:
    """Whether the evaluation needs the seed's scale-in rule's other metric (``PolicyInput.other_vms``)."""
    return seed_rule_needed(settings) and bool(settings.scale_in_other_metric)


def recommended_settings(**overrides: object) -> PolicySettings:
    """The ``recommended`` policy's settings: its tested defaults, then ``overrides`` (e.g. the config's
    scale-out threshold, an operator's suspensions)."""
    values: dict[str, object] = {
        "policy_type": PolicyType.RECOMMENDED,
        "target": rec.DEFAULT_TARGET,
        "scale_in_target": rec.DEFAULT_SCALE_IN_TARGET,
        "stabilisation_seconds": rec.DEFAULT_STABILISATION_SECONDS,
        "confirm_seconds": rec.DEFAULT_CONFIRM_SECONDS,
        "scale_out_margin": rec.DEFAULT_SCALE_OUT_MARGIN,
        "scale_in_hysteresis": rec.DEFAULT_SCALE_IN_HYSTERESIS,
        "max_change": rec.DEFAULT_MAX_CHANGE,
        "lead_seconds": rec.DEFAULT_LEAD_SECONDS,
        "recurrence_seconds": rec.DEFAULT_RECURRENCE_SECONDS,
        "spike_ceiling": rec.DEFAULT_SPIKE_CEILING,
        "spike_reach": rec.DEFAULT_SPIKE_REACH,
        "margin_noise_k": rec.DEFAULT_MARGIN_NOISE_K,
        "margin_noise_seconds": rec.DEFAULT_MARGIN_NOISE_SECONDS,
        "margin_min": rec.DEFAULT_MARGIN_MIN,
        "release_like_step": rec.DEFAULT_RELEASE_LIKE_STEP,
        "margin_share": rec.DEFAULT_MARGIN_SHARE,
        "margin_rise": rec.DEFAULT_MARGIN_RISE,
        "step_guard": rec.DEFAULT_STEP_GUARD,
        "anticipate_seconds": rec.DEFAULT_ANTICIPATE_SECONDS,
    }
    values.update(overrides)
    return PolicySettings(**values)  # type: ignore[arg-type]


@dataclass
class PolicyInput:
    """The world at one evaluation, as the caller read it."""

    now: datetime
    enabled: bool
    min_vms: int
    max_vms: int
    cooldown_seconds: int
    current_vm_count: int | None
    vms: Sequence[tt.VMUtilisation] | None = None  # None: metric unknown
    last_scale_out_at: datetime | None = None
    last_scale_in_at: datetime | None = None
    run_in_flight: bool = False
    free_ips: int | None = None
    count_error: str = ""
    metric_error: str = ""
    active_window: ActiveWindow | None = None
    applied_window_key: str = ""
    # (epoch seconds, recommendation) for stabilisation; the recommended policy's records are demands instead
    # (epoch seconds, VM-% over the rules' window, VM-% in the freshest reading)
    history: Sequence[tuple[float, ...]] = ()
    forecast_peak: float | None = None  # highest forecast load (VM-%) over the clone lead time
    # The freshest per-instance measurement (the last two scrapes); None: use ``vms`` (recommended policy)
    fresh_vms: Sequence[tt.VMUtilisation] | None = None
    # The seed's scale-in rule's other metric per instance over the rules' window (``scale_in_other_metric``;
    # None: not read, or not known — then the rule does not hold), and why it is not known
    other_vms: Sequence[tt.VMUtilisation] | None = None
    other_error: str = ""
    # The step guard's state from the last evaluation (``policies.engine.step_guard``; empty: none yet)
    guard: Mapping[str, Any] | None = None


@dataclass
class PolicyOutcome:
    """What the evaluation concluded. ``decision`` is None when nothing was asked of ``decide()``. ``why`` is
    its note (``policies.engine.notes``; a decision's reason, from ``decide()``, when there is no note to add) and
    ``reason`` its English sentence, a ``Reason`` that keeps its code and parameters, made when first read."""

    action: ScaleAction | None
    desired: int | None
    decision: DecisionResult | None
    why: Note | str
    trigger: str = "policy"  # "policy" | "schedule" | "predictive"
    metric: float | None = None
    forecast_desired: int | None = None
    history: Sequence[tuple[float, ...]] = field(default_factory=list)
    window_key: str = ""  # the scheduled occurrence whose desired count this applies (when trigger=schedule)
    guard: dict[str, Any] = field(default_factory=dict)  # the step guard's state to keep for the next evaluation

    @property
    def allowed(self) -> bool:
        return self.decision is not None and self.decision.allowed

    @cached_property
    def reason(self) -> Reason | str:
        return self.why.reason() if isinstance(self.why, Note) else self.why


def evaluate_policy(settings: PolicySettings, inp: PolicyInput) -> PolicyOutcome:
    """Evaluate one service's policy once and put the resulting action through ``decide()``."""
    active = None if settings.suspend_scheduled else inp.active_window
    bounds = effective_bounds(min_vms=inp.min_vms, max_vms=inp.max_vms, active=active)
    now_s = inp.now.timestamp()
    history: Sequence[tuple[float, ...]] = inp.history
    guard_state: dict[str, Any] = dict(inp.guard or {})
    if inp.current_vm_count is None:
        unknown = (note("policy_count_unknown_error", error=inp.count_error) if inp.count_error
                   else note("policy_count_unknown"))
        return PolicyOutcome(None, None, None, unknown, history=history, guard=guard_state)
    current = inp.current_vm_count

    trigger = "policy"
    metric: float | None = None
    forecast_desired: int | None = None
    notes: list[Note] = []
    held: list[Note] = []  # the recommended policy's scale-in that waits for the seed's rule (and why)
    if settings.policy_type == _STEP:
        desired = current  # step scaling acts on alerts; here only schedules and bounds move it
    elif settings.policy_type == _RECOMMENDED:
        if inp.vms is not None:
            metric = tt.warm_utilisation(inp.vms, now=inp.now, warmup_seconds=settings.warmup_seconds)
        if metric is None:
            return PolicyOutcome(None, None, None, _metric_unknown(inp), history=history, guard=guard_state)
        fresh = None
        if inp.fresh_vms is not None:
            fresh = tt.warm_utilisation(inp.fresh_vms, now=inp.now, warmup_seconds=settings.warmup_seconds)
        if fresh is None:
            fresh = metric
        record: tuple[float, ...] = (now_s, rec.demand(current, metric), rec.demand(current, fresh))
        other_below = None  # the other metric's scale-in threshold, when the seed's rule needs it
        if seed_rule_other_needed(settings):
            other_below = settings.scale_in_other_threshold
            other = None
            if inp.other_vms is not None:
                other = tt.warm_utilisation(inp.other_vms, now=inp.now, warmup_seconds=settings.warmup_seconds)
            if other is not None:  # a record without it: the rule did not hold then
                record = (*record, rec.demand(current, other))
        memory = rec.Memory.of(history).remember(record, now=now_s, window_seconds=settings.memory_seconds)
        history, records = memory, memory.records  # the memory is kept; its records read in time order
        # a spike that recurs at a fixed period: expected, its capacity ready ahead of it; left out of the memory
        periodic = None
        anticipated = 0
        if settings.anticipate_seconds > 0:
            periodic = rec.periodic_spike(memory, now=now_s, seconds=settings.anticipate_seconds,
                                          threshold=settings.scale_out_threshold,
                                          min_period=2 * rec.CLONE_LEAD_SECONDS)
        # the records the memory's readers see (the scale-in memory, the noise: the last hour; the history kept is
        # longer for the periodic spike), a periodic spike's left out
        remembered = rec.records_between(
            records, now_s - max(settings.stabilisation_seconds, settings.margin_noise_seconds), now_s)
        if periodic is not None:
            remembered = periodic.leave_out(remembered, window_seconds=rec.SPIKE_WINDOW_SECONDS)
            count = rec.whole(periodic.demand / max(settings.scale_out_threshold, 1.0))
            ready_from = periodic.next_at - rec.CLONE_LEAD_SECONDS - rec.ANTICIPATE_EARLY_SECONDS
            last_first, last_end = periodic.spans[-1]
            due = (ready_from <= now_s <= periodic.next_at + periodic.duration + rec.ANTICIPATE_EARLY_SECONDS
                   or last_first <= now_s <= last_end + rec.ANTICIPATE_EARLY_SECONDS)
            notes.append(note("rec_periodic_spike", demand=rec.shown(periodic.demand), period=periodic.period / 60,
                              minutes=max(0.0, periodic.next_at - now_s) / 60, count=count,
                              threshold=settings.scale_out_threshold))
            if due:
                anticipated = count
        peak = rec.remembered_peak(remembered, now=now_s, window_seconds=settings.stabilisation_seconds) or 0
        # the margin from the noise of the fresh reading (the fixed margin until an hour is recorded); the fresh
        # window's points and slope computed once for the noise, the trend and both shares
        fresh_window = rec.fresh_window(remembered, now=now_s, seconds=settings.margin_noise_seconds,
                                        memory=memory if periodic is None else None)  # its sums kept up to date
        noise = None
        if settings.margin_noise_k > 0:
            noise = rec.noise_points(remembered, now=now_s, seconds=settings.margin_noise_seconds, current=current,
                                     window=fresh_window)
        margin = rec.noise_margin(noise, k=settings.margin_noise_k, low=settings.margin_min,
                                  high=settings.scale_out_margin)
        if noise is not None:
            notes.append(note("rec_margin_noise", margin=margin, k=settings.margin_noise_k, noise=noise,
                              minutes=settings.margin_noise_seconds // 60, low=settings.margin_min,
                              high=settings.scale_out_margin))
        # the margin only where it pays: enough of the recent readings, at the level expected when a clone would
        # serve, overload the current count, or the load is rising
        share = None
        slope = 0.0
        if settings.margin_share > 0:
            slope = rec.fresh_trend(remembered, now=now_s, seconds=settings.margin_noise_seconds,
                                    window=fresh_window) or 0.0
        if settings.margin_share > 0 and settings.margin_noise_k > 0 and margin > 0:
            share = rec.overload_share(remembered, now=now_s, seconds=settings.margin_noise_seconds, current=current,
                                       threshold=settings.scale_out_threshold, ahead=rec.CLONE_LEAD_SECONDS,
                                       window=fresh_window, enough=settings.margin_share)
            rising = slope * rec.CLONE_LEAD_SECONDS / current if current > 0 else 0.0  # 0 VMs: Prometheus lost them
            if share is not None and share < settings.margin_share and rising < settings.margin_rise:
                notes.append(note("rec_no_margin", share=share * 100, minutes=settings.margin_noise_seconds // 60,
                                  count=current, pays=settings.margin_share * 100))
                margin = 0.0
        trigger_at = settings.scale_out_threshold - margin
        # whether one VM fewer would need the margin too (or the share is not known): asked by the band only where
        # it decides a scale-in
        pays_below: bool | Callable[[], bool] = True
        if settings.margin_share > 0 and settings.margin_noise_k > 0 and current > 1:
            def fewer_pays() -> bool:
                below = rec.overload_share(remembered, now=now_s, seconds=settings.margin_noise_seconds,
                                           current=current - 1, threshold=settings.scale_out_threshold,
                                           ahead=rec.CLONE_LEAD_SECONDS, window=fresh_window,
                                           enough=settings.margin_share)
                return (below is None or below >= settings.margin_share
                        or slope * rec.CLONE_LEAD_SECONDS / (current - 1) >= settings.margin_rise)
            pays_below = fewer_pays
        # the load projected at the time a clone ordered now would serve: the rate of rise × the lead time
        rise = 0.0
        if settings.lead_seconds > 0:
            rate = rec.rise_rate(records, now=now_s, seconds=settings.rise_seconds or settings.lead_seconds,
                                 parts=settings.rise_parts)
            rise = rate * settings.lead_seconds / current
        def confirmed() -> bool:  # asked by the band only when the load is above the trigger
            return rec.sustained(records, now=now_s, seconds=settings.confirm_seconds,
                                 above=(trigger_at - rise) * current)
        recurring = None
        if settings.recurrence_seconds > 0:
            recurring = None if periodic is not None else rec.recurring_peak(
                memory, now=now_s, window_seconds=settings.recurrence_seconds,
                apart_seconds=settings.lead_seconds or rec.CLONE_LEAD_SECONDS)
        seed_rule = seed_rule_needed(settings) and rec.step_releases(
            records, now=now_s, seconds=settings.scale_in_duration_seconds, below=settings.scale_in_threshold,
            current=current, other_below=other_below)
        release = settings.release_like_step and seed_rule
        band = rec.band_count(
            current=current, fresh=fresh, window=metric, peak_demand=peak,
            trigger=trigger_at, target=settings.target,
            scale_in_target=settings.scale_in_target or settings.target, min_vms=bounds.min_vms,
            max_vms=bounds.max_vms, confirmed=confirmed, hysteresis=settings.scale_in_hysteresis,
            rise=rise, threshold=settings.scale_out_threshold, recurring_demand=recurring,
            spike_ceiling=settings.spike_ceiling, spike_reach=settings.spike_reach, release=release,
            scale_in_threshold=settings.scale_in_threshold,
            margin_pays_below=pays_below, anticipated=anticipated,
        )
        desired = band.desired
        notes.extend(band.notes)
        if settings.step_guard:
            guard_state = guard.advance(  # a copy of the state handed in, moved on
                inp.guard, now=now_s, current=current, fresh_demand=record[2],
                rules=settings.seed_rules(min_vms=bounds.min_vms, max_vms=bounds.max_vms,
                                          cooldown_seconds=inp.cooldown_seconds))
            bounded = guard.bound(desired, guard_state, current=current, vm_share=settings.guard_vm_share,
                                  reserve_seconds=settings.guard_reserve_seconds,
                                  credit_seconds=settings.guard_credit_seconds)
            desired = bounded.desired
            notes.extend(bounded.notes)
        if settings.scale_in_on_seed_rule and desired < current and not seed_rule:
            minutes = settings.scale_in_duration_seconds / 60
            if other_below is None:
                held = [note("rec_scale_in_waits_for_seed_rule", count=desired,
                             threshold=settings.scale_in_threshold, minutes=minutes)]
            else:
                cpu, mem = ((settings.scale_in_threshold, other_below) if settings.scale_in_other_metric == "memory"
                            else (other_below, settings.scale_in_threshold))
                held = [note("rec_scale_in_waits_for_seed_rule_both", count=desired, cpu=cpu, memory=mem,
                             minutes=minutes)]
                if len(record) < 4:  # not read now: the rule cannot hold
                    code = f"rec_seed_rule_{settings.scale_in_other_metric}_unknown"
                    held.append(note(f"{code}_error", error=inp.other_error) if inp.other_error else note(code))
            desired = current
    else:
        if inp.vms is not None:
            metric = tt.warm_utilisation(inp.vms, now=inp.now, warmup_seconds=settings.warmup_seconds)
        if metric is None:
            return PolicyOutcome(None, None, None, _metric_unknown(inp), history=history, guard=guard_state)
        raw = tt.desired_count(current=current, metric=metric, target=settings.target, tolerance=settings.tolerance)
        if raw < current and settings.scale_in_target:
            raw = tt.scale_in_count(current=current, metric=metric, scale_in_target=settings.scale_in_target)
        raw = max(bounds.min_vms, min(bounds.max_vms, raw))
        recommendations = tt.trim_history([(float(e[0]), int(e[1])) for e in history], now=now_s,
                                          window_seconds=settings.stabilisation_seconds)
        recommendations.append((now_s, raw))
        desired = tt.stabilised(
            history=recommendations, now=now_s, window_seconds=settings.stabilisation_seconds, raw=raw,
            current=current,
        )
        history = list(recommendations)
        notes.append(note("tt_utilisation", metric=metric, target=settings.target, count=raw))
        if desired != raw:
            notes.append(note("tt_stabilised", count=desired))
        if settings.policy_type == _PREDICTIVE and not settings.suspend_predictive:
            floor = pred.forecast_floor(
                peak_load=inp.forecast_peak, target=settings.target, min_vms=bounds.min_vms, max_vms=bounds.max_vms
            )
            forecast_desired = floor
            if floor is not None:
                notes.append(note("forecast_peak", peak=inp.forecast_peak, count=floor))
                if not settings.forecast_only:
                    combined = pred.combine(reactive=desired, floor=floor)
                    if combined > desired and combined > current:
                        trigger = "predictive"
                    desired = combined
            else:
                notes.append(note("forecast_none"))

    # Scheduled actions: the window's desired count once per occurrence, and its bounds always.
    if bounds.desired_vms is not None and bounds.window_key and bounds.window_key != inp.applied_window_key:
        desired = bounds.desired_vms
        trigger = "schedule"
        notes.append(note("scheduled_action", window=bounds.window_key, count=desired))
    if desired < bounds.min_vms or desired > bounds.max_vms:
        desired = max(bounds.min_vms, min(bounds.max_vms, desired))
        if active is not None and trigger == "policy":
            trigger = "schedule"
    if (current < bounds.min_vms or current > bounds.max_vms) and active is not None:
        trigger = "schedule"
        notes.append(note("scheduled_bounds", min=bounds.min_vms, max=bounds.max_vms))
    if settings.max_change:
        desired = max(current - settings.max_change, min(current + settings.max_change, desired))
    if held and desired == current:  # said only when it is what holds the count (not a bound's scale-in)
        notes.extend(held)

    window_key = bounds.window_key if trigger == "schedule" else ""
    if desired == current:
        unchanged = note("policy_no_change", notes=list(notes)) if notes else note("policy_no_change_count",
                                                                                    count=current)
        return PolicyOutcome(None, desired, None, unchanged, trigger, metric, forecast_desired, history, window_key,
                             guard=guard_state)

    action = _OUT if desired > current else _IN
    count = abs(desired - current)
    suspended = (action == _OUT and settings.suspend_scale_out) or (action == _IN and settings.suspend_scale_in)
    if suspended:
        code = "policy_suspended_out" if action == _OUT else "policy_suspended_in"
        why = note(code, notes=list(notes)) if notes else note(f"{code}_bare")
        return PolicyOutcome(None, desired, None, why, trigger, metric, forecast_desired, history, window_key,
                             guard=guard_state)
    if action == _IN and settings.flapping_check and metric is not None and trigger == "policy":
        safe = tt.flap_safe_scale_in(
            current=current, metric=metric, remove=count, scale_out_threshold=settings.scale_out_threshold
        )
        if safe == 0:
            flapping = note("policy_flapping", remaining=current - count,
                            projected=metric * current / (current - count), threshold=settings.scale_out_threshold)
            return PolicyOutcome(None, desired, None, flapping, trigger, metric, forecast_desired, history, window_key,
                             guard=guard_state)
        if safe < count:
            notes.append(note("flapping_limit", count=safe))
            count = safe
            desired = current - safe

    result = decide(
        DecisionInput(
            action=action,
            now=inp.now,
            enabled=inp.enabled,
            min_vms=bounds.min_vms,
            max_vms=bounds.max_vms,
            step=count,
            cooldown_seconds=inp.cooldown_seconds,
            current_vm_count=current,
            last_scale_out_at=inp.last_scale_out_at,
            last_scale_in_at=inp.last_scale_in_at,
            run_in_flight=inp.run_in_flight,
            free_ips=inp.free_ips if action == _OUT else None,
            count_error=inp.count_error,
        )
    )
    if settings.step_guard and result.allowed and trigger == "policy":  # a schedule's count is the seed's too
        guard_state = guard.order(guard_state, desired)
    reason = note("policy_decided", decision=result.reason, notes=list(notes)) if notes else result.reason
    return PolicyOutcome(action, desired, result, reason, trigger, metric, forecast_desired, history, window_key,
                             guard=guard_state)


def _metric_unknown(inp: PolicyInput) -> Note:
    if inp.metric_error:
        return note("policy_metric_unknown_error", error=inp.metric_error)
    return note("policy_metric_unknown")

