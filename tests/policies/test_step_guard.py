"""The step guard (``policies.engine.step_guard``): the seed's step policy replayed beside ``recommended`` on the
same load, and the two bounds it puts on the recommended count."""

from __future__ import annotations

import bisect
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from events.choices import ScaleAction
from policies.engine import recommended as rec
from policies.engine import step_guard as guard
from policies.engine.evaluate import PolicyInput, evaluate_policy, recommended_settings
from policies.engine.target_tracking import VMUtilisation
from policies.simulator import engine as sim_engine
from policies.simulator.catalog import parse_policy, run_policy
from policies.simulator.suite import sized, synthetic_trace

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
RULES = guard.SeedRules(min_vms=2, max_vms=10, scale_out_threshold=80.0, scale_in_threshold=30.0,
                        scale_out_seconds=60, scale_in_seconds=300, cooldown_seconds=300)


def _state(**totals: float) -> dict:
    state = guard.start(3, T0.timestamp())
    state.update(totals)
    return state


def test_a_count_below_the_seeds_needs_overload_to_spare():
    # the seed holds 3; the service has had 10 minutes less overload than the seed: 2 is allowed
    out = guard.bound(2, _state(shadow_over=900.0, own_over=300.0), current=3, vm_share=0.01, reserve_seconds=390)
    assert (out.desired, out.notes) == (2, [])
    # 5 minutes to spare, fewer than a clone's lead time (6.5 min): kept at the seed's 3
    out = guard.bound(2, _state(shadow_over=600.0, own_over=300.0), current=3, vm_share=0.01, reserve_seconds=390)
    assert out.desired == 3
    assert str(out.notes[0]) == ("step guard: kept at the seed's 3 VMs (5.0 min less overload than the seed so "
                                 "far, fewer than the 6.5 min a count below it needs)")


def test_a_count_above_the_seeds_only_while_its_vm_hours_last():
    week = 7 * 86400
    # 1 % of the seed's VM-hours so far or, while they are fewer, of the seed's 3 VMs for a week
    spare = 0.01 * max(36_000, 3 * week)
    out = guard.bound(5, _state(shadow_vm=36_000.0, own_vm=36_000.0 + spare - 60), current=3, vm_share=0.01,
                      reserve_seconds=390)
    assert (out.desired, out.notes) == (5, [])
    out = guard.bound(5, _state(shadow_vm=36_000.0, own_vm=36_000.0 + spare + 60), current=4, vm_share=0.01,
                      reserve_seconds=390)
    assert out.desired == 3  # held at the seed's count, also from above (4 running)
    assert str(out.notes[0]).startswith("step guard: held at the seed's 3 VMs (")
    assert "the 1% more it may spend is spent" in str(out.notes[0])
    # past a week of the seed's VM-hours the share is of those alone: the credit is not added at the end
    old = 2.0 * 3 * week
    assert guard.bound(5, _state(shadow_vm=old, own_vm=old * 1.01 - 60), current=3, vm_share=0.01,
                       reserve_seconds=390).desired == 5
    assert guard.bound(5, _state(shadow_vm=old, own_vm=old * 1.01 + 60), current=3, vm_share=0.01,
                       reserve_seconds=390).desired == 3


def test_the_shadow_fires_like_the_seeds_rules_and_decide():
    """Above the scale-out threshold for the rule's minute: notified (group wait), allowed, in service a clone
    later; the cooldown then holds the next scale-out; below the scale-in threshold for 5 minutes: one fewer."""
    t = T0.timestamp()
    state = guard.advance(None, now=t, current=2, fresh_demand=180, rules=RULES)  # 90 % on 2
    assert guard.ordered(state) == 2  # pending: the rule's minute has not passed
    state = guard.advance(state, now=t + 60, current=2, fresh_demand=180, rules=RULES)
    assert guard.ordered(state) == 3 and state["serving"] == 2  # decided: the clone is on its way
    state = guard.advance(state, now=t + 420, current=2, fresh_demand=180, rules=RULES)
    assert state["serving"] == 3 and state["run"] is None  # in service 30 + 30 + 300 s after; run done
    # the seed's overload: 180 VM-% over 2 VMs for the 420 s (the clone's lag), over 3 VMs (60 %) none
    assert state["shadow_over"] == 420 and state["own_over"] == 420
    state = guard.advance(state, now=t + 480, current=2, fresh_demand=260, rules=RULES)
    assert guard.ordered(state) == 3  # 87 % on 3, the rule's minute not yet passed
    for minute in range(9, 20):
        state = guard.advance(state, now=t + minute * 60, current=2, fresh_demand=60,
                              rules=RULES)
    assert guard.ordered(state) == 2  # 20 % on 3 for 5 minutes: the seed's scale-in


