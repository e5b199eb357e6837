"""Predictive scaling: a seasonal (time-of-week) forecast with a trend, from the service's own history.

Load is in "VM-percent" (the sum over VMs of utilisation %), so ``ceil(load / target)`` is the VM count
that keeps each VM at the target. The forecast only ever *raises* the count (a floor); it never scales in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

WEEK = 7 * 86400
DAY = 86400


class Forecaster:
    """History on a regular grid: ``values[i]`` is the load of the bin starting at ``start + i × step``
    (None = gap). A bin counts as known at ``now`` only once it has ended, so the same object can be
    replayed over a whole trace without looking ahead (the simulator) or built from a Prometheus range
    query (the live loop). Prefix sums make the trend O(1)."""

    def __init__(
        self,
        *,
        start: float,
        step: float,
        values: Sequence[float | None],
        seasons: int = 4,
        trend_window: float = DAY,
        trend_clamp: tuple[float, float] = (0.5, 2.0),
        smooth_seconds: float = 300.0,
        recent_window: float = 2 * DAY,
        error_window: float = 6 * 3600.0,
        error_tolerance: float = 0.5,
    ) -> None:
        self.start, self.step, self.values = start, step, list(values)
        # average ±this long around each past season's time (in time, not bins: the same at 1 and 5 minutes)
        self.smooth_bins = max(0, int(round(smooth_seconds / step)))
        # the forecast never exceeds the highest load of this recent past (a peak the last days did not show)
        self.recent_window = recent_window
        # the forecast's weight falls as its mean relative error over this recent past approaches the tolerance
        self.error_window, self.error_tolerance = error_window, error_tolerance
        self._max_table = _sparse_max(self.values)
        # (period, bin) -> that bin's relative forecast error (None: nothing to compare). A bin's error depends only
        # on the history before it, so the simulator, which replays one object over a whole trace, computes each
        # once instead of at every evaluation that looks back over it.
        self._errors: dict[tuple[float, int], float | None] = {}
        self.seasons, self.trend_window, self.trend_clamp = seasons, trend_window, trend_clamp
        self._sum = [0.0]
        self._count = [0]
        for v in self.values:
            self._sum.append(self._sum[-1] + (v or 0.0))
            self._count.append(self._count[-1] + (v is not None))

    def _complete(self, now: float) -> int:
        """Number of bins that have ended by ``now``."""
        return max(0, min(len(self.values), int((now - self.start) // self.step)))

    def _mean(self, i0: int, i1: int) -> tuple[float, int]:
        i0, i1 = max(0, i0), max(0, i1)
        n = self._count[i1] - self._count[i0]
        return ((self._sum[i1] - self._sum[i0]) / n if n else 0.0), n

    def trend(self, now: float, period: float) -> float:
        """Ratio of the recent level to the level one ``period`` earlier (clamped); 1 without data."""
        j1 = self._complete(now)
        n = max(1, int(self.trend_window // self.step))
        p = int(round(period / self.step))
        recent, nr = self._mean(j1 - n, j1)
        before, nb = self._mean(j1 - n - p, j1 - p)
        if j1 - n - p < 0 or nr < n // 2 or nb < n // 2 or before <= 0:
            return 1.0
        lo, hi = self.trend_clamp
        return max(lo, min(hi, recent / before))

    def _season(self, period: float, t: float, done: int) -> list[float]:
        p = int(round(period / self.step))
        i = int((t - self.start) // self.step)
        out: list[float] = []
        k = 1
        while len(out) < self.seasons and i - k * p >= 0 and k <= self.seasons * 2:
            j = i - k * p
            lo, hi = j - self.smooth_bins, min(j + self.smooth_bins + 1, done)
            if hi > lo:
                mean, n = self._mean(lo, hi)
                if n:
                    out.append(mean)
            k += 1
        return out

    def _period(self, now: float) -> float | None:
        """Weekly seasonality once a full week is known, else daily once a day is, else none."""
        known = self._complete(now) * self.step
        if known >= WEEK + self.step:
            return WEEK
        if known >= DAY + self.step:
            return DAY
        return None

    def forecast(self, t: float, *, now: float) -> float | None:
        """Forecast load at ``t`` (≥ now) knowing the bins ended by ``now``; None with too little history."""
        period = self._period(now)
        if period is None:
            return None
        season = self._season(period, t, self._complete(now))
        if not season:
            return None
        return sum(season) / len(season) * self.trend(now, period)

    def recent_max(self, now: float) -> float | None:
        """The highest known load of the last ``recent_window`` (None: none known)."""
        j1 = self._complete(now)
        j0 = max(0, j1 - int(round(self.recent_window / self.step)))
        return _range_max(self._max_table, j0, j1)

    def weight(self, now: float) -> float:
        """1 while the forecast matched the recent past, falling to 0 as its mean relative error over the last
        ``error_window`` reaches ``error_tolerance`` (after a regime change the forecast stops driving)."""
        period = self._period(now)
        if period is None:
            return 0.0
        j1 = self._complete(now)
        n = max(1, int(round(self.error_window / self.step)))
        errors: list[float] = []
        stride = max(1, n // 24)  # two dozen bins spread over the window say as much as all of them
        for i in range(j1 - 1, max(0, j1 - n) - 1, -stride):
            error = self._bin_error(period, i)
            if error is not None:
                errors.append(error)
        if not errors:
            return 1.0
        error = sum(errors) / len(errors)
        return max(0.0, 1.0 - error / self.error_tolerance) if self.error_tolerance > 0 else 0.0

    def _bin_error(self, period: float, i: int) -> float | None:
        """How far the forecast for bin ``i`` (knowing only what came before it) was from its load, relative to the
        larger of the two; None for a gap or a bin with nothing to forecast from."""
        key = (period, i)
        if key in self._errors:
            return self._errors[key]
        error: float | None = None
        actual = self.values[i]
        if actual is not None:
            t = self.start + i * self.step
            season = self._season(period, t, i)
            if season:
                predicted = sum(season) / len(season) * self.trend(t, period)
                scale = max(predicted, actual)
                error = abs(predicted - actual) / scale if scale > 0 else 0.0
        self._errors[key] = error
        return error

    def peak(self, *, now: float, horizon: float) -> float | None:
        """Highest forecast over [now, now + horizon] on the history grid, weighted by how well the forecast
        matched the recent past (towards the latest load) and never above the recent past's highest load."""
        period = self._period(now)
        if period is None:
            return None
        done = self._complete(now)
        factor = self.trend(now, period)
        best: float | None = None
        steps = max(1, int(math.ceil(horizon / self.step)))
        for j in range(steps + 1):
            season = self._season(period, now + j * self.step, done)
            if season:
                f = sum(season) / len(season) * factor
                if best is None or f > best:
                    best = f
        if best is None:
            return None
        latest = next((v for v in reversed(self.values[max(0, done - 3):done]) if v is not None), None)
        if latest is not None:
            best = latest + self.weight(now) * (best - latest)
        ceiling = self.recent_max(now)
        return min(best, ceiling) if ceiling is not None else best


def _sparse_max(values: Sequence[float | None]) -> list[list[float]]:
    """Sparse table for range maxima (gaps as -inf): O(n log n) once, O(1) per query."""
    table = [[-math.inf if v is None else v for v in values]]
    width = 1
    while 2 * width <= len(values):
        prev = table[-1]
        table.append([max(prev[i], prev[i + width]) for i in range(len(prev) - width)])
        width *= 2
    return table


def _range_max(table: list[list[float]], i0: int, i1: int) -> float | None:
    """The highest value of bins [i0, i1) (None: empty or all gaps)."""
    if i1 <= i0:
        return None
    level = (i1 - i0).bit_length() - 1
    value = max(table[level][i0], table[level][i1 - (1 << level)])
    return None if value == -math.inf else value


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
