"""Reference policies that no product code runs: what a policy could reach, to measure real policies against.

* ``oracle``: knows each interval's demand in advance and has exactly the VMs that keep it at or below the
  scale-out threshold, with no lag, within the config's min/max. Its overload is the overload the maximum
  cannot prevent: no policy with the same maximum avoids it (every policy is overloaded in those intervals too),
  so a policy's *avoidable* overload is its overload minus the oracle's.
* ``reactive_ideal``: a reactive scaler with perfect measurement (the true load at each sample, no rate window,
  no alert delays, no cooldown, no step limit) and the real clone lag: it sizes for its target utilisation the
  moment the load rises, new VMs serve after ``dispatch_seconds + clone_seconds`` (warm-pool VMs after
  ``dispatch_seconds + warm_start_seconds``); it scales in to the highest need of the last
  ``stabilisation_seconds`` (as target tracking's stabilisation window), the VMs leave the F5 pool at once and
  are deleted after ``delete_seconds`` (kept powered off when the warm pool has room). The overload it still
  has is the price of reacting at all with that lag.

Both return a :class:`~policies.simulator.engine.SimResult` with the same accounting as the simulator: VM-hours
of powered-on VMs (cloning, serving, being deleted), overload time with CPU above the scale-out threshold, gaps
counting neither.
"""

from __future__ import annotations

import math
import time as wallclock
from collections import deque

from events.choices import Decision, ScaleAction
from policies.simulator.engine import SimConfig, SimDecision, SimParams, SimResult, count_flaps
from policies.simulator.trace import Trace

ORACLE = "oracle"
REACTIVE_IDEAL = "reactive_ideal"
REFERENCES = (ORACLE, REACTIVE_IDEAL)
REACTIVE_IDEAL_TARGET = 70.0  # its default target utilisation %, about the target-tracking targets chosen so far
REACTIVE_IDEAL_STABILISATION = 1800  # its default scale-in window (s), as the target-tracking presets


def vms_for(load: float, *, capacity: float, utilisation: float, min_vms: int, max_vms: int) -> int:
    """The fewest VMs that keep ``load`` at or below ``utilisation`` % CPU, within min..max."""
    need = math.ceil(100.0 * load / (capacity * utilisation) - 1e-9) if load > 0 else 0
    return max(min_vms, min(max_vms, need))


def _decision(at: float, action: str, count: int, vms_before: int, trigger: str) -> SimDecision:
    return SimDecision(at, action, str(Decision.ALLOW), count, trigger, vms_before)


def _result(name: str, trace: Trace, config: SimConfig, *, overload_s: float, vm_s: float, warm_s: float,
            decisions: list[SimDecision], peak: int, series: dict[str, list], started: float) -> SimResult:
    return SimResult(
        policy=name,
        days=trace.days,
        overload_minutes=overload_s / 60,
        vm_hours=vm_s / 3600,
        scale_outs=sum(1 for d in decisions if d.action == ScaleAction.SCALE_OUT),
        scale_ins=sum(1 for d in decisions if d.action == ScaleAction.SCALE_IN),
        flaps=count_flaps(decisions),
        peak_vms=peak,
        warm_vm_hours=warm_s / 3600,
        warm_pool_size=config.warm_pool_size,
        decisions=decisions,
        series=series,
        wall_seconds=wallclock.perf_counter() - started,
    )


def simulate_oracle(trace: Trace, config: SimConfig, params: SimParams) -> SimResult:
    """Each interval's VMs sized for its own demand at the scale-out threshold, with no lag."""
    started = wallclock.perf_counter()
    threshold = config.scale_out_cpu_threshold
    cap = params.capacity
    overload_s = vm_s = 0.0
    decisions: list[SimDecision] = []
    series: dict[str, list] = {"t": [], "load": [], "capacity": [], "vms": []}
    n = config.min_vms
    peak = n
    ends = [*trace.times[1:], trace.end]
    for t, end, load in zip(trace.times, ends, trace.loads, strict=True):
        if load is not None:
            want = vms_for(load, capacity=cap, utilisation=threshold, min_vms=config.min_vms, max_vms=config.max_vms)
            if want != n:
                action = ScaleAction.SCALE_OUT if want > n else ScaleAction.SCALE_IN
                decisions.append(_decision(t, str(action), abs(want - n), n, "oracle"))
                n = want
                peak = max(peak, n)
            dt = end - t
            vm_s += n * dt
            if 100.0 * load / (n * cap) > threshold:
                overload_s += dt
        series["t"].append(t)
        series["load"].append(load)
        series["capacity"].append(n * cap)
        series["vms"].append(n)
    return _result(ORACLE, trace, config, overload_s=overload_s, vm_s=vm_s, warm_s=0.0, decisions=decisions,
                   peak=peak, series=series, started=started)