def test_a_gap_between_evaluations_counts_neither_overload_nor_vm_hours():
    t = T0.timestamp()
    state = guard.advance(None, now=t, current=2, fresh_demand=100, rules=RULES)
    state = guard.advance(state, now=t + 3600, current=2, fresh_demand=200, rules=RULES)
    assert state["shadow_vm"] == state["own_vm"] == 0 and state["shadow_over"] == 0


def test_the_shadow_replays_the_seeds_step_policy_on_a_trace():
    """The contract the guard rests on: on a daily cycle the shadow's count is the seed's own (the simulator's step
    policy through Prometheus rules, Alertmanager and decide()) nearly all the time, and its overload minutes and
    VM-hours are the seed's within a few per cent."""
    suite_trace = sized("diurnal", synthetic_trace("diurnal_weekly", 1, 60, days=4), role="tuning",
                        family="diurnal_weekly", source="test", load_label="requests / s", resolution="1 min")
    step = run_policy(suite_trace.trace, suite_trace.config, suite_trace.params, parse_policy("step", presets=True))
    shadows: list[tuple[float, int]] = []
    last: list[dict] = [{}]
    simulation = sim_engine.Simulation
    evaluate = simulation.evaluate

    def recording(self):
        evaluate(self)
        shadows.append((self.now, self.guard["serving"]))
        last[0] = self.guard

    simulation.evaluate = recording
    try:
        guarded = run_policy(suite_trace.trace, suite_trace.config, suite_trace.params,
                             parse_policy("recommended:step_guard=1", presets=True))
    finally:
        simulation.evaluate = evaluate
    assert guarded.vm_hours > 0
    times, counts = step.series["t"], step.series["vms"]
    same = sum(1 for at, serving in shadows if counts[bisect.bisect_right(times, at) - 1] == serving)
    assert same / len(shadows) > 0.97
    assert step.overload_minutes > 30  # the seed is overloaded on each daily rise: something to compare
    assert abs(last[0]["shadow_over"] / 60 - step.overload_minutes) <= 0.05 * step.overload_minutes + 2
    assert abs(last[0]["shadow_vm"] / 3600 - step.vm_hours) <= 0.02 * step.vm_hours


@pytest.mark.parametrize("family", ["steps"])
def test_the_guard_keeps_recommended_within_the_seed_where_it_was_worse(family):
    """A level load that falls and rises again (the suite's steps family, seed 5, fresh held out): recommended
    scales in to the hour's peak after a fall where the seed keeps its VMs, and is overloaded more than the seed
    when the level comes back; with the guard its overload is at most the seed's, at no more than 2 % more
    VM-hours."""
    suite_trace = sized("steps", synthetic_trace(family, 5, 60), role="fresh held out", family=family,
                        source="test", load_label="requests / s", resolution="1 min")
    args = (suite_trace.trace, suite_trace.config, suite_trace.params)
    step = run_policy(*args, parse_policy("step", presets=True))
    unguarded = run_policy(*args, parse_policy("recommended:step_guard=0", presets=True))
    guarded = run_policy(*args, parse_policy("recommended:step_guard=1", presets=True))
    assert unguarded.overload_minutes > step.overload_minutes  # what the guard is for
    assert guarded.overload_minutes <= step.overload_minutes
    assert guarded.vm_hours <= step.vm_hours * 1.02


def _inp(now: datetime, *, current: int, cpu: float | None, guard_state=None, history=()) -> PolicyInput:
    vms = None if cpu is None else [VMUtilisation(cpu)] * current
    return PolicyInput(now=now, enabled=True, min_vms=1, max_vms=10, cooldown_seconds=300,
                       current_vm_count=current, vms=vms, fresh_vms=vms, history=history, guard=guard_state,
                       metric_error="" if vms else "no data")


def test_the_evaluation_keeps_the_guard_and_says_when_it_holds_the_count():
    settings = recommended_settings(scale_out_threshold=80.0, step_guard=True)
    # a quiet load on 3 VMs: the band scales in, the guard keeps the seed's 3 (no overload to spare yet)
    out = evaluate_policy(settings, _inp(T0, current=3, cpu=20))
    assert out.action is None and out.desired == 3, out.reason
    assert "step guard: kept at the seed's 3 VMs" in out.reason
    assert out.guard["serving"] == 3 and out.guard["at"] == T0.timestamp()
    # an unknown metric changes nothing and loses nothing
    unknown = evaluate_policy(settings, _inp(T0 + timedelta(minutes=1), current=3, cpu=None, guard_state=out.guard,
                                             history=out.history))
    assert unknown.decision is None and unknown.guard == out.guard
    # with the guard off the band's own scale-in
    off = evaluate_policy(replace(settings, step_guard=False), _inp(T0, current=3, cpu=20))
    assert (off.action, off.desired) == (ScaleAction.SCALE_IN, 1), off.reason
    assert off.guard == {}
    # after the seed's own scale-in rule held (5 minutes below 30 %), the guard follows the seed down
    state, history = out.guard, out.history
    for minute in range(1, 8):
        out = evaluate_policy(settings, _inp(T0 + timedelta(minutes=minute), current=3, cpu=20, guard_state=state,
                                             history=history))
        state, history = out.guard, out.history
    assert guard.ordered(state) == 2 and out.desired == 2, out.reason


