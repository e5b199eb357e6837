"""The recommended policy's memory (``policies.engine.recommended.Memory``): the index by freshest demand and the
sums of the fresh window's line that it keeps up to date evaluation by evaluation are those of its records, and an
evaluation decides the same from a memory carried over (the simulator) as from the records stored as JSON and read
back (the live loop)."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta

from policies.engine import recommended as rec
from policies.engine.evaluate import PolicyInput, evaluate_policy, recommended_settings
from policies.engine.target_tracking import VMUtilisation

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _stored(records) -> list[list[float]]:
    """Records as the live loop stores them and reads them back (a JSON list of lists)."""
    return json.loads(json.dumps([list(r) for r in records]))


def test_the_memory_kept_up_to_date_is_the_memory_built_afresh_from_its_records():
    rng = random.Random(7)
    memory = rec.Memory.of([])
    now = T0.timestamp()
    stepped_back = 0
    for i in range(700):
        # irregular intervals, gaps, and now and then a clock that steps back
        step = rng.choice([60, 60, 60, 37, 300, 1800]) if i % 97 else -90
        now += step
        stepped_back += step < 0
        fresh = round(rng.choice([rng.uniform(0, 400), 1000.0, 0.0]), 6)
        record = (now, round(rng.uniform(0, 400), 6), fresh) if i % 5 else (now, round(rng.uniform(0, 400), 6))
        memory = memory.remember(record, now=now, window_seconds=rng.choice([3600, 3600, 4 * 3600, 1800]))
        afresh = rec.Memory.of(_stored(memory))
        assert memory.records == afresh.records  # in time order, the clock's step back included
        assert memory.by_fresh == afresh.by_fresh == sorted(afresh.by_fresh)
        start = now - rng.choice([1800, 3600, 5400])
        assert memory.sums(start, now) == afresh.sums(start, now)  # kept up to date = summed afresh, exactly
    assert stepped_back >= 5


def test_the_sums_fit_the_line_the_readings_have():
    # a rise of 0.02 VM-% a second with ± 3 VM-% around it: the slope and the spread come back from the sums
    now = T0.timestamp()
    history = [(now - 60 * m, 200.0, round(200 - 0.02 * 60 * m + (3 if m % 2 else -3), 6)) for m in range(60, -1, -1)]
    window = rec.fresh_window(history, now=now, seconds=3600)
    assert math.isclose(window.slope, 0.02, rel_tol=1e-3)
    assert math.isclose(window.spread(), 3.0, rel_tol=0.05)
    assert math.isclose(window.level(now), 200.0, abs_tol=1.0)
    # the same window from a memory that carried its sums over the hour
    memory = rec.Memory.of([])
    for entry in history:
        memory = memory.remember(entry, now=entry[0], window_seconds=4 * 3600)
        rec.fresh_window(memory.records, now=entry[0], seconds=3600, memory=memory)
    assert rec.fresh_window(memory.records, now=now, seconds=3600, memory=memory) == window


def _inp(now: datetime, *, current: int, window: float, fresh: float, history, guard) -> PolicyInput:
    return PolicyInput(now=now, enabled=True, min_vms=2, max_vms=10, cooldown_seconds=300, current_vm_count=current,
                       vms=[VMUtilisation(window)] * current, fresh_vms=[VMUtilisation(fresh)] * current,
                       history=history, guard=guard)


def test_an_evaluation_decides_the_same_from_the_carried_memory_as_from_the_stored_records():
    """Seven hours at one evaluation a minute of a noisy load with a spike every 20 minutes: the simulator carries
    the memory (its index and sums) from one evaluation to the next, the live loop stores it as JSON and reads it
    back; both decide the same every minute, with the same notes, records and step guard state."""
    settings = recommended_settings(scale_out_threshold=80.0)
    rng = random.Random(3)
    carried, stored = (), []
    carried_guard: dict = {}
    stored_guard: dict = {}
    current = 3
    said: set[str] = set()
    for minute in range(7 * 60):
        now = T0 + timedelta(minutes=minute)
        demand = 150 + 30 * math.sin(minute / 40) + rng.gauss(0, 8) + (220 if minute % 20 == 0 else 0)
        window = demand / current
        a = evaluate_policy(settings, _inp(now, current=current, window=window, fresh=window, history=carried,
                                           guard=carried_guard))
        b = evaluate_policy(settings, _inp(now, current=current, window=window, fresh=window,
                                           history=[tuple(r) for r in _stored(stored)], guard=json.loads(
                                               json.dumps(stored_guard))))
        assert (a.action, a.desired, a.allowed, a.reason) == (b.action, b.desired, b.allowed, b.reason), minute
        assert list(a.history) == list(b.history) and a.guard == b.guard
        carried, carried_guard, stored, stored_guard = a.history, a.guard, list(b.history), b.guard
        said.add(a.reason)
        if a.allowed and a.desired is not None:
            current = a.desired
    # the readers the memory serves were all asked: the periodic spike (the index), the noise and its margin (the
    # sums), the overload share (the readings above the line)
    assert any("recurs every 20 min" in r for r in said)
    assert any("scale-out margin" in r for r in said)
    assert any("no scale-out margin" in r for r in said)


def test_the_overload_share_is_the_share_of_readings_moved_along_the_line_above_the_limit():
    """Against the definition, reading by reading: the count (with its shortcuts when no reading, or every one, is
    above the limit) and the normal tail, whichever is more; with ``enough``, whether the share reaches it."""
    rng = random.Random(11)
    now = T0.timestamp()
    for _ in range(300):
        rise, noise, level = rng.uniform(-0.05, 0.05), rng.choice([0.0, 1.0, 10.0, 40.0]), rng.uniform(50, 400)
        history = [(now - 60 * m, level, round(max(0.0, level - rise * 60 * m + rng.gauss(0, noise)), 6))
                   for m in range(60, -1, -1)]
        window = rec.fresh_window(history, now=now, seconds=3600)
        for current in (1, 2, 3, 5, 8):
            limit, at = current * 80.0, now + 390
            moved = [v + window.slope * (at - t) for t, _, v in history]
            counted = sum(1 for v in moved if v > limit) / len(moved)
            mean = window.level(at)
            spread = window.spread()
            tail = (0.5 * math.erfc((limit - mean) / (spread * math.sqrt(2))) if spread > 0
                    else 1.0 if mean > limit else 0.0)
            share = rec.overload_share(history, now=now, seconds=3600, current=current, threshold=80.0, ahead=390,
                                       window=window)
            assert share is not None and math.isclose(share, max(counted, tail), abs_tol=1 / 61 + 1e-12)
            if not any(abs(v - limit) < 1e-3 for v in moved):  # no reading at the limit itself: exactly
                assert share == max(counted, tail)
            enough = rec.overload_share(history, now=now, seconds=3600, current=current, threshold=80.0, ahead=390,
                                        window=window, enough=0.05)
            assert enough is not None and (enough >= 0.05) == (share >= 0.05)
