"""The simulated world: a capacity model, clone/delete times, Prometheus rule evaluation and
Alertmanager notification timing, driving the product's real decision code on a simulated clock.

Scaling decisions are made only by ``autoscaling.decision.decide()`` (the seed's alert path, exactly as
the webhook calls it) and ``policies.engine.evaluate.evaluate_policy()`` (the evaluation loop's path,
which itself ends in ``decide()``). Everything else here models the systems around them:

* Load: the trace's value per interval (requests); a VM serves ``capacity`` requests per interval at
  100 % CPU; the F5 spreads load evenly over the VMs in the pool: CPU = 100 × load / (VMs × capacity).
* Prometheus: measures CPU as the average over ``rate_window`` (the rules' ``rate(...[5m])``; the evaluation
  loop's query uses ``policy_rate_window``, IXNODE_POLICY_RATE_WINDOW's 2m by default), evaluates
  the scale-out/in rules every ``eval_interval`` with their ``for`` durations; memory is assumed below
  both thresholds. Gaps in the trace are missing data: rules do not fire, policies see "unknown".
* Alertmanager: first notification ``group_wait`` after an alert fires, then at ``group_interval`` flushes
  whenever ``repeat_interval`` has passed since the last one; a resolved alert stops them.
* Pipelines: a run starts ``dispatch`` after an ALLOW; scale-out puts the VM(s) into the pool and the
  Prometheus job after ``clone_seconds``; scale-in takes them out of the pool after ``f5_remove_seconds``
  and is done after ``delete_seconds``. Completion starts the cooldown (as the pipelines do).
* Warm pool (the config's ``warm_pool_size``, 0 = off): a scale-in run keeps as many of its removed VMs
  powered off as the pool has room for (the rest are deleted); a scale-out run takes warm VMs first and
  clones only the rest: all warm → in service after ``warm_start_seconds``, else the run waits for the
  clones (``clone_seconds``). The pool starts empty and is filled only by scale-ins. Powered-off VMs count
  as ``warm_vm_hours``, not as VM-hours.
"""

from __future__ import annotations

import heapq
import math
import time as wallclock
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from autoscaling.decision import DecisionInput, decide
from events.choices import Decision, ScaleAction
from policies.choices import PolicyType
from policies.constants import FLAP_WINDOW_SECONDS
from policies.engine.evaluate import PolicyInput, PolicySettings, evaluate_policy
from policies.engine.predictive import Forecaster
from policies.engine.target_tracking import VMUtilisation
from policies.simulator.trace import Trace

OUT, IN = ScaleAction.SCALE_OUT, ScaleAction.SCALE_IN


@dataclass(frozen=True)
class SimConfig:
    """The autoscaling config's numbers (an ``AutoscalingConfig`` row or a JSON file)."""

    service_name: str = "simulated"
    enabled: bool = True
    min_vms: int = 2
    max_vms: int = 4
    scale_out_step: int = 1
    scale_in_step: int = 1
    scale_out_cpu_threshold: float = 80.0
    scale_in_cpu_threshold: float = 30.0
    scale_out_duration_minutes: int = 1
    scale_in_duration_minutes: int = 5
    cooldown_seconds: int = 300
    alert_repeat_interval_seconds: int = 300
    warm_pool_size: int = 0  # powered-off VMs kept on scale-in for reuse on scale-out (0 = off)


@dataclass(frozen=True)
class SimParams:
    """The world around the decision code."""

    capacity: float = 150.0  # requests per trace interval one VM serves at 100 % CPU
    clone_seconds: int = 300  # a clone takes 3-5 min until it is in service
    warm_start_seconds: int = 120  # a warm-pool VM: power on, boot, health check, F5 add, target add
    delete_seconds: int = 120  # a scale-in takes about 2 min
    f5_remove_seconds: int = 10
    dispatch_seconds: int = 30  # ALLOW → pipeline running (queue, Jenkins)
    eval_interval: int = 60  # Prometheus rule evaluation interval
    rate_window: int = 300  # the alert rules' rate(node_cpu_seconds_total[5m])
    policy_rate_window: int = 120  # the evaluation loop's query window (IXNODE_POLICY_RATE_WINDOW, 2m)
    group_wait: int = 30
    group_interval: int = 300
    policy_interval: int = 60  # the evaluation loop's schedule
    fresh_window: int = 30  # the recommended policy's freshest measurement: irate over the last two 15 s scrapes
    recheck_at_cooldown_end: bool = False  # seed path: act at cooldown end while the alert still fires
    initial_vms: int | None = None  # default: the config's minimum
    forecast_seasons: int = 4