def test_a_count_the_policy_did_not_order_starts_the_shadow_from_it():
    """An operator scales 10 → 4 by hand: the seed would have 4 too, so the shadow follows (its totals kept) and
    the guard does not scale back out against the operator. A count between the service's and one the policy
    ordered is the policy's own and leaves the shadow alone."""
    t = T0.timestamp()
    state = guard.advance(None, now=t, current=10, fresh_demand=300, rules=RULES)
    state["shadow_over"] = 120.0
    state = guard.advance(state, now=t + 60, current=4, fresh_demand=300, rules=RULES)
    assert state["serving"] == 4 and guard.ordered(state) == 4 and state["shadow_over"] == 120.0
    assert guard.bound(4, state, current=4, vm_share=0.01, reserve_seconds=390).desired == 4
    # the policy orders 6; the count reaches 5 on the way (a multi-VM run), then 6: its own, the shadow stays at 4
    state = guard.order(state, 6)
    state = guard.advance(state, now=t + 120, current=5, fresh_demand=300, rules=RULES)
    state = guard.advance(state, now=t + 180, current=6, fresh_demand=300, rules=RULES)
    assert state["serving"] == 4 and state["ordered"] is None


def test_after_a_gap_the_shadow_starts_from_the_count_and_after_a_day_afresh():
    t = T0.timestamp()
    state = guard.advance(None, now=t, current=3, fresh_demand=60, rules=RULES)
    for minute in range(1, 4):  # below the scale-in threshold: the scale-in rule pending
        state = guard.advance(state, now=t + minute * 60, current=3, fresh_demand=60, rules=RULES)
    assert state["in_since"] is not None and state["own_vm"] > 0
    totals = state["own_vm"]
    later = guard.advance(state, now=t + 3 * 60 + 3600, current=5, fresh_demand=60, rules=RULES)
    # an hour without evaluations: not counted, the rule's pending time forgotten (it must hold 5 minutes again)
    assert later["serving"] == 5 and later["in_since"] == t + 3 * 60 + 3600 and later["own_vm"] == totals
    restarted = guard.advance(state, now=t + 2 * 86400, current=5, fresh_demand=60, rules=RULES)
    assert restarted["own_vm"] == 0 and restarted["serving"] == 5


def test_a_shadow_never_starts_below_the_minimum():
    """Prometheus lost the targets (a count of 0 with a metric): the shadow starts at the minimum, and the ceiling
    does not order a scale-in to 0 under load."""
    state = guard.advance(None, now=T0.timestamp(), current=0, fresh_demand=500, rules=RULES)
    assert state["serving"] == RULES.min_vms
    assert guard.bound(6, state, current=4, vm_share=0.01, reserve_seconds=390).desired == 6


def test_the_fresh_window_is_computed_for_the_records_asked_about():
    """One evaluation computes the fresh window once; another list of the same length and times (after the first
    is gone) gets its own answer."""
    now = START = T0.timestamp()
    rising = [(START - m * 60, 100.0, 100.0 + (60 - m)) for m in range(60, -1, -1)]
    first = rec.fresh_trend(rising, now=now, seconds=3600)
    del rising
    falling = [(START - m * 60, 100.0, 100.0 - 2 * (60 - m)) for m in range(60, -1, -1)]
    second = rec.fresh_trend(falling, now=now, seconds=3600)
    assert first is not None and second is not None and first > 0 > second


def test_the_guard_state_of_a_dry_run_is_not_carried_into_a_live_policy():
    from policies.models import ScalingPolicy
    from policies.services import guard_state_of

    kept = {**guard.start(3, T0.timestamp()), "dry_run": True}
    assert guard_state_of(ScalingPolicy(dry_run=True, guard_state=kept)) == kept
    assert guard_state_of(ScalingPolicy(dry_run=False, guard_state=kept)) == {}
    assert guard_state_of(ScalingPolicy(dry_run=False, guard_state={**kept, "dry_run": False}))["serving"] == 3
