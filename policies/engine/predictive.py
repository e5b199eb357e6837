"""Predictive scaling: a seasonal (time-of-week) forecast with a trend, from the service's own history.

Load is in "VM-percent" (the sum over VMs of utilisation %), so ``ceil(load / target)`` is the VM count
that keeps each VM at the target. The forecast only ever *raises* the count (a floor); it never scales in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WEEK = 7 * 86400
DAY = 86400


@dataclass(frozen=True)
class Forecaster:
    """History on a regular grid: ``values[i]`` is the load at ``start + i × step`` (None = gap)."""

    start: float
    step: float
    values: Sequence[float | None]
    seasons: int = 4  # how many past weeks (or days) to average
    trend_window: float = DAY  # level comparison window for the trend factor
    trend_clamp: tuple[float, float] = (0.5, 2.0)

    def _at(self, t: float) -> float | None:
        i = int((t - self.start) // self.step)
        if 0 <= i < len(self.values):
            return self.values[i]
        return None

    def _season(self, period: float, t: float, now: float) -> list[float]:
        out = []
        k = 1
        while len(out) < self.seasons and t - k * period >= self.start:
            back = t - k * period
            if back <= now:
                v = self._at(back)
                if v is not None:
                    out.append(v)
            k += 1
            if k > self.seasons * 3:
                break
        return out

    def trend(self, now: float, period: float) -> float:
        """Ratio of the recent level to the level one period earlier (clamped); 1 without data."""
        n = max(1, int(self.trend_window // self.step))
        recent, before = [], []
        for j in range(n):
            t = now - j * self.step
            a, b = self._at(t), self._at(t - period)
            if a is not None and b is not None:
                recent.append(a)
                before.append(b)
        if len(recent) < n // 2 or sum(before) <= 0:
            return 1.0
        lo, hi = self.trend_clamp
        return max(lo, min(hi, sum(recent) / sum(before)))

    def forecast(self, t: float, *, now: float) -> float | None:
        """Forecast load at ``t`` (≥ now) knowing history up to ``now``; None with too little history."""
        for period in (WEEK, DAY):
            season = self._season(period, t, now)
            if season:
                return sum(season) / len(season) * self.trend(now, period)
        return None

    def peak(self, *, now: float, horizon: float) -> float | None:
        """Highest forecast over [now, now + horizon] on the history grid."""
        best: float | None = None
        steps = max(1, int(math.ceil(horizon / self.step)))
        for j in range(steps + 1):
            f = self.forecast(now + j * self.step, now=now)
            if f is not None and (best is None or f > best):
                best = f
        return best


def forecast_floor(*, peak_load: float | None, target: float, min_vms: int, max_vms: int) -> int | None:
    """VM count needed for the forecast peak at the target utilisation, within [min, max]."""
    if peak_load is None or target <= 0:
        return None
    need = math.ceil(round(peak_load / target, 9)) if peak_load > 0 else 0
    return max(min_vms, min(max_vms, need))


def combine(*, reactive: int, floor: int | None) -> int:
    """Final desired count: the forecast may raise it, never lower it. Since the result is at least the
    reactive recommendation, a scale-in only happens when the reactive recommendation alone asks for it
    (a forecast never scales in); the forecast floor then limits how far."""
    if floor is None:
        return reactive
    return max(reactive, floor)
