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
* **The margin only where it pays** (``margin_share``, 5 %): the margin buys a VM only if at least that share of
  the last hour's fresh readings, each moved along their least-squares trend to when a clone ordered now would
  serve, would overload the current count (counted, or as the normal tail of their spread, whichever is more), or
  if that trend rises at least ``margin_rise`` (0.25) points within a clone's lead time. A level that sits just
  below the threshold for days (overloading it a minute or two an hour) otherwise holds the margin VM for days;
  without the margin the trigger is the threshold itself. And a scale-in to one VM fewer, where the margin would
  not pay, only needs the memory's highest demand to fit below the threshold and the load of now the hysteresis
  below it (not the scale-in target and the trigger), so the VM the margin bought before goes.
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
  and buys nothing, and a spike that needs more than ``spike_reach`` (1) VM beyond the current count is not held
  either: held, a trace whose spikes reach hundreds of VMs kept them for the whole memory (NAB's
  ec2_cpu_utilization_77c1ca, never tuned on: 35 × step's VM-hours); the reactive scale-out serves it.
* **A spike that comes at a fixed period** (an hourly job; ``anticipate_seconds``, 4 hours): when the last
  :data:`PERIOD_EPISODES` spikes of the memory's fresh demand (readings :data:`SPIKE_FACTOR` above its median and
  above what the median's count carries below the threshold) started at equal intervals of at least two clones'
  lead times, the next is expected one period after the last: the count that carries it below the threshold is
  ordered a clone's lead time (and one evaluation) before it and held while it lasts; between spikes the scale-in
  memory, the noise and the recurring-spike hold leave those spikes out, so the VMs go once each has passed. A
  spike that does not come when due ends the expectation. The seed's band holds one VM more for them all the time
  and is still overloaded whenever a spike exceeds it.
* **Within the seed's results** (``step_guard``, on by default; ``policies.engine.step_guard``): the seed's step
  policy replayed beside the policy on the same load bounds the count from below while the service has no
  overload to spare against the seed, and from above once its VM-hours exceed the seed's by 1 %.
* **Rate of rise (an option, off by default)**: with ``lead_seconds`` > 0 the scale-out compares the load
  projected that far ahead (the slowest least-squares rise of the rules'-window demand over the last
  ``rise_parts`` periods of ``rise_seconds``) with the trigger, and sizes for it. On the tuning traces it removed
  less overload than the fixed margin, or cost more VM-hours on noisy 5-minute loads, in every form tried
  (docs/policies.md), so a margin (now from the noise, above) stays the default.
* **Release like the seed (an option, off by default)**: with ``release_like_step``, once the seed's scale-in alert
  would fire at the current count (the rules' window below the config's scale-in threshold for its duration), the
  count keeps at most one VM fewer, whatever the memory or a recurring spike holds. It cut the ELB trace's extra
  VM-hours (+54 % → +29 %) but flapped there (486 flaps) and on NASA, and gave up the hourly 5-minute spikes' gains
  (docs/policies.md), so it is not the default.
* **Warm pool**: nothing special yet. A warm-pool VM comes back in about two minutes instead of five, which
  only shortens the scale-out; the policy does not (yet) weigh the pool's powered-off VMs in its decisions.

The functions are pure: the live loop (``policies.services``) and the simulator call them through
``policies.engine.evaluate.evaluate_policy``.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from operator import itemgetter
from typing import overload

from policies.engine.notes import Note, note

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
# ... if carrying it needs at most this many VMs more than the service runs: the one VM the seed's band keeps too.
# A spike that needs many more is left to the reactive scale-out (held, it kept hundreds of VMs for the memory).
DEFAULT_SPIKE_REACH = 1
CLONE_LEAD_SECONDS = 390  # decision → clone in service: dispatch 30 s + clone 300 s + one evaluation interval
# The projection of the rate of rise over the clone lead (lead_seconds): off by default — on the tuning traces it
# was worse than the fixed margin in every form tried (docs/policies.md); ``recommended:lead_seconds=390`` runs it.
DEFAULT_LEAD_SECONDS = 0
# Release headroom at least as fast as the seed: once the seed's scale-in alert would fire at the current count
# (the rules' window below the config's scale-in threshold for its duration), keep at most one VM fewer.
DEFAULT_RELEASE_LIKE_STEP = False
# The margin only when it pays: at least this share of the last hour's fresh readings, moved along their trend to
# a clone's arrival, would overload the current count (0: the margin always applies).
DEFAULT_MARGIN_SHARE = 0.05
# ... unless the fresh demand's trend rises at least this many points within a clone's lead time
DEFAULT_MARGIN_RISE = 0.25
# A spike that comes at a fixed period (an hourly job): seen this many times at equal intervals in the last
# anticipate_seconds, the next is expected and its capacity is ready a clone's lead time before it (0: off)
DEFAULT_ANTICIPATE_SECONDS = 4 * 3600
PERIOD_EPISODES = 3
PERIOD_TOLERANCE_SECONDS = 120  # ... the intervals agree within this (or 5 % of the period)
SPIKE_FACTOR = 1.25  # a spike reading: this far above the memory's median demand, and above what carries the median
EPISODE_GAP_SECONDS = 600  # readings closer than this are one spike
SPIKE_WINDOW_SECONDS = 360  # a spike stays in the rules' window (5 min) this long after its last reading
ANTICIPATE_EARLY_SECONDS = 60  # capacity ready one evaluation interval earlier than a clone's lead time needs
# Keep the count within the seed's results: the step guard (policies.engine.step_guard) replays the seed beside it
DEFAULT_STEP_GUARD = True


@dataclass
class BandOutcome:
    """The recommended count and why (notes of ``policies.engine.notes``, joined into the evaluation's reason)."""

    desired: int
    notes: list[Note]


def demand(current: int, utilisation: float) -> float:
    """The service's demand in VM-% (the sum over VMs of their utilisation), as measured: float noise rounded
    away (6 decimals), never rounded up to a whole percent — 4 VMs at 29.9 % are 119.6 VM-%, below 4 × 30 %, which
    a whole percent (120) would not be, so every comparison with a threshold sees the measured load. Records kept
    before hold whole percents (rounded up) and load as they are."""
    return max(0.0, round(current * utilisation, 6))


def whole(value: float) -> int:
    """``math.ceil(round(value, 9))``: ``value`` rounded up to a whole number once its float noise is rounded away
    (60.000000001 % of 3 VMs' worth is still 3 VMs), without the decimal rounding where it cannot change the answer —
    a value from 0 to 10⁶ more than 10⁻⁸ above a whole number (the rounding moves it by 5 × 10⁻¹⁰ at most) rounds up
    as it is. The counts of an evaluation are read this way several times a minute."""
    if 0.0 <= value < 1e6:
        floor = math.floor(value)
        if value - floor > 1e-8:
            return floor + 1
    return math.ceil(round(value, 9))


def shown(value: float) -> int:
    """A demand as the evaluation's notes show it: a whole VM-%, rounded up (as records were kept before)."""
    return math.ceil(round(value, 6))


#: One evaluation's record: (epoch seconds, demand over the rules' window, demand in the freshest reading), both
#: VM-%. A record of two items (kept before the freshest demand was recorded) counts its window demand as fresh.
#: Live, when the seed's scale-in rule is asked, a fourth item: the demand of the rule's other metric (memory for a
#: CPU policy, CPU for a memory one) over the rules' window (:func:`step_releases`).
Record = tuple[float, ...]


def _fresh(entry: Record) -> float:
    return entry[2] if len(entry) > 2 else entry[1]


_at = itemgetter(0)
_window_demand = itemgetter(1)
_fresh_demand = itemgetter(2)
_epoch = itemgetter(1)  # of an index pair (fresh demand, epoch)


def records_between(history: Sequence[Record], start: float, end: float) -> Sequence[Record]:
    """The records of ``history`` from ``start`` to ``end`` included, found by bisection: ``history`` is in time
    order, as :class:`Memory` keeps it (every reader of the memory below relies on that). ``history`` itself (a
    list, or a :class:`Memory`: read it, never change it) when it holds no other record — a window already cut to
    these bounds, read again."""
    if history and start <= history[0][0] and history[-1][0] <= end:
        return history
    low = bisect_left(history, start, key=_at)
    return history[low:bisect_right(history, end, lo=low, key=_at)]


def _fresh_values(entries: Sequence[Record]) -> list[float]:
    """The freshest demand of each record (a record of two items: its window demand)."""
    try:
        return list(map(_fresh_demand, entries))
    except IndexError:  # a record kept before the freshest demand was recorded
        return [_fresh(entry) for entry in entries]


#: The fresh demands' line (:func:`fresh_window`) is fitted from sums of whole millionths — of a second for the
#: times, of a VM-% for the demands (kept to 6 decimals, :func:`demand`) — as Python integers: exact, so a sum kept
#: up to date record by record (:meth:`Memory.sums`) is the sum of the window, whatever the order they came in.
SCALE = 10 ** 6

#: (readings, Σt, Σv, Σt², Σtv, Σv²) of a window's freshest demands, in millionths (:data:`SCALE`)
Sums = tuple[int, int, int, int, int, int]


def _millionths(entry: Record) -> tuple[int, int]:
    return round(entry[0] * SCALE), round((entry[2] if len(entry) > 2 else entry[1]) * SCALE)  # _fresh, inline


def _sums(entries: Sequence[Record]) -> Sums:
    """The sums of ``entries``' freshest demands (:data:`Sums`)."""
    pairs = [_millionths(entry) for entry in entries]
    return (len(pairs), sum([t for t, _ in pairs]), sum([v for _, v in pairs]), sum([t * t for t, _ in pairs]),
            sum([t * v for t, v in pairs]), sum([v * v for _, v in pairs]))


def _with(sums: Sums, entry: Record, sign: int) -> Sums:
    """``sums`` with ``entry`` added (``sign`` 1) or taken out (-1)."""
    n, st, sv, stt, stv, svv = sums
    t, v = round(entry[0] * SCALE), round((entry[2] if len(entry) > 2 else entry[1]) * SCALE)  # _millionths, inline
    return n + sign, st + sign * t, sv + sign * v, stt + sign * t * t, stv + sign * t * v, svv + sign * v * v


class Memory(Sequence[Record]):
    """The records the policy keeps between evaluations, in time order, with an index of them by freshest demand
    (``(fresh demand, epoch)`` pairs, ascending) that each evaluation updates for the record it adds and those it
    drops, instead of sorting the memory again: the median and the highest readings the periodic and the recurring
    spike read; and the exact sums of the fresh window's line (:meth:`sums`), moved along as records come and go.
    Immutable but for that cache: :meth:`remember` returns a new memory. Any sequence of records becomes one with
    :meth:`of` (what a memory stored as JSON is read back as); it reads as the list of its records."""

    __slots__ = ("records", "by_fresh", "_sums")

    def __init__(self, records: list[Record], by_fresh: list[tuple[float, float]],
                 sums: tuple[int, Sums] | None = None) -> None:
        self.records, self.by_fresh = records, by_fresh  # the records in time order; the index
        self._sums = sums  # (index of the first record summed, the sums of the records from it to the last)

    @classmethod
    def of(cls, history: Sequence[Record]) -> Memory:
        """``history`` as a memory (in time order: a record stored out of order, after a clock stepped back,
        takes its place by time)."""
        if isinstance(history, Memory):
            return history
        records = sorted(map(tuple, history), key=_at)
        return cls(records, sorted(zip(_fresh_values(records), map(_at, records), strict=True)))

    def remember(self, record: Record, *, now: float, window_seconds: float) -> Memory:
        """This memory with ``record`` added and the records older than ``window_seconds`` before ``now``
        dropped."""
        cut = bisect_left(self.records, now - window_seconds, key=_at)
        records = self.records[cut:]
        by_fresh = list(self.by_fresh)
        for old in self.records[:cut]:
            pair = (_fresh(old), old[0])
            at = bisect_left(by_fresh, pair)
            if at == len(by_fresh) or by_fresh[at] != pair:  # an index that is not of these records: built afresh
                return Memory.of([*records, record])
            del by_fresh[at]
        sums = None
        latest = not records or records[-1][0] <= record[0]  # the newest record (the usual case): added last
        if self._sums is not None and latest:  # the sums move on
            first, summed = self._sums
            for old in self.records[first:cut]:  # dropped records that were summed
                summed = _with(summed, old, -1)
            sums = (max(0, first - cut), _with(summed, record, 1))
        if latest:
            records.append(tuple(record))
        else:
            insort(records, tuple(record), key=_at)
        insort(by_fresh, (_fresh(record), record[0]))
        return Memory(records, by_fresh, sums)

    def sums(self, start: float, end: float) -> Sums:
        """The sums (:data:`Sums`) of the records from ``start`` to ``end`` included: those of the last evaluation's
        window, moved to this one record by record (summed afresh the first time)."""
        records = self.records
        if records and records[-1][0] > end:  # records after ``end`` (a clock stepped back): not kept up to date
            return _sums(records_between(records, start, end))
        target = bisect_left(records, start, key=_at)
        if self._sums is None:
            summed = _sums(records[target:])
        else:
            first, summed = self._sums
            for entry in records[first:target]:  # no longer in the window
                summed = _with(summed, entry, -1)
            for entry in records[target:first]:  # a window that reaches further back
                summed = _with(summed, entry, 1)
        self._sums = (target, summed)
        return summed

    def between(self, start: float, end: float) -> Memory:
        """The records from ``start`` to ``end`` included, as a memory (the whole memory when it holds no other)."""
        records = self.records
        if records and start <= records[0][0] and records[-1][0] <= end:
            return self
        return Memory.of(records_between(records, start, end))

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...

    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        return self.records[index]

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __repr__(self) -> str:
        return f"Memory({self.records!r})"


def remembered_peak(history: Sequence[Record], *, now: float, window_seconds: float) -> float | None:
    """The highest demand over the rules' window recorded in the last ``window_seconds`` (None: nothing)."""
    peak = max(map(_window_demand, records_between(history, now - window_seconds, now)), default=None)
    return None if peak is None else float(peak)


def recurring_peak(history: Sequence[Record], *, now: float, window_seconds: float, apart_seconds: float
                   ) -> float | None:
    """The highest freshest demand reached at least twice, by readings at least ``apart_seconds`` apart, in the
    last ``window_seconds``: the level a spike has recurred at (None: nothing recurred). Readings closer together
    than ``apart_seconds`` are one spike; a level held that long is a sustained load, which counts as well."""
    start = now - window_seconds
    seen_first = seen_last = None
    for value, at in reversed(Memory.of(history).by_fresh):  # highest first
        if not start <= at <= now:
            continue
        if seen_first is None or seen_last is None:
            seen_first = seen_last = at
            continue
        if at - seen_first >= apart_seconds or seen_last - at >= apart_seconds:
            return float(value)
        if at < seen_first:  # the readings seen span from the earliest to the latest
            seen_first = at
        elif at > seen_last:
            seen_last = at
    return None


@dataclass(frozen=True)
class PeriodicSpike:
    """A spike that recurs at a fixed period: when the next one is due, how long one lasts and how high it went."""

    period: float  # seconds between the starts of the last spikes
    next_at: float  # epoch seconds the next one starts, expected
    duration: float  # the longest of the last spikes, from its first reading to its last
    demand: float  # the highest fresh demand (VM-%) of the last spikes
    spans: tuple[tuple[float, float], ...]  # (first reading, last reading) of each spike seen

    def leave_out(self, history: Sequence[Record], *, window_seconds: float) -> list[Record]:
        """``history`` (in time order) without the records that belong to one of the spikes: their readings and the
        rules' window after them."""
        kept: list[Record] = []
        spans, i = self.spans, 0
        for entry in history:
            at = entry[0]
            while i < len(spans) and spans[i][1] + window_seconds < at:
                i += 1
            if i < len(spans) and spans[i][0] <= at:
                continue
            kept.append(entry)
        return kept


def periodic_spike(history: Sequence[Record], *, now: float, seconds: float, threshold: float,
                   min_period: float) -> PeriodicSpike | None:
    """The spike that recurs at a fixed period in the last ``seconds`` of fresh demand, if any: spike readings are
    those :data:`SPIKE_FACTOR` above the median demand and above what the count that carries the median carries
    below ``threshold`` %; readings closer than :data:`EPISODE_GAP_SECONDS` are one spike; the last
    :data:`PERIOD_EPISODES` spikes must start at equal intervals (within :data:`PERIOD_TOLERANCE_SECONDS` or 5 %) of
    at least ``min_period`` (a clone's lead time twice: a shorter period is a load, not a spike), and the next must
    not be overdue (a period that broke is no longer expected)."""
    index = Memory.of(history).between(now - seconds, now).by_fresh  # (fresh demand, epoch), ascending
    if len(index) < 10 or threshold <= 0:
        return None
    median = index[len(index) // 2][0]
    if median <= 0:
        return None
    level = max(SPIKE_FACTOR * median, whole(median / threshold) * threshold)
    if index[-PERIOD_EPISODES][0] <= level:  # fewer spike readings than spikes needed (most evaluations)
        return None
    readings = index[bisect_right(index, (level, math.inf)):]  # the spike readings: above the level
    times = sorted(map(_epoch, readings))
    # a spike starts where the reading before is at least EPISODE_GAP_SECONDS earlier (closer: the same spike)
    starts = [0, *[i for i, (a, b) in enumerate(pairwise(times), 1) if b - a >= EPISODE_GAP_SECONDS]]
    if len(starts) < PERIOD_EPISODES:
        return None
    # the last PERIOD_EPISODES spikes, (first reading, last reading): the period is read from them (all the spikes'
    # spans only once one is found)
    last = [(times[a], times[b - 1])
            for a, b in zip(starts[-PERIOD_EPISODES:], [*starts[1 - PERIOD_EPISODES:], len(times)], strict=True)]
    period = last[-1][0] - last[-2][0]
    if period < min_period:
        return None
    tolerance = max(PERIOD_TOLERANCE_SECONDS, 0.05 * period)
    for (a, _), (b, _) in zip(last, last[1:-1], strict=False):  # the earlier intervals agree with the last
        if abs(b - a - period) > tolerance:
            return None
    duration = max([b - a for a, b in last])
    next_at = last[-1][0] + period
    if now > next_at + duration + EPISODE_GAP_SECONDS:  # overdue: the period broke
        return None
    first_of_last = last[0][0]
    peak = float(max((value for value, at in readings if at >= first_of_last), default=0.0))
    spans = tuple((times[a], times[b - 1]) for a, b in zip(starts, [*starts[1:], len(times)], strict=True))
    return PeriodicSpike(period, next_at, duration, peak, spans)


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
        points = [(entry[0], float(entry[1])) for entry in records_between(history, begin, end)]
        slope = _slope(points, span=seconds)
        if slope is None or slope <= 0:
            return 0.0
        slowest = min(slowest, slope)
    return slowest


@dataclass
class FreshWindow:
    """The freshest demands of a window (:func:`fresh_window`) and their least-squares line, computed once per
    evaluation and read by the noise, the trend and the overload share (``window=``): every reading is the line at
    its time plus its residual. ``count`` 0 when too little is recorded to say anything of their noise or trend.
    The readings' demands are read from ``entries`` when first needed (most evaluations need none of them: the
    overload share's normal tail answers)."""

    count: int = 0  # readings
    slope: float = 0.0  # the line's slope (VM-% per second; 0: too short a span to say)
    mean_t: float = 0.0  # the line passes through the readings' mean (time, VM-%)
    mean_v: float = 0.0
    squares: float = 0.0  # Σ residual² (VM-%²)
    entries: Sequence[Record] = ()  # the window's records
    _values: list[float] | None = field(default=None, init=False, repr=False, compare=False)

    def level(self, at: float) -> float:
        """The line at ``at`` (epoch seconds): the level the readings' trend expects then (VM-%)."""
        return self.mean_v + self.slope * (at - self.mean_t)

    def spread(self) -> float:
        """The readings' standard deviation around the line (VM-%; over n − 2, the line's two parameters)."""
        return math.sqrt(self.squares / max(1, self.count - 2))

    @property
    def values(self) -> list[float]:
        """The readings' freshest demands (VM-%), in time order."""
        if self._values is None:
            self._values = _fresh_values(self.entries)
        return self._values

    def above(self, level: float) -> int:
        """How many readings are more than ``level`` above the line at their time (residual > ``level``, VM-%)."""
        mean_t, mean_v, slope = self.mean_t, self.mean_v, self.slope
        return sum([1 for entry, value in zip(self.entries, self.values, strict=True)
                    if (value - mean_v) - slope * (entry[0] - mean_t) > level])


def fresh_window(history: Sequence[Record], *, now: float, seconds: float, memory: Memory | None = None
                 ) -> FreshWindow:
    """The freshest demands of the last ``seconds`` and their least-squares line (flat through their mean when they
    span less than half of ``seconds``); none with fewer than five readings or a history that does not reach back
    half of ``seconds`` (too little recorded to say anything of their noise or trend). One evaluation computes it
    once and hands it to each reader (``window=``). ``memory``: the memory whose records ``history`` ends with
    (its sums kept up to date, :meth:`Memory.sums`)."""
    start = now - seconds
    entries = records_between(history, start, now)
    if len(entries) < 5 or not history or history[0][0] > now - seconds / 2:
        return FreshWindow()
    sums = memory.sums(start, now) if memory is not None else None
    if sums is None or sums[0] != len(entries):  # no memory, or not the one ``history`` ends with: summed here
        sums = _sums(entries)
    n, st, sv, stt, stv, svv = sums
    deviations = n * svv - sv * sv  # n × Σ(v − mean)², exact
    slope, squares = 0.0, deviations / (n * SCALE * SCALE)
    spread_t = n * stt - st * st  # n × Σ(t − mean)²
    if entries[-1][0] - entries[0][0] >= seconds / 2 and spread_t > 0:  # a slope needs half the window's span
        covariance = n * stv - st * sv  # n × Σ(t − mean)(v − mean)
        slope = covariance / spread_t  # the millionths cancel: VM-% per second
        squares = (deviations * spread_t - covariance * covariance) / (n * spread_t * SCALE * SCALE)
    return FreshWindow(n, slope, st / (n * SCALE), sv / (n * SCALE), max(0.0, squares), entries)


def noise_points(history: Sequence[Record], *, now: float, seconds: float, current: int,
                 window: FreshWindow | None = None) -> float | None:
    """The short-term variability of the freshest reading over the last ``seconds``, in utilisation points at
    ``current`` VMs: the standard deviation of the fresh demands around their least-squares line (a slow trend
    such as a daily rise is not noise; the same on 1-minute and 5-minute data). None with fewer than five
    readings or a history that does not reach back half of ``seconds``."""
    if current <= 0 or seconds <= 0:
        return None
    fresh = window if window is not None else fresh_window(history, now=now, seconds=seconds)
    if not fresh.count:
        return None
    return fresh.spread() / current


def noise_margin(noise: float | None, *, k: float, low: float, high: float) -> float:
    """The scale-out margin (points below the threshold) for a fresh reading whose noise is ``noise`` points:
    ``k`` × the noise, at least ``low`` and at most ``high`` (the fixed margin); ``high`` while the noise is
    unknown (too little recorded) or ``k`` is 0 (off)."""
    if k <= 0 or noise is None:
        return high
    return max(low, min(high, k * noise))


def fresh_trend(history: Sequence[Record], *, now: float, seconds: float, window: FreshWindow | None = None
                ) -> float | None:
    """The least-squares slope of the freshest demand over the last ``seconds`` (VM-% per second; None: too
    little recorded, as :func:`noise_points`)."""
    fresh = window if window is not None else fresh_window(history, now=now, seconds=seconds)
    return fresh.slope if fresh.count else None


def overload_share(history: Sequence[Record], *, now: float, seconds: float, current: int, threshold: float,
                   ahead: float, window: FreshWindow | None = None, enough: float | None = None) -> float | None:
    """The share of the freshest readings of the last ``seconds`` that ``current`` VMs would carry above
    ``threshold`` % once each is moved along the readings' least-squares trend to ``ahead`` seconds from now (when
    a clone ordered now would serve): the noise of the recent past around the level expected then — counted, or
    from the moved readings' standard deviation as a normal tail, whichever is more. None with
    fewer than five readings or a history that does not reach back half of ``seconds`` (as :func:`noise_points`).
    ``enough``: the caller only asks whether the share reaches it — once the tail alone does, it is the answer,
    the readings are not counted."""
    if current <= 0 or seconds <= 0:
        return None
    fresh = window if window is not None else fresh_window(history, now=now, seconds=seconds)
    if not fresh.count:
        return None
    limit = current * threshold
    # each reading moved along the line to then is the line's level then plus the reading's residual
    mean, spread = fresh.level(now + ahead), fresh.spread()
    # ... the share from the readings' spread (a normal tail): the few readings of an hour at 5-minute data, or a
    # spread that has not yet reached the threshold, still count the chance that it will
    tail = (0.5 * math.erfc((limit - mean) / (spread * math.sqrt(2))) if spread > 0
            else 1.0 if mean > limit else 0.0)
    if enough is not None and tail >= enough:
        return tail
    # every reading moves by the slope × between (now + ahead − its time): from the last reading's to the first's
    at = now + ahead
    low, high = sorted((fresh.slope * (at - fresh.entries[-1][0]), fresh.slope * (at - fresh.entries[0][0])))
    # (the line's level and residuals come from the records' floats, the sums from their millionths: this far apart
    # at most)
    allowance = 1e-6 * (1 + abs(fresh.slope)) + 1e-9 * abs(limit)
    values = fresh.values
    if max(values) + high < limit - allowance:  # not even the highest reading, moved, is above the limit
        counted = 0.0
    elif min(values) + low > limit + allowance:  # every reading is
        counted = 1.0
    else:  # a reading overloads then if its residual is above the limit less the line's level then
        counted = fresh.above(limit - mean) / fresh.count
    return max(counted, tail)


def step_releases(history: Sequence[Record], *, now: float, seconds: float, below: float, current: int,
                  other_below: float | None = None) -> bool:
    """Whether the seed's scale-in alert would fire at ``current`` VMs: every demand over the rules' window
    recorded in the last ``seconds`` is below ``below`` % of ``current`` VMs, and the history reaches back that
    far. With ``other_below`` the rule's other metric as well (the seed's rule is CPU *and* memory below their
    thresholds): every such record also holds that metric's demand (its fourth item) below ``other_below`` % —
    a record without it (not read, or kept before) does not let the rule hold."""
    if current <= 0 or not history:
        return False

    def below_both(entry: Record) -> bool:
        if entry[1] >= below * current:
            return False
        return other_below is None or (len(entry) > 3 and entry[3] < other_below * current)

    if seconds <= 0:  # a scale-in duration of 0: the seed's alert fires on one evaluation below the threshold
        return below_both(history[-1])
    start = now - seconds
    if history[0][0] > start:
        return False
    return all(below_both(entry) for entry in records_between(history, start, now))


#: How much further back than the seed's scale-in duration the memory reaches when a rule needs it (the release
#: options): the records come from evaluations at their own pace, so one at or before the duration's start must be
#: kept — for evaluation intervals up to this long.
SEED_RULE_SLACK_SECONDS = 600


def sustained(history: Sequence[Record], *, now: float, seconds: float, above: float) -> bool:
    """Whether every demand recorded in the last ``seconds`` is above ``above`` VM-% and the history reaches back
    that far (a load that has just risen is not confirmed yet). ``seconds`` 0: always confirmed."""
    if seconds <= 0:
        return True
    start = now - seconds
    if not history or history[0][0] > start:
        return False
    return all(entry[1] > above for entry in records_between(history, start, now))


def band_count(
    *,
    current: int,
    fresh: float,
    window: float,
    peak_demand: float,
    trigger: float,
    target: float,
    scale_in_target: float,
    min_vms: int,
    max_vms: int,
    confirmed: bool | Callable[[], bool] = True,
    hysteresis: float = 0.0,
    rise: float = 0.0,
    threshold: float | None = None,
    recurring_demand: float | None = None,
    spike_ceiling: float = 100.0,
    spike_reach: int = 0,
    release: bool = False,
    scale_in_threshold: float = 30.0,
    margin_pays_below: bool | Callable[[], bool] = True,
    anticipated: int = 0,
) -> BandOutcome:
    """The recommended count for ``current`` VMs whose freshest utilisation is ``fresh`` and whose rules'-window
    utilisation is ``window`` (both %), given the highest demand the scale-in window remembers; ``trigger`` is the
    utilisation above which it scales out (the scale-out threshold less the fixed margin). ``confirmed``: whether the
    rules' window has been above it long enough (:func:`sustained`) — a callable is asked only when the load is above
    it.

    ``rise`` (utilisation points) is how far the load is projected to rise before a clone ordered now would be in
    service (the measured rate of rise × the clone lead time): the scale-out compares the load projected then
    with the trigger and sizes for it. ``recurring_demand`` (VM-%) is the freshest demand a spike has reached at
    least twice in the memory (:func:`recurring_peak`): if the count cannot carry it below ``threshold``, the
    count is raised to carry it at ``spike_ceiling`` % at most, and never lowered below that — if that count is at
    most ``spike_reach`` VMs above ``current`` (0: any count); a bigger spike is left to the reactive scale-out.

    ``release``: the seed's scale-in alert would fire now (the rules' window below ``scale_in_threshold`` % for
    its duration, :func:`step_releases`): the count keeps at most one VM fewer than ``current``, whatever the
    memory or a recurring spike holds — headroom goes at least as fast as the seed lets it go.

    ``margin_pays_below`` False: one VM fewer would not need the scale-out margin (too few of the recent fresh
    readings would overload it, :func:`overload_share`), so a scale-in to it needs the window's highest demand to
    fit at ``threshold`` (not ``scale_in_target``) and the load of now below ``threshold`` less the hysteresis (not
    the trigger): the VM the margin bought is not held for a level that sits just below the threshold. A callable
    is asked only when the rest of that scale-in holds (the share is counted only where it decides).

    ``anticipated``: the count that carries a periodic spike that is due (:func:`periodic_spike`, its capacity
    ready a clone's lead time before it and held while it lasts): scaled out to ahead of it, never scaled in below
    it (0: none due)."""
    if current <= 0:
        return BandOutcome(current, [])
    notes: list[Note] = []
    hot = min(fresh, window)
    projected = hot + max(0.0, rise)
    if projected > trigger or fresh + max(0.0, rise) > trigger:  # above the trigger: what was seen, for the note
        seen = {"fresh": fresh, "window": window, "trigger": trigger}
        if rise > 0:
            seen["projected"] = projected
        if projected > trigger and (confirmed() if callable(confirmed) else confirmed):
            need = whole(current * projected / max(target, 1.0))
            desired = max(current + 1, need)
            notes.append(note("rec_out_rising" if rise > 0 else "rec_out", **seen, count=desired, target=target))
            return BandOutcome(max(min_vms, min(max_vms, desired)), notes)
        if fresh + max(0.0, rise) > trigger:
            notes.append(note("rec_out_unconfirmed_rising" if rise > 0 else "rec_out_unconfirmed", **seen))
            return BandOutcome(max(min_vms, min(max_vms, current)), notes)
    if anticipated > current:
        notes.append(note("rec_anticipate", count=anticipated))
        return BandOutcome(max(min_vms, min(max_vms, anticipated)), notes)
    carry = anticipated
    if recurring_demand is not None and not release:
        carry = whole(recurring_demand / max(spike_ceiling, 1.0))
        limit = threshold if threshold is not None else trigger
        if spike_reach > 0 and carry > current + spike_reach and recurring_demand > current * limit:
            # holding a spike pays where it costs a VM or so, as the seed's band keeps one; a spike that needs many
            # more VMs than the service runs would hold them all for the memory (on a trace whose spikes reach
            # hundreds of VMs: 35 × step's VM-hours) — reactive scaling serves it, as step does
            notes.append(note("rec_spike_out_of_reach", demand=shown(recurring_demand), count=carry,
                              current=current, reach=spike_reach))
            carry = anticipated
        if recurring_demand > current * limit and carry > current:
            notes.append(note("rec_spike", demand=shown(recurring_demand), current=current, limit=limit,
                              count=carry, ceiling=spike_ceiling))
            return BandOutcome(max(min_vms, min(max_vms, carry)), notes)
    keep = max(1, whole(peak_demand / max(scale_in_target, 1.0)), carry)
    if hysteresis > 0:  # the remaining VMs must not be near the trigger now (a scale-in the next minute undoes)
        keep = max(keep, whole(current * window / max(trigger - hysteresis, 1.0)))
    if margin_pays_below is not True and keep >= current > 1 and threshold is not None:
        fewer = current - 1
        if (peak_demand <= fewer * threshold and fewer >= carry
                and current * window <= fewer * (threshold - hysteresis)
                and not (margin_pays_below() if callable(margin_pays_below) else margin_pays_below)):
            notes.append(note("rec_margin_not_needed_below", peak=shown(peak_demand), count=fewer,
                              threshold=threshold))
            return BandOutcome(max(min_vms, min(max_vms, fewer)), notes)
    if release and keep >= current > 1:
        notes.append(note("rec_release_like_step", window=window, threshold=scale_in_threshold, count=current - 1))
        return BandOutcome(max(min_vms, min(max_vms, current - 1)), notes)
    if keep < current:
        notes.append(note("rec_scale_in", peak=shown(peak_demand), count=keep, target=scale_in_target))
        return BandOutcome(max(min_vms, min(max_vms, keep)), notes)
    held = {"fresh": fresh, "fewer": current - 1, "peak": shown(peak_demand), "target": scale_in_target,
            "below": trigger - hysteresis}
    if recurring_demand is not None and carry >= current:
        notes.append(note("rec_hold_spike", **held, demand=shown(recurring_demand), ceiling=spike_ceiling))
    else:
        notes.append(note("rec_hold", **held))
    return BandOutcome(max(min_vms, min(max_vms, current)), notes)