@dataclass
class SimDecision:
    at: float
    action: str
    decision: str
    count: int
    trigger: str
    vms_before: int
    reason: str = ""


@dataclass
class SimResult:
    policy: str
    days: float
    overload_minutes: float
    vm_hours: float
    scale_outs: int
    scale_ins: int
    flaps: int
    peak_vms: int
    warm_vm_hours: float = 0.0  # powered-off VM-hours in the warm pool (not in vm_hours)
    warm_pool_size: int = 0
    decisions: list[SimDecision] = field(default_factory=list)
    series: dict[str, list] = field(default_factory=dict)  # t, load, capacity, vms (one point per trace sample)
    wall_seconds: float = 0.0

    def summary(self) -> dict:
        data = {k: v for k, v in asdict(self).items() if k not in ("decisions", "series")}
        data["blocked"] = sum(1 for d in self.decisions if d.decision != Decision.ALLOW)
        return data


@lru_cache(maxsize=4096)  # the same few instants (now, the VMs' in-service times) at every evaluation
def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


# Event kinds, in the order they run when due at the same instant.
_RUN_DONE, _F5_REMOVE, _RUN_START, _BIN, _RULES, _FLUSH, _RECHECK, _POLICY, _END = range(9)


class Simulation:
    """One replay of a trace under one policy."""

    def __init__(
        self, trace: Trace, config: SimConfig, *, policy: PolicySettings | None = None, params: SimParams | None = None
    ) -> None:
        self.trace, self.config = trace, config
        self.policy = policy or PolicySettings()
        self.params = params or SimParams()
        self.alert_driven = self.policy.policy_type == PolicyType.STEP
        self.recommended = self.policy.policy_type == PolicyType.RECOMMENDED
        p = self.params
        self.repeat_interval = config.alert_repeat_interval_seconds
        n0 = p.initial_vms if p.initial_vms is not None else config.min_vms
        # VMs
        self.serving: list[float | None] = [None] * n0  # in-service times of the VMs in the F5 pool (None: warm)
        self.targets = n0  # Prometheus job targets: the decision's current VM count
        self.existing = n0  # powered-on VMs (cloning or starting, serving, being removed)
        self.warm = 0  # powered-off VMs in the warm pool
        self.in_flight = False
        self.last_out: float | None = None
        self.last_in: float | None = None
        # load and CPU history (piecewise constant; cumulative integrals for the rate window)
        self.load: float | None = None
        self.cp_t: list[float] = []
        self.cp_i: list[float] = []  # ∫ cpu dt over known time up to cp_t
        self.cp_k: list[float] = []  # known time up to cp_t
        self.cp_cpu: list[float | None] = []
        # alerts: state per direction
        self.alert = {OUT: _Alert(), IN: _Alert()}
        # accounting
        self.now = trace.start
        self.overload_s = 0.0
        self.vm_s = 0.0
        self.warm_s = 0.0
        self.decisions: list[SimDecision] = []
        self.peak = n0
        self.history: Sequence[tuple[float, ...]] = []  # the policy's memory, carried as the loop keeps it
        self.guard: dict = {}  # the recommended policy's step guard state (policies.engine.step_guard)
        self.series: dict[str, list] = {"t": [], "load": [], "capacity": [], "vms": []}
        self._queue: list[tuple[float, int, int, tuple]] = []
        self._seq = 0
        self.forecaster = (
            Forecaster(start=trace.start, step=trace.interval, values=trace.loads, seasons=p.forecast_seasons)
            if self.policy.policy_type == PolicyType.PREDICTIVE
            else None
        )
        self._peak_cache: tuple[int, float | None] = (-1, None)

    # --- event queue -----------------------------------------------------------------------------
    def _push(self, at: float, kind: int, *payload) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (at, kind, self._seq, payload))

    # --- CPU model -------------------------------------------------------------------------------
    def _cpu(self) -> float | None:
        if self.load is None:
            return None
        n = len(self.serving)
        if n == 0:
            return math.inf
        return 100.0 * self.load / (n * self.params.capacity)

    def _mark(self) -> None:
        """Record a change point of the true CPU at ``now``."""
        t = self.now
        if self.cp_t:
            last_t, last_cpu = self.cp_t[-1], self.cp_cpu[-1]
            dt = t - last_t
            i = self.cp_i[-1] + (min(last_cpu, 1e6) * dt if last_cpu is not None else 0.0)
            k = self.cp_k[-1] + (dt if last_cpu is not None else 0.0)
            if dt == 0:
                self.cp_cpu[-1] = self._cpu()
                return
        else:
            i = k = 0.0
        self.cp_t.append(t)
        self.cp_i.append(i)
        self.cp_k.append(k)
        self.cp_cpu.append(self._cpu())

    def _integrals(self, t: float) -> tuple[float, float]:
        idx = bisect_right(self.cp_t, t) - 1
        if idx < 0:
            return 0.0, 0.0
        cpu = self.cp_cpu[idx]
        dt = t - self.cp_t[idx]
        if cpu is None:
            return self.cp_i[idx], self.cp_k[idx]
        return self.cp_i[idx] + min(cpu, 1e6) * dt, self.cp_k[idx] + dt

    def measured_cpu(self, window: int | None = None, *, upto: tuple[float, float] | None = None) -> float | None:
        """What Prometheus reports now: the CPU averaged over ``window`` (default: the rules' rate window;
        None: no data). ``upto``: the integrals up to now (``_integrals(now)``), when the caller reads several
        windows."""
        i1, k1 = upto if upto is not None else self._integrals(self.now)
        i0, k0 = self._integrals(self.now - (window or self.params.rate_window))
        known = k1 - k0
        if known <= 0 or self.load is None:
            return None
        return (i1 - i0) / known

    # --- accounting ------------------------------------------------------------------------------
    def _advance(self, t: float) -> None:
        dt = t - self.now
        if dt > 0 and self.load is not None:  # gaps count neither VM-hours nor overload: the load is unknown
            self.vm_s += self.existing * dt
            self.warm_s += self.warm * dt
            cpu = self._cpu()
            if cpu is not None and cpu > self.config.scale_out_cpu_threshold:
                self.overload_s += dt
        self.now = t

    # --- decisions -------------------------------------------------------------------------------
    def _record(self, action: str, result, trigger: str) -> None:
        self.decisions.append(
            SimDecision(self.now, str(action), str(result.decision), result.count, trigger, self.targets, result.reason)
        )

    def _start(self, action: str, count: int) -> None:
        self.in_flight = True
        self._push(self.now + self.params.dispatch_seconds, _RUN_START, action, count)

    def webhook(self, action: str, trigger: str = "alert") -> None:
        """What the webhook does for one firing alert: the seed's decide(), unchanged."""
        c = self.config
        step = c.scale_out_step if action == OUT else c.scale_in_step
        result = decide(
            DecisionInput(
                action=ScaleAction(action),
                now=_dt(self.now),
                enabled=c.enabled,
                min_vms=c.min_vms,
                max_vms=c.max_vms,
                step=step,
                cooldown_seconds=c.cooldown_seconds,
                current_vm_count=self.targets,
                last_scale_out_at=_dt(self.last_out) if self.last_out is not None else None,
                last_scale_in_at=_dt(self.last_in) if self.last_in is not None else None,
                run_in_flight=self.in_flight,
            )
        )
        self._record(action, result, trigger)
        if result.allowed:
            self._start(action, result.count)
        elif result.starts_cooldown:
            if action == OUT:
                self.last_out = self.now
            else:
                self.last_in = self.now

    def _schedule_recheck(self, action: str) -> None:
        if self.params.recheck_at_cooldown_end and self.alert_driven:
            self._push(self.now + self.config.cooldown_seconds, _RECHECK, action)

    def _forecast_peak(self) -> float | None:
        if self.forecaster is None:
            return None
        bin_index = int((self.now - self.trace.start) // self.trace.interval)
        if self._peak_cache[0] != bin_index:
            horizon = self.params.clone_seconds + self.params.dispatch_seconds + self.params.policy_interval
            peak = self.forecaster.peak(now=self.now, horizon=horizon)
            # requests per interval → VM-% (the sum over VMs of CPU %)
            self._peak_cache = (bin_index, None if peak is None else 100.0 * peak / self.params.capacity)
        return self._peak_cache[1]

    def evaluate(self) -> None:
        """What the evaluation loop does for a target-tracking or predictive service."""
        c = self.config
        recommended = self.recommended
        # the recommended policy reads the alert rules' window (the seed's band) and the freshest measurement
        upto = self._integrals(self.now)
        m = self.measured_cpu(self.params.rate_window if recommended else self.params.policy_rate_window, upto=upto)
        in_service = [None if at is None else _dt(at) for at in self.serving]
        vms = None if m is None else [VMUtilisation(m, at) for at in in_service]
        fresh_vms = None
        if recommended:
            f = self.measured_cpu(self.params.fresh_window, upto=upto)
            fresh_vms = None if f is None else [VMUtilisation(f, at) for at in in_service]
        out = evaluate_policy(
            self.policy,
            PolicyInput(
                now=_dt(self.now),
                enabled=c.enabled,
                min_vms=c.min_vms,
                max_vms=c.max_vms,
                cooldown_seconds=c.cooldown_seconds,
                current_vm_count=self.targets,
                vms=vms,
                last_scale_out_at=_dt(self.last_out) if self.last_out is not None else None,
                last_scale_in_at=_dt(self.last_in) if self.last_in is not None else None,
                run_in_flight=self.in_flight,
                metric_error="" if m is not None else "no data",
                history=self.history,
                forecast_peak=self._forecast_peak(),
                fresh_vms=fresh_vms,
                guard=self.guard,
            ),
        )
        self.history = out.history
        self.guard = out.guard
        if out.decision is None or out.action is None:
            return
        self._record(out.action, out.decision, out.trigger)
        if out.decision.allowed:
            self._start(out.action, out.decision.count)

    # --- main loop -------------------------------------------------------------------------------
    def run(self) -> SimResult:
        started = wallclock.perf_counter()
        tr, p = self.trace, self.params
        self._mark()
        self._push(tr.start, _BIN, 0)
        if self.alert_driven:
            self._push(tr.start + p.eval_interval, _RULES)
        else:
            self._push(tr.start + p.policy_interval, _POLICY)
        self._push(tr.end, _END)
        out_for = self.config.scale_out_duration_minutes * 60
        in_for = self.config.scale_in_duration_minutes * 60
        cap = p.capacity
        series_t, series_load, series_cap, series_vms = (self.series[k] for k in ("t", "load", "capacity", "vms"))
        queue = self._queue
        while queue:
            at, kind, _, payload = heapq.heappop(queue)
            self._advance(at)
            if kind == _END:
                break
            if kind == _BIN:
                i = payload[0]
                self.load = tr.loads[i]
                self._mark()
                series_t.append(at)
                series_load.append(self.load)
                series_cap.append(len(self.serving) * cap)
                series_vms.append(self.existing)
                if i + 1 < len(tr.times):
                    self._push(tr.times[i + 1], _BIN, i + 1)
            elif kind == _RULES:
                m = self.measured_cpu()
                self._rule(OUT, m is not None and m > self.config.scale_out_cpu_threshold, out_for)
                self._rule(IN, m is not None and m < self.config.scale_in_cpu_threshold, in_for)
                self._push(at + p.eval_interval, _RULES)
            elif kind == _FLUSH:
                action, token = payload
                alert = self.alert[action]
                if token == alert.token and alert.firing:
                    if alert.last_notify is None or at - alert.last_notify >= self.repeat_interval:
                        alert.last_notify = at
                        self.webhook(action)
                    self._push(at + p.group_interval, _FLUSH, action, token)
            elif kind == _RECHECK:
                action = payload[0]
                if self.alert[action].firing:
                    self.webhook(action, trigger="recheck")
            elif kind == _POLICY:
                self.evaluate()
                self._push(at + p.policy_interval, _POLICY)
            elif kind == _RUN_START:
                action, count = payload
                if action == OUT:
                    warm = min(count, self.warm)  # warm VMs first, clones for the rest
                    self.warm -= warm
                    self.existing += count
                    self.peak = max(self.peak, self.existing)
                    ready = p.warm_start_seconds if warm == count else p.clone_seconds
                    self._push(at + ready, _RUN_DONE, action, count)
                else:
                    self._push(at + p.f5_remove_seconds, _F5_REMOVE, count)
                    self._push(at + p.delete_seconds, _RUN_DONE, action, count)
            elif kind == _F5_REMOVE:
                count = payload[0]
                del self.serving[-count:]  # newest first (LIFO), the product's default scale-in order
                self.targets -= count
                self._mark()
            elif kind == _RUN_DONE:
                action, count = payload
                self.in_flight = False
                if action == OUT:
                    self.serving.extend([at] * count)
                    self.targets += count
                    self.last_out = at
                    self._mark()
                else:
                    self.existing -= count
                    self.warm += min(count, max(0, self.config.warm_pool_size - self.warm))  # the rest: deleted
                    self.last_in = at
                self._schedule_recheck(action)
        flaps = count_flaps(self.decisions)
        allowed = [d for d in self.decisions if d.decision == Decision.ALLOW]
        return SimResult(
            policy=self.label,
            days=tr.days,
            overload_minutes=self.overload_s / 60,
            vm_hours=self.vm_s / 3600,
            scale_outs=sum(1 for d in allowed if d.action == OUT),
            scale_ins=sum(1 for d in allowed if d.action == IN),
            flaps=flaps,
            peak_vms=self.peak,
            warm_vm_hours=self.warm_s / 3600,
            warm_pool_size=self.config.warm_pool_size,
            decisions=self.decisions,
            series=self.series,
            wall_seconds=wallclock.perf_counter() - started,
        )

    @property
    def label(self) -> str:
        name = str(self.policy.policy_type)
        if self.alert_driven and self.params.recheck_at_cooldown_end:
            name += "+recheck"
        if self.policy.policy_type == PolicyType.PREDICTIVE and self.policy.forecast_only:
            name += " (forecast only)"
        if self.config.warm_pool_size:
            name += f" + warm pool {self.config.warm_pool_size}"
        return name

    def _rule(self, action: str, condition: bool, for_seconds: int) -> None:
        """Prometheus: pending while true, firing once true for ``for``; Alertmanager group on firing."""
        alert = self.alert[ScaleAction(action)]
        if not condition:
            if alert.active_at is not None:
                alert.active_at = None
                alert.firing = False
                alert.token += 1  # resolved: the group's pending flushes stop
                alert.last_notify = None
            return
        if alert.active_at is None:
            alert.active_at = self.now
        if not alert.firing and self.now - alert.active_at >= for_seconds:
            alert.firing = True
            self._push(self.now + self.params.group_wait, _FLUSH, action, alert.token)


@dataclass
class _Alert:
    active_at: float | None = None
    firing: bool = False
    last_notify: float | None = None
    token: int = 0


def count_flaps(decisions: list[SimDecision]) -> int:
    """Scale-ins followed by a scale-out within 15 minutes."""
    flaps = 0
    last_in: float | None = None
    for d in decisions:
        if d.decision != Decision.ALLOW:
            continue
        if d.action == IN:
            last_in = d.at
        elif last_in is not None and d.at - last_in <= FLAP_WINDOW_SECONDS:
            flaps += 1
            last_in = None
    return flaps


def simulate(
    trace: Trace, config: SimConfig, *, policy: PolicySettings | None = None, params: SimParams | None = None
) -> SimResult:
    return Simulation(trace, config, policy=policy, params=params).run()
