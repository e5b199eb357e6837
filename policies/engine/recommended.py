"""The ``recommended`` policy: the seed's band (scale out above the scale-out threshold, keep headroom on the way
down), decided by the evaluation loop on the freshest measurement instead of waiting for an alert.

* **Scale-out** when both the freshest per-instance measurement and the alert rules' rate window are above the
  trigger (``scale_out_margin`` below the scale-out threshold, so the clone is in service before the threshold
  is crossed), the window for at least ``confirm_seconds``: the load is still there at the moment of the
  decision (a window that still holds a spike that has ended does not trigger), one hot scrape alone does not
  either, and a spike shorter than the confirmation does not buy VMs that would arrive after it. It adds as
  many VMs as bring the measured load to the target at once, instead of one VM per cooldown.
* **Scale-in** only to a count that would carry the highest demand of the last ``stabilisation_seconds`` at or
  below the scale-in target, and the load of now at least ``scale_in_hysteresis`` points below the trigger (so
  the next evaluation does not scale straight back out). The memory holds *demand* (VMs × utilisation, in
  VM-%), not recommendations: a scale-out triggered by a spike is not locked in by its own recommendation, it
  is undone as soon as the demand the window remembers fits in fewer VMs; a spike that recurs inside the
  window keeps its headroom.
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
DEFAULT_SCALE_OUT_MARGIN = 10.0  # scale out this far below the scale-out threshold (a clone's lead time)
DEFAULT_SCALE_IN_TARGET = 75.0  # a scale-in leaves the remembered (hour's) peak demand at or below this
DEFAULT_STABILISATION_SECONDS = 3600  # how long the scale-in remembers demand: an hourly spike stays remembered
DEFAULT_SCALE_IN_HYSTERESIS = 5.0  # and leaves the load of now at least this far below the trigger
DEFAULT_CONFIRM_SECONDS = 180  # the rules' window stays above the trigger this long first (not for a short spike)
DEFAULT_MAX_CHANGE = 3  # VMs added or removed per run at most


@dataclass(frozen=True)
class BandOutcome:
    """The recommended count and why (English notes, joined into the evaluation's reason)."""

    desired: int
    notes: list[str]


def demand(current: int, utilisation: float) -> int:
    """The service's demand in VM-% (the sum over VMs of their utilisation), rounded up to a whole percent so it
    can be kept with the evaluation's history (epoch seconds, integer)."""
    return max(0, math.ceil(round(current * utilisation, 6)))


def remembered_peak(history: Sequence[tuple[float, int]], *, now: float, window_seconds: float) -> int | None:
    """The highest demand recorded in the last ``window_seconds`` (None: nothing recorded)."""
    start = now - window_seconds
    values = [value for at, value in history if start <= at <= now]
    return max(values) if values else None


def sustained(history: Sequence[tuple[float, int]], *, now: float, seconds: float, above: float) -> bool:
    """Whether every demand recorded in the last ``seconds`` is above ``above`` VM-% and the history reaches back
    that far (a load that has just risen is not confirmed yet). ``seconds`` 0: always confirmed."""
    if seconds <= 0:
        return True
    start = now - seconds
    if not history or history[0][0] > start:
        return False
    return all(value > above for at, value in history if start <= at <= now)


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
) -> BandOutcome:
    """The recommended count for ``current`` VMs whose freshest utilisation is ``fresh`` and whose rules'-window
    utilisation is ``window`` (both %), given the highest demand the scale-in window remembers; ``trigger`` is the
    utilisation above which it scales out (the scale-out threshold less the margin)."""
    if current <= 0:
        return BandOutcome(current, [])
    notes: list[str] = []
    hot = min(fresh, window)
    if hot > trigger and confirmed:
        need = math.ceil(round(current * hot / max(target, 1.0), 9))
        desired = max(current + 1, need)
        notes.append(f"utilisation {fresh:.1f}% now, {window:.1f}% over the window, above the scale-out trigger "
                     f"{trigger:g}% → {desired} VMs at the target {target:g}%")
        return BandOutcome(max(min_vms, min(max_vms, desired)), notes)
    if fresh > trigger:
        notes.append(f"utilisation {fresh:.1f}% now, {window:.1f}% over the window: above the scale-out trigger "
                     f"{trigger:g}% for too short a time, no scale-out yet")
        return BandOutcome(max(min_vms, min(max_vms, current)), notes)
    keep = max(1, math.ceil(round(peak_demand / max(scale_in_target, 1.0), 9)))
    if hysteresis > 0:  # the remaining VMs must not be near the trigger now (a scale-in the next minute undoes)
        keep = max(keep, math.ceil(round(current * window / max(trigger - hysteresis, 1.0), 9)))
    if keep < current:
        notes.append(f"highest demand of the scale-in window {peak_demand} VM-% fits {keep} VMs at or below "
                     f"{scale_in_target:g}%")
        return BandOutcome(max(min_vms, min(max_vms, keep)), notes)
    notes.append(f"utilisation {fresh:.1f}% inside the band (scale-in to {current - 1} VMs only once the window's "
                 f"highest demand {peak_demand} VM-% fits at {scale_in_target:g}% and the load of now at "
                 f"{trigger - hysteresis:g}%)")
    return BandOutcome(max(min_vms, min(max_vms, current)), notes)
