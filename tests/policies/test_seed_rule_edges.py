"""The recommended policy's scale_in_on_seed_rule at its edges: a scale-in duration longer than the policy's own
memory (the records of an evaluation loop whose ticks drift), a duration of 0, and a scale-in the bounds make anyway."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from policies.engine.evaluate import PolicyInput, evaluate_policy, recommended_settings
from policies.engine.target_tracking import VMUtilisation

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BASE = recommended_settings(scale_out_threshold=80.0, confirm_seconds=60)


def _inp(now, *, current, load, history):
    return PolicyInput(now=now, enabled=True, min_vms=2, max_vms=10, cooldown_seconds=300, current_vm_count=current,
                       vms=[VMUtilisation(load)] * current, fresh_vms=[VMUtilisation(load)] * current,
                       history=history)


def _run(settings, minutes, *, current=4, load=5.0, jitter=0.0):
    history, out = [], None
    for i in range(minutes):
        out = evaluate_policy(settings, _inp(T0 + timedelta(seconds=i * (60 + jitter)), current=current, load=load,
                                             history=history))
        history = out.history
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
