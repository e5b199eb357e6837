"""The recommended policy's scale_in_on_seed_rule at its edges: a scale-in duration longer than the policy's own
memory (the records of an evaluation loop whose ticks drift), a duration of 0, and a scale-in the bounds make anyway."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from events.choices import ScaleAction
from policies.engine.evaluate import PolicyInput, evaluate_policy, recommended_settings
from policies.engine.target_tracking import VMUtilisation

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BASE = recommended_settings(scale_out_threshold=80.0, confirm_seconds=60)


def _inp(now, *, current, load, history, guard=None):
    return PolicyInput(now=now, enabled=True, min_vms=2, max_vms=10, cooldown_seconds=300, current_vm_count=current,
                       vms=[VMUtilisation(load)] * current, fresh_vms=[VMUtilisation(load)] * current,
                       history=history, guard=guard)


def _run(settings, minutes, *, current=4, load=5.0, jitter=0.0):
    """Evaluations about a minute apart, keeping the history and the step guard's state as the loop does."""
    history, guard, out = [], {}, None
    for i in range(minutes):
        out = evaluate_policy(settings, _inp(T0 + timedelta(seconds=i * (60 + jitter)), current=current, load=load,
                                             history=history, guard=guard))
        history, guard = out.history, out.guard
    return out


def test_without_the_option_a_quiet_service_scales_in():
    out = _run(BASE, 200)
    assert out.desired < 4


def test_seed_rule_with_a_3h_scale_in_duration_never_releases():
    on = replace(BASE, scale_in_on_seed_rule=True, scale_in_threshold=30.0, scale_in_duration_seconds=3 * 3600)
    out = _run(on, 8 * 60, jitter=0.5)  # 8 h at 5 % load, evaluations 60.5 s apart
    assert out.desired < 4, out.reason


def test_seed_rule_with_a_zero_scale_in_duration_never_releases():
    on = replace(BASE, scale_in_on_seed_rule=True, scale_in_threshold=30.0, scale_in_duration_seconds=0)
    out = _run(on, 200)
    assert out.desired < 4, out.reason


def test_seed_rule_note_on_a_scale_in_that_happens_anyway():
    """max lowered below the running count: the bounds scale in at once, but the reason says the scale-in waits."""
    on = replace(BASE, scale_in_on_seed_rule=True, scale_in_threshold=30.0, scale_in_duration_seconds=300)
    history, out = [], None
    for i in range(3):
        inp = PolicyInput(now=T0 + timedelta(minutes=i), enabled=True, min_vms=2, max_vms=4, cooldown_seconds=300,
                          current_vm_count=6, vms=[VMUtilisation(50.0)] * 6, fresh_vms=[VMUtilisation(50.0)] * 6,
                          history=history)
        out = evaluate_policy(on, inp)
        history = out.history
    assert out.desired == 4
    assert "waits for the seed's scale-in rule" not in out.reason, out.reason


# --- the seed's rule is CPU and memory: live, the option waits for both ----------------------------------------

BOTH = replace(BASE, scale_in_on_seed_rule=True, scale_in_threshold=30.0, scale_in_duration_seconds=300,
               scale_in_other_metric="memory", scale_in_other_threshold=30.0)
# The option's own rule, without the step guard that is on by default: it would keep the seed's count, one VM less
# a step, where the option lets more go at once (the guard is tested in test_step_guard.py)
BAND_BOTH = replace(BOTH, step_guard=False)


def _run_both(settings, loads, *, current=4, history=None, other_error=""):
    """One evaluation a minute; ``loads`` are (CPU %, memory %) of every VM (memory None: not read). The history
    and the step guard's state are kept as the loop does."""
    history, guard, out = list(history or []), {}, None
    for i, (cpu, memory) in enumerate(loads):
        out = evaluate_policy(settings, PolicyInput(
            now=T0 + timedelta(minutes=i), enabled=True, min_vms=2, max_vms=10, cooldown_seconds=300,
            current_vm_count=current, vms=[VMUtilisation(cpu)] * current, fresh_vms=[VMUtilisation(cpu)] * current,
            other_vms=None if memory is None else [VMUtilisation(memory)] * current, other_error=other_error,
            history=history, guard=guard))
        history, guard = out.history, out.guard
    return out


def test_seed_rule_waits_for_memory_below_its_threshold_too():
    """CPU at 5 % for an hour, memory at 50 %: the seed's scale-in alert (CPU < 30 % and memory < 30 % for 5 min)
    never fires, so the option keeps the VMs; on CPU alone it would have let them go. Once memory is below 30 % for
    the rule's duration as well, the scale-in goes."""
    cpu_only = replace(BOTH, scale_in_other_metric="")
    hour = [(5.0, 50.0)] * 60
    assert _run_both(cpu_only, hour).desired == 2
    held = _run_both(BOTH, hour)
    assert held.action is None and held.desired == 4
    assert held.reason.params["notes"][-1].code == "rec_scale_in_waits_for_seed_rule_both"
    assert "waits for the seed's scale-in rule (CPU below 30% and memory below 30% for 5 min)" in held.reason
    assert held.history[-1][1:] == (20, 20, 200)  # 4 VMs × 5 % CPU (window, fresh), 4 VMs × 50 % memory
    assert _run_both(BOTH, hour + [(5.0, 20.0)] * 4).desired == 4  # memory low for 4 minutes: not yet
    out = _run_both(BOTH, hour + [(5.0, 20.0)] * 6)
    assert (out.action, out.desired) == (ScaleAction.SCALE_IN, 2), out.reason
    # memory low, CPU not (35 %, inside the band, the memory lets 2 go): the rule holds for neither
    assert _run_both(BOTH, [(35.0, 20.0)] * 60).desired == 4


