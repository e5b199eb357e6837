"""Target tracking (Kubernetes HPA / AWS target tracking): ``desired = ceil(current × metric / target)``."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass
class VMUtilisation:
    """One VM's utilisation (percent) and when it went into service (None: a base VM, always warm)."""

    utilisation: float
    in_service_at: datetime | None = None


def warm_utilisation(vms: Iterable[VMUtilisation], *, now: datetime, warmup_seconds: int) -> float | None:
    """Average utilisation of the VMs past their warm-up; None when no VM is warm (unknown → no action)."""
    cutoff = now - timedelta(0, warmup_seconds)  # (days, seconds): positional, cheaper at every evaluation
    values = [vm.utilisation for vm in vms if vm.in_service_at is None or vm.in_service_at <= cutoff]
    if not values:
        return None
    return sum(values) / len(values)


def desired_count(*, current: int, metric: float, target: float, tolerance: float) -> int:
    """HPA formula with a tolerance band: inside ``|metric/target - 1| <= tolerance`` nothing changes."""
    if current <= 0 or target <= 0:
        return current
    ratio = metric / target
    if abs(ratio - 1.0) <= tolerance:
        return current
    # Round away float noise (60.000000001 % of a 3-VM service is still 3 VMs' worth).
    return max(1, math.ceil(round(current * ratio, 9)))


def scale_in_count(*, current: int, metric: float, scale_in_target: float) -> int:
    """The fewest VMs that carry the measured load at or below ``scale_in_target`` % (asymmetric band: a
    scale-in target above the scale-out target lets the service run hotter on the way down)."""
    if current <= 0 or scale_in_target <= 0:
        return current
    return min(current, max(1, math.ceil(round(current * metric / scale_in_target, 9))))


def clamp(desired: int, *, current: int, min_vms: int, max_vms: int, max_change: int | None) -> int:
    """Clamp to [min, max] and to at most ``max_change`` VMs away from ``current`` (per-run maximum)."""
    desired = max(min_vms, min(max_vms, desired))
    if max_change is not None and max_change > 0:
        desired = max(current - max_change, min(current + max_change, desired))
    return desired


def stabilised(
    *, history: Sequence[tuple[float, int]], now: float, window_seconds: float, raw: int, current: int
) -> int:
    """Scale-down stabilisation (HPA): when ``raw`` is below ``current``, use the highest recommendation
    of the last ``window_seconds`` (``history`` holds (epoch seconds, recommendation), ``raw`` included by
    the caller or not — it is considered either way). Scale-out is never delayed."""
    if raw >= current:
        return raw
    best = raw
    start = now - window_seconds
    for at, recommendation in history:
        if at >= start and recommendation > best:
            best = recommendation
    return min(best, current)


def trim_history(history: Sequence[tuple[float, int]], *, now: float, window_seconds: float) -> list[tuple[float, int]]:
    """Drop recommendations older than the window (kept per service between evaluations)."""
    start = now - window_seconds
    return [(at, rec) for at, rec in history if at >= start]


def flap_safe_scale_in(*, current: int, metric: float, remove: int, scale_out_threshold: float) -> int:
    """Azure's flapping check: how many of ``remove`` VMs can go without the remaining VMs crossing the
    scale-out threshold (projected utilisation = metric × current / remaining). 0 blocks the scale-in."""
    for k in range(remove, 0, -1):
        remaining = current - k
        if remaining <= 0:
            continue
        if metric * current / remaining < scale_out_threshold:
            return k
    return 0
