"""The ``recommended`` policy: the seed's band (scale out above the scale-out threshold, keep headroom on the way
down), decided by the evaluation loop on the freshest measurement instead of waiting for an alert.

* **Scale-out** when both the freshest per-instance measurement and the alert rules' rate window are above the
  trigger (a margin below the scale-out threshold, so the clone is in service before the threshold is crossed),
  the window for at least ``confirm_seconds``: the load is still there at the moment of the
  decision (a window that still holds a spike that has ended does not trigger), one hot scrape alone does not
  either, and a spike shorter than the confirmation does not buy VMs that would arrive after it. It adds as
  many VMs as bring the measured load to the target at once, instead of one VM per cooldown.
* **A margin that pays for itself**: the early VM is bought only when the load is close enough to the threshold
  that its noise will cross it before a clone arrives. The margin is ``margin_noise_k`` (2) × the noise of the
  freshest reading — its standard deviation around its least-squares trend over the last
  ``margin_noise_seconds`` (an hour, the scale-in memory), in utilisation points at the current count — at least
  ``margin_min`` (5) and at most ``scale_out_margin`` (10, also while less than half an hour is recorded). A
  smooth load gets a small margin (fewer VM-hours for a peak that stays below the threshold), a noisy or spiky
  one the full 10 points; a slow rise such as a daily cycle is trend, not noise.
* **Scale-in** only to a count that would carry the highest demand of the last ``stabilisation_seconds`` at or
  below the scale-in target, and the load of now at least ``scale_in_hysteresis`` points below the trigger (so
  the next evaluation does not scale straight back out). The memory holds *demand* (VMs × utilisation, in
  VM-%), not recommendations: a scale-out triggered by a spike is not locked in by its own recommendation, it
  is undone as soon as the demand the window remembers fits in fewer VMs; a spike that recurs inside the
  window keeps its headroom.
* **A spike that recurs** buys the capacity that carries it. Every evaluation records the demand over the rules'
  window *and* in the freshest reading; a spike seen twice (two readings at least a clone's lead time apart) in the
  last ``recurrence_seconds`` (twice the scale-in memory: a spike recurring at least once per memory window is
  always seen twice) that the current count could not carry below the scale-out threshold raises the count to
  carry it at ``spike_ceiling`` (100 %) at most, and the scale-in never goes below that count while the spike is
  remembered. Reactive scaling can never catch a spike shorter than the clone lag (the window averages it away,
  the confirmation filters it, a clone arrives after it); only capacity held in advance helps, and holding it at
  most fully busy (not below the threshold) costs one VM where the seed's band keeps one too. One spike is chance
  and buys nothing.
* **Rate of rise (an option, off by default)**: with ``lead_seconds`` > 0 the scale-out compares the load
  projected that far ahead (the slowest least-squares rise of the rules'-window demand over the last
  ``rise_parts`` periods of ``rise_seconds``) with the trigger, and sizes for it. On the tuning traces it removed
  less overload than the fixed margin, or cost more VM-hours on noisy 5-minute loads, in every form tried
  (docs/policies.md), so a margin (now from the noise, above) stays the default.
* **Warm pool**: nothing special yet. A warm-pool VM comes back in about two minutes instead of five, which
  only shortens the scale-out; the policy does not (yet) weigh the pool's powered-off VMs in its decisions.

The functions are pure: the live loop (``policies.services``) and the simulator call them through
``policies.engine.evaluate.evaluate_policy``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: Default knobs of a new ``recommended`` policy (chosen on the suite's tuning traces, see docs/policies.md).
DEFAULT_TARGET = 70.0  # a scale-out sizes the service to this utilisation
DEFAULT_SCALE_OUT_MARGIN = 10.0  # scale out at most this far below the scale-out threshold (a clone's lead time)
# ... and k × the noise of the fresh reading (its standard deviation around its trend over the last hour, the
# scale-in memory) below it, at least DEFAULT_MARGIN_MIN: a smooth load gets a small margin, a noisy one the full
DEFAULT_MARGIN_NOISE_K = 2.0
DEFAULT_MARGIN_NOISE_SECONDS = 3600
DEFAULT_MARGIN_MIN = 5.0
DEFAULT_SCALE_IN_TARGET = 75.0  # a scale-in leaves the remembered (hour's) peak demand at or below this
DEFAULT_STABILISATION_SECONDS = 3600  # how long the scale-in remembers demand: an hourly spike stays remembered
DEFAULT_SCALE_IN_HYSTERESIS = 5.0  # and leaves the load of now at least this far below the trigger
DEFAULT_CONFIRM_SECONDS = 180  # the rules' window stays above the trigger this long first (not for a short spike)
DEFAULT_MAX_CHANGE = 3  # VMs added or removed per run at most
# A spike is remembered twice as long as the scale-in memory: a spike recurring at least once per memory window
# (the hourly one) is always seen twice in it.
DEFAULT_RECURRENCE_SECONDS = 2 * DEFAULT_STABILISATION_SECONDS
DEFAULT_SPIKE_CEILING = 100.0  # a recurring spike is carried at this utilisation at most (busy, not saturated)
CLONE_LEAD_SECONDS = 390  # decision → clone in service: dispatch 30 s + clone 300 s + one evaluation interval
# The projection of the rate of rise over the clone lead (lead_seconds): off by default — on the tuning traces it
# was worse than the fixed margin in every form tried (docs/policies.md); ``recommended:lead_seconds=390`` runs it.
DEFAULT_LEAD_SECONDS = 0


@dataclass(frozen=True)
class BandOutcome:
    """The recommended count and why (English notes, joined into the evaluation's reason)."""

    desired: int
    notes: list[str]


def demand(current: int, utilisation: float) -> int:
    """The service's demand in VM-% (the sum over VMs of their utilisation), rounded up to a whole percent so it
    can be kept with the evaluation's history (epoch seconds, integer)."""
    return max(0, math.ceil(round(current * utilisation, 6)))


#: One evaluation's record: (epoch seconds, demand over the rules' window, demand in the freshest reading), both
#: VM-%. A record of two items (kept before the freshest demand was recorded) counts its window demand as fresh.
Record = tuple[float, ...]


def _fresh(entry: Record) -> float:
    return entry[2] if len(entry) > 2 else entry[1]


def trim(history: Sequence[Record], *, now: float, window_seconds: float) -> list[Record]:
    """Drop records older than ``window_seconds`` (kept per service between evaluations)."""
    start = now - window_seconds
    return [tuple(entry) for entry in history if entry[0] >= start]


def remembered_peak(history: Sequence[Record], *, now: float, window_seconds: float) -> int | None:
    """The highest demand over the rules' window recorded in the last ``window_seconds`` (None: nothing)."""
    start = now - window_seconds
    values = [entry[1] for entry in history if start <= entry[0] <= now]
    return int(max(values)) if values else None


def recurring_peak(history: Sequence[Record], *, now: float, window_seconds: float, apart_seconds: float
                   ) -> int | None:
    """The highest freshest demand reached at least twice, by readings at least ``apart_seconds`` apart, in the
    last ``window_seconds``: the level a spike has recurred at (None: nothing recurred). Readings closer together
    than ``apart_seconds`` are one spike; a level held that long is a sustained load, which counts as well."""
    start = now - window_seconds
    seen_first = seen_last = None
    for entry in sorted((e for e in history if start <= e[0] <= now), key=_fresh, reverse=True):
        at = entry[0]
        if seen_first is None or seen_last is None:
            seen_first = seen_last = at
            continue
        if at - seen_first >= apart_seconds or seen_last - at >= apart_seconds:
            return int(_fresh(entry))
        seen_first, seen_last = min(seen_first, at), max(seen_last, at)
    return None


def _slope(points: Sequence[tuple[float, float]], *, span: float) -> float | None:
    """The least-squares slope of ``points`` (None: fewer than three, or spanning less than half of ``span``)."""
    if len(points) < 3 or points[-1][0] - points[0][0] < span / 2:
        return None
    mean_t = sum(t for t, _ in points) / len(points)
    mean_v = sum(v for _, v in points) / len(points)
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var <= 0:
        return None
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / var


def rise_rate(history: Sequence[Record], *, now: float, seconds: float, parts: int = 2) -> float:
    """How fast the demand over the rules' window has been rising (VM-% per second): the least-squares slope over
    each of the last ``parts`` periods of ``seconds``, the slowest of them — a rise counts only once it has lasted
    that long (one noisy step up is not a trend). 0 when any of them fell or too little is recorded."""
    if seconds <= 0:
        return 0.0
    slowest = math.inf
    for k in range(max(1, parts)):
        end, begin = now - k * seconds, now - (k + 1) * seconds
        points = [(entry[0], float(entry[1])) for entry in history if begin <= entry[0] <= end]
        slope = _slope(points, span=seconds)
        if slope is None or slope <= 0:
            return 0.0
        slowest = min(slowest, slope)
    return slowest


def noise_points(history: Sequence[Record], *, now: float, seconds: float, current: int) -> float | None:
    """The short-term variability of the freshest reading over the last ``seconds``, in utilisation points at
    ``current`` VMs: the standard deviation of the fresh demands around their least-squares line (a slow trend
    such as a daily rise is not noise; the same on 1-minute and 5-minute data). None with fewer than five
    readings or a history that does not reach back half of ``seconds``."""
    if current <= 0 or seconds <= 0:
        return None
    start = now - seconds
    points = [(entry[0], float(_fresh(entry))) for entry in history if start <= entry[0] <= now]
    if len(points) < 5 or not history or history[0][0] > now - seconds / 2:
        return None
    slope = _slope(points, span=seconds) or 0.0
    mean_t = sum(t for t, _ in points) / len(points)
    mean_v = sum(v for _, v in points) / len(points)
    var = sum((v - mean_v - slope * (t - mean_t)) ** 2 for t, v in points) / (len(points) - 2)
    return math.sqrt(var) / current


def noise_margin(noise: float | None, *, k: float, low: float, high: float) -> float:
    """The scale-out margin (points below the threshold) for a fresh reading whose noise is ``noise`` points:
    ``k`` × the noise, at least ``low`` and at most ``high`` (the fixed margin); ``high`` while the noise is
    unknown (too little recorded) or ``k`` is 0 (off)."""
    if k <= 0 or noise is None:
        return high
    return max(low, min(high, k * noise))


def sustained(history: Sequence[Record], *, now: float, seconds: float, above: float) -> bool:
    """Whether every demand recorded in the last ``seconds`` is above ``above`` VM-% and the history reaches back
    that far (a load that has just risen is not confirmed yet). ``seconds`` 0: always confirmed."""
    if seconds <= 0:
        return True
    start = now - seconds
    if not history or history[0][0] > start:
        return False
    return all(entry[1] > above for entry in history if start <= entry[0] <= now)


def band_count(
    *,
    current: int,
    fresh: float,
    window: float,
    peak_demand: int,
    trigger: float,
    target: float,
    scale_in_target: float,
    min_vms: int,
    max_vms: int,
    confirmed: bool = True,
    hysteresis: float = 0.0,
    rise: float = 0.0,
    threshold: float | None = None,
    recurring_demand: int | None = None,
    spike_ceiling: float = 100.0,
) -> BandOutcome:
    """The recommended count for ``current`` VMs whose freshest utilisation is ``fresh`` and whose rules'-window
    utilisation is ``window`` (both %), given the highest demand the scale-in window remembers; ``trigger`` is the
    utilisation above which it scales out (the scale-out threshold less the fixed margin).

    ``rise`` (utilisation points) is how far the load is projected to rise before a clone ordered now would be in
    service (the measured rate of rise × the clone lead time): the scale-out compares the load projected then
    with the trigger and sizes for it. ``recurring_demand`` (VM-%) is the freshest demand a spike has reached at
    least twice in the memory (:func:`recurring_peak`): if the count cannot carry it below ``threshold``, the
    count is raised to carry it at ``spike_ceiling`` % at most, and never lowered below that."""
    if current <= 0:
        return BandOutcome(current, [])
    notes: list[str] = []
    hot = min(fresh, window)
    projected = hot + max(0.0, rise)
    ahead = f" (rising: {projected:.1f}% when a clone would serve)" if rise > 0 else ""
    if projected > trigger and confirmed:
        need = math.ceil(round(current * projected / max(target, 1.0), 9))
        desired = max(current + 1, need)
        notes.append(f"utilisation {fresh:.1f}% now, {window:.1f}% over the window{ahead}, above the scale-out "
                     f"trigger {trigger:g}% → {desired} VMs at the target {target:g}%")
        return BandOutcome(max(min_vms, min(max_vms, desired)), notes)
    if fresh + max(0.0, rise) > trigger:
        notes.append(f"utilisation {fresh:.1f}% now, {window:.1f}% over the window{ahead}: above the scale-out "
                     f"trigger {trigger:g}% for too short a time, no scale-out yet")
        return BandOutcome(max(min_vms, min(max_vms, current)), notes)
    carry = 0
    if recurring_demand is not None:
        carry = math.ceil(round(recurring_demand / max(spike_ceiling, 1.0), 9))
        limit = threshold if threshold is not None else trigger
        if recurring_demand > current * limit and carry > current:
            notes.append(f"a spike of {recurring_demand} VM-% recurred in the memory, more than {current} VMs carry "
                         f"below {limit:g}% → {carry} VMs carry it at {spike_ceiling:g}% at most")
            return BandOutcome(max(min_vms, min(max_vms, carry)), notes)
    keep = max(1, math.ceil(round(peak_demand / max(scale_in_target, 1.0), 9)), carry)
    if hysteresis > 0:  # the remaining VMs must not be near the trigger now (a scale-in the next minute undoes)
        keep = max(keep, math.ceil(round(current * window / max(trigger - hysteresis, 1.0), 9)))
    if keep < current:
        notes.append(f"highest demand of the scale-in window {peak_demand} VM-% fits {keep} VMs at or below "
                     f"{scale_in_target:g}%")
        return BandOutcome(max(min_vms, min(max_vms, keep)), notes)
    spike = (f", a recurring spike of {recurring_demand} VM-% at {spike_ceiling:g}%"
             if recurring_demand is not None and carry >= current else "")
    notes.append(f"utilisation {fresh:.1f}% inside the band (scale-in to {current - 1} VMs only once the window's "
                 f"highest demand {peak_demand} VM-% fits at {scale_in_target:g}% and the load of now at "
                 f"{trigger - hysteresis:g}%{spike})")
    return BandOutcome(max(min_vms, min(max_vms, current)), notes)