def test_seed_rule_with_memory_unknown_does_not_hold():
    """Memory not read (Prometheus answered the CPU query but not the memory one): the rule cannot be said to hold,
    the scale-in waits and the reason says why."""
    error = "Prometheus at http://127.0.0.1:9 is unreachable: ConnectionError: [Errno 111] Connection refused"
    out = _run_both(BOTH, [(5.0, None)] * 60, other_error=error)
    assert out.action is None and out.desired == 4
    codes = [n.code for n in out.reason.params["notes"]]
    assert codes[-2:] == ["rec_scale_in_waits_for_seed_rule_both", "rec_seed_rule_memory_unknown_error"]
    assert "memory of the seed's scale-in rule unknown: Prometheus at http://127.0.0.1:9" in out.reason
    assert len(out.history[-1]) == 3
    bare = _run_both(BOTH, [(5.0, None)] * 10)
    assert bare.reason.params["notes"][-1].code == "rec_seed_rule_memory_unknown"


def test_seed_rule_records_kept_before_memory_was_read_do_not_count_as_low():
    """Records of three items (kept before the loop read memory, or when it could not): the rule holds only once
    the last 5 minutes are all records with memory below its threshold."""
    old = [((T0 - timedelta(minutes=m)).timestamp(), 20, 20) for m in range(60, 0, -1)]
    assert _run_both(BAND_BOTH, [(5.0, 20.0)] * 3, history=old).desired == 4
    out = _run_both(BAND_BOTH, [(5.0, 20.0)] * 7, history=old)  # the guard would keep the seed's 3 (one a step)
    assert (out.action, out.desired) == (ScaleAction.SCALE_IN, 2), out.reason


def test_seed_rule_of_a_memory_policy_waits_for_cpu():
    on = replace(BOTH, scale_in_threshold=40.0, scale_in_other_metric="cpu", scale_in_other_threshold=20.0)
    # the policy's metric (here memory) at 5 %, CPU at 25 %: above the CPU threshold of 20 %
    held = _run_both(on, [(5.0, 25.0)] * 60)
    assert held.desired == 4
    assert "(CPU below 20% and memory below 40% for 5 min)" in held.reason
    assert _run_both(on, [(5.0, 15.0)] * 60).desired == 2


@pytest.mark.django_db
def test_the_live_settings_name_the_rules_other_metric(config):
    from policies import selectors
    from policies.models import ScalingPolicy

    config.scale_in_cpu_threshold, config.scale_in_memory_threshold = 25.0, 35.0
    policy = ScalingPolicy(config=config, policy_type="recommended", metric="cpu", scale_in_on_seed_rule=True)
    settings = selectors.policy_settings(config, policy)
    assert (settings.scale_in_threshold, settings.scale_in_other_metric, settings.scale_in_other_threshold) == (
        25.0, "memory", 35.0)
    policy.metric = "memory"
    settings = selectors.policy_settings(config, policy)
    assert (settings.scale_in_threshold, settings.scale_in_other_metric, settings.scale_in_other_threshold) == (
        35.0, "cpu", 25.0)


def test_the_simulator_sees_one_metric():
    """A replay has one load column: the rule's other metric is the live loop's; a spec cannot set it."""
    from policies.simulator.catalog import PolicySpecError, parse_policy

    for spec in ("recommended:scale_in_other_metric=memory", "recommended:scale_in_other_threshold=20"):
        with pytest.raises(PolicySpecError):
            parse_policy(spec, presets=True)
    assert parse_policy("recommended:scale_in_on_seed_rule=1", presets=True).settings.scale_in_other_metric == ""


def test_a_replay_of_the_live_settings_weighs_its_one_load_column():
    """The what-if and ``simulate --config`` replay the live settings, which name the rule's other metric: the
    replay has none, so the rule is the load's alone — the replay scales in as the CPU-only settings do, where
    waiting for a memory it never reads would keep every VM."""
    from policies.simulator.catalog import SimPolicy, run_policy
    from policies.simulator.engine import SimConfig, SimParams
    from policies.simulator.trace import Trace

    start = T0.timestamp()
    loads: list[float | None] = [300.0] * 30 + [40.0] * 240  # 300 % of one VM's capacity, then quiet for 4 h
    trace = Trace([start + 60 * i for i in range(len(loads))], loads, 60.0)
    config = SimConfig(min_vms=2, max_vms=6)
    params = SimParams(capacity=100, initial_vms=4)
    live = run_policy(trace, config, params, SimPolicy("recommended", BOTH))
    cpu_only = run_policy(trace, config, params, SimPolicy("recommended", replace(BOTH, scale_in_other_metric="")))
    assert live.scale_ins > 0 and (live.scale_ins, live.vm_hours) == (cpu_only.scale_ins, cpu_only.vm_hours)