def simulate_reactive_ideal(trace: Trace, config: SimConfig, params: SimParams, *,
                            target: float = REACTIVE_IDEAL_TARGET,
                            stabilisation_seconds: int = REACTIVE_IDEAL_STABILISATION,
                            name: str = REACTIVE_IDEAL) -> SimResult:
    """Sizes for ``target`` % at each sample from the true load (scale-in: the highest need of the last
    ``stabilisation_seconds``); new capacity arrives after the real lag."""
    started = wallclock.perf_counter()
    threshold = config.scale_out_cpu_threshold
    cap = params.capacity
    clone_lag = params.dispatch_seconds + params.clone_seconds
    warm_lag = params.dispatch_seconds + params.warm_start_seconds
    n0 = params.initial_vms if params.initial_vms is not None else config.min_vms
    serving = n0
    pending: list[float] = []  # in-service times of VMs being cloned or started, sorted
    deleting: list[float] = []  # deletion-done times of VMs out of the pool, sorted
    warm = 0
    overload_s = vm_s = warm_s = 0.0
    decisions: list[SimDecision] = []
    series: dict[str, list] = {"t": [], "load": [], "capacity": [], "vms": []}
    peak = n0
    recent: deque[tuple[float, int]] = deque()  # (time, need) of the stabilisation window, needs decreasing
    ends = [*trace.times[1:], trace.end]
    for t, end, load in zip(trace.times, ends, trace.loads, strict=True):
        if load is not None:
            need = vms_for(load, capacity=cap, utilisation=target, min_vms=config.min_vms, max_vms=config.max_vms)
            while recent and recent[-1][1] <= need:
                recent.pop()
            recent.append((t, need))
            while recent[0][0] <= t - stabilisation_seconds:
                recent.popleft()
            want = recent[0][1]
            have = serving + len(pending)
            if want > have:
                count = want - have
                from_pool = min(count, warm)
                warm -= from_pool
                lag = warm_lag if from_pool == count else clone_lag
                pending.extend([t + lag] * count)
                pending.sort()
                decisions.append(_decision(t, str(ScaleAction.SCALE_OUT), count, have, "ideal"))
            elif want < have:
                count = have - want
                # the newest first: VMs still being built are dropped before serving ones leave the pool
                dropped = min(count, len(pending))
                del pending[len(pending) - dropped:]
                serving -= count - dropped
                deleting.extend([t + params.delete_seconds] * count)
                deleting.sort()
                decisions.append(_decision(t, str(ScaleAction.SCALE_IN), count, have, "ideal"))
            peak = max(peak, serving + len(pending) + len(deleting))
        series["t"].append(t)
        series["load"].append(load)
        series["capacity"].append(serving * cap)
        series["vms"].append(serving + len(pending) + len(deleting))
        # account the interval piecewise: VMs join the pool and deleted VMs go away inside it
        now = t
        while True:
            nxt = min(end, pending[0] if pending else math.inf, deleting[0] if deleting else math.inf)
            dt = nxt - now
            if dt > 0 and load is not None:
                vm_s += (serving + len(pending) + len(deleting)) * dt
                warm_s += warm * dt
                if serving == 0 or 100.0 * load / (serving * cap) > threshold:
                    overload_s += dt
            now = nxt
            if now >= end:
                break
            while pending and pending[0] <= now:
                pending.pop(0)
                serving += 1
            while deleting and deleting[0] <= now:
                deleting.pop(0)
                warm = min(config.warm_pool_size, warm + 1)
        while pending and pending[0] <= end:
            pending.pop(0)
            serving += 1
        while deleting and deleting[0] <= end:
            deleting.pop(0)
            warm = min(config.warm_pool_size, warm + 1)
    return _result(name, trace, config, overload_s=overload_s, vm_s=vm_s, warm_s=warm_s, decisions=decisions,
                   peak=peak, series=series, started=started)
