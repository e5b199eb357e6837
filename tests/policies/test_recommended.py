"""The ``recommended`` policy: the band decided on the freshest measurement, its settings, default and API."""

from __future__ import annotations

import math
import random
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from autoscaling.views.forms import AutoscalingConfigForm
from events.choices import ScaleAction
from policies import selectors, services
from policies.choices import PolicyType
from policies.engine import recommended as rec
from policies.engine.evaluate import PolicyInput, evaluate_policy, recommended_settings
from policies.engine.target_tracking import VMUtilisation
from policies.models import ScalingPolicy
from policies.simulator.catalog import parse_policy

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SETTINGS = recommended_settings(scale_out_threshold=80.0, confirm_seconds=60)
# The band's own rules (scale-in to the hour's peak, margins, recurring spikes, the seed rule option), without the
# step guard that is on by default: it would hold a scale-in below the seed's count (tested in test_step_guard.py)
BAND = replace(SETTINGS, step_guard=False)


def _inp(now: datetime, *, current: int, window: float, fresh: float | None = None, history=(),
         guard=None) -> PolicyInput:
    return PolicyInput(
        now=now, enabled=True, min_vms=2, max_vms=10, cooldown_seconds=300, current_vm_count=current,
        vms=[VMUtilisation(window)] * current,
        fresh_vms=None if fresh is None else [VMUtilisation(fresh)] * current, history=history, guard=guard,
    )


def _run(samples, *, current: int, settings=SETTINGS):
    """Evaluate once a minute over ``samples`` of (window %, fresh %), keeping the history and the step guard's
    state as the loop does."""
    history: list = []
    guard: dict = {}
    out = None
    for i, (window, fresh) in enumerate(samples):
        out = evaluate_policy(settings, _inp(T0 + timedelta(minutes=i), current=current, window=window, fresh=fresh,
                                             history=history, guard=guard))
        history, guard = out.history, out.guard
    assert out is not None
    return out


def test_sustained_load_above_the_threshold_scales_out_to_the_target_at_once():
    out = _run([(90, 92), (92, 95)], current=3)
    # ceil(3 × 92 / 70) = 4: as many VMs as bring the load to the target, not one per cooldown
    assert (out.action, out.desired) == (ScaleAction.SCALE_OUT, 4)
    assert out.allowed and "scale-out trigger 70%" in out.reason
    out = _run([(150, 160), (150, 160)], current=2)
    assert out.desired == 5  # ceil(2 × 150 / 70) = 5, at most 3 more per run
    out = _run([(300, 300), (300, 300)], current=2)
    assert out.desired == 5  # max_change 3


def test_the_trigger_is_the_margin_below_the_threshold():
    # 72 % is below the scale-out threshold (80 %) but above the trigger (80 − 10): the clone's lead time
    out = _run([(72, 72), (73, 73)], current=4)
    assert (out.action, out.desired) == (ScaleAction.SCALE_OUT, 5)  # ceil(4 × 72 / 70)
    assert _run([(68, 68), (69, 69)], current=4).action is None


def test_a_spike_that_has_ended_does_not_scale_out():
    # the rules' window still holds the spike, the freshest reading says it is over
    out = _run([(95, 95), (92, 45)], current=2)
    assert out.action is None and out.desired == 2
    # and one hot reading alone (the window below the threshold) does not either
    assert _run([(50, 50), (60, 99)], current=2).action is None


def test_a_load_above_the_threshold_for_less_than_the_confirmation_waits():
    out = _run([(50, 50), (90, 90)], current=2)
    assert out.action is None and "too short a time" in out.reason
    assert _run([(50, 50), (90, 90), (90, 90)], current=2).action == ScaleAction.SCALE_OUT


def test_scale_in_keeps_the_headroom_a_recent_peak_needs_then_lets_go():
    # a spike of 240 VM-% a few minutes ago on 4 VMs: 3 VMs would carry it at 80 % > 75 %, so 4 stay (the load of
    # now, 31 %, is inside the seed's band: its scale-in below 30 % would not release a VM either)
    spike = [(60, 60)] + [(31, 31)] * 10
    out = _run(spike, current=4, settings=BAND)
    assert out.action is None and out.desired == 4 and "inside the band" in out.reason
    # once the spike is older than the stabilisation window, the remembered peak is 124 VM-%: 2 VMs at 62 %
    # (at most 3 fewer per run)
    quiet = spike + [(31, 31)] * (rec.DEFAULT_STABILISATION_SECONDS // 60)
    out = _run(quiet, current=4, settings=BAND)
    assert (out.action, out.desired) == (ScaleAction.SCALE_IN, 2)
    assert "fits 2 VMs" in out.reason
    # at 25 % (below the seed's 30 % for its 5 minutes) the seed would release a VM; the memory holds it (the
    # release like the seed's is an option, off by default)
    assert _run([(60, 60)] + [(25, 25)] * 10, current=4, settings=BAND).desired == 4
    out = _run([(60, 60)] + [(25, 25)] * 10, current=4, settings=replace(BAND, release_like_step=True))
    assert (out.action, out.desired) == (ScaleAction.SCALE_IN, 3) and "as the seed releases" in out.reason


def test_a_scale_in_leaves_the_load_of_now_below_the_trigger():
    # 3 VMs at 45 % now and all hour: 2 would carry the hour's peak at 67.5 % ≤ 75 %, but that is above the
    # trigger less the hysteresis (70 − 5): the next minute would scale back out, so 3 stay
    out = _run([(45, 45)] * 5, current=3, settings=BAND)
    assert out.action is None and out.desired == 3 and "65%" in out.reason
    assert _run([(40, 40)] * 5, current=3, settings=BAND).desired == 2  # 2 × 60 %: both rules hold


def test_the_memory_holds_demand_not_recommendations():
    """A scale-out to 5 VMs for a spike is not locked in: after it, the remembered demand decides."""
    history = [((T0 - timedelta(minutes=20)).timestamp(), 210)]  # what 3 VMs at 70 % asked 20 min ago
    out = evaluate_policy(BAND, _inp(T0, current=5, window=20, fresh=20, history=history))
    assert (out.action, out.desired) == (ScaleAction.SCALE_IN, 3)  # ceil(210 / 75): the peak, not the 5 VMs


def test_demand_helpers():
    assert rec.demand(3, 33.34) == 100.02  # as measured (float noise aside), not rounded up to 101
    assert rec.demand(3, 100 / 3) == 100.0 and rec.shown(100.02) == 101 and rec.shown(100.0) == 100
    assert rec.remembered_peak([(0.0, 9), (50.0, 6), (100.0, 7)], now=100.0, window_seconds=60) == 7
    assert rec.remembered_peak([], now=100.0, window_seconds=60) is None
    assert rec.sustained([(0.0, 200), (60.0, 200)], now=60.0, seconds=60, above=160)
    assert not rec.sustained([(30.0, 200), (60.0, 200)], now=60.0, seconds=60, above=160)  # not long enough
    assert not rec.sustained([(0.0, 200), (30.0, 150), (60.0, 200)], now=60.0, seconds=60, above=160)
    assert rec.sustained([], now=0.0, seconds=0, above=0)


def test_whole_is_the_count_rounded_up_once_float_noise_is_rounded_away():
    """``rec.whole`` skips the decimal rounding where it cannot matter: it must give ``ceil(round(x, 9))`` for every
    value, the ones just above or below a whole number (where the shortcut is not taken) included."""
    rng = random.Random(5)
    values = [n + d for n in range(300) for d in (0.0, 1e-12, 3e-10, 5e-10, 6e-10, 1e-9, 9.9e-9, 1e-8, 1.01e-8,
                                                   2e-8, 0.5, 1 - 1e-12, -1e-12, -3e-10, -1e-8)]
    values += [rng.uniform(0, 1e6) for _ in range(20_000)] + [999_999.999_999_99, 1e6, 2e6 + 1e-3, -0.5, -1e-12]
    values += [count * utilisation / target for count in range(1, 30) for utilisation in (29.9, 60.000000001, 69.99, 80)
               for target in (65.0, 70.0, 75.0, 80.0)]
    assert [rec.whole(v) for v in values] == [math.ceil(round(v, 9)) for v in values]
    assert rec.whole(3 * 60.000000001 / 60) == 3 and rec.whole(3.0000001) == 4


def test_a_demand_just_below_a_threshold_is_below_it():
    """4 VMs at 29.9 %: 119.6 VM-%, below the seed's scale-in threshold of 4 × 30 %. Rounded up to a whole percent
    (120, as demands were kept before) it was not, and the seed's rule never held; likewise 4 VMs at 69.85 % are
    not above a trigger at 279.5 VM-%."""
    at = [(float(t), rec.demand(4, 29.9)) for t in range(0, 301, 60)]
    assert at[0][1] == 119.6
    assert rec.step_releases(at, now=300.0, seconds=300, below=30.0, current=4)
    assert not rec.step_releases(at, now=300.0, seconds=300, below=29.9, current=4)  # at the threshold: not below
    assert not rec.sustained([(0.0, rec.demand(4, 69.85)), (60.0, rec.demand(4, 69.85))], now=60.0, seconds=60,
                             above=279.5)
    # the whole evaluation: the option waits for the seed's rule, which holds at 29.9 % after its 5 minutes
    on = replace(BAND, scale_in_on_seed_rule=True, scale_in_threshold=30.0, scale_in_duration_seconds=300)
    out = _run([(29.9, 29.9)] * 7, current=4, settings=on)
    assert (out.action, out.desired) == (ScaleAction.SCALE_IN, 2), out.reason
    assert out.history[-1][1:] == (119.6, 119.6)


def test_whole_percent_records_kept_before_still_load():
    """Records of whole percents (rounded up, as kept before) beside new ones: they load and count as they are;
    the notes show a demand as a whole VM-%, rounded up, as before."""
    before = [((T0 - timedelta(minutes=m)).timestamp(), 151, 151) for m in range(30, 20, -1)]
    out = evaluate_policy(BAND, _inp(T0, current=4, window=20, fresh=20, history=before))
    assert out.history[:10] == before and out.history[-1][1:] == (80.0, 80.0)
    assert (out.action, out.desired) == (ScaleAction.SCALE_IN, 3), out.reason  # ceil(151 / 75)
    assert "highest demand of the scale-in window 151 VM-%" in out.reason
    fractional = [((T0 - timedelta(minutes=5)).timestamp(), 150.4, 150.4)]
    out = evaluate_policy(BAND, _inp(T0, current=4, window=20, fresh=20, history=fractional))
    assert out.desired == 3 and "highest demand of the scale-in window 151 VM-%" in out.reason


def test_without_a_fresh_reading_the_window_decides():
    out = _run([(90, None), (90, None)], current=2)
    assert (out.action, out.desired) == (ScaleAction.SCALE_OUT, 3)


def test_unknown_utilisation_is_no_action():
    inp = replace(_inp(T0, current=2, window=50), vms=None, metric_error="no data")
    out = evaluate_policy(SETTINGS, inp)
    assert out.action is None and "utilisation unknown: no data" in out.reason


@pytest.mark.django_db
def test_settings_are_the_tested_ones_with_the_configs_threshold(config):
    config.scale_out_cpu_threshold, config.scale_out_duration_minutes = 75, 2
    policy = ScalingPolicy(config=config, policy_type=PolicyType.RECOMMENDED, target_utilisation=40,
                           suspend_scale_in=True)
    s = selectors.policy_settings(config, policy)
    assert (s.policy_type, s.target, s.scale_in_target, s.stabilisation_seconds) == (
        PolicyType.RECOMMENDED, rec.DEFAULT_TARGET, rec.DEFAULT_SCALE_IN_TARGET, rec.DEFAULT_STABILISATION_SECONDS)
    assert (s.scale_out_threshold, s.confirm_seconds, s.suspend_scale_in) == (75, rec.DEFAULT_CONFIRM_SECONDS, True)
    # a spike is remembered two scale-in memories long, carried at 100 % at most; the rise projection is off
    assert (s.recurrence_seconds, s.spike_ceiling, s.lead_seconds) == (2 * rec.DEFAULT_STABILISATION_SECONDS, 100, 0)
    # the seed's scale-in rule comes from the config too (the release like the seed's, an option)
    assert (s.scale_in_threshold, s.scale_in_duration_seconds) == (config.scale_in_cpu_threshold,
                                                                   config.scale_in_duration_minutes * 60)
    assert (s.margin_share, s.margin_rise, s.release_like_step) == (
        rec.DEFAULT_MARGIN_SHARE, rec.DEFAULT_MARGIN_RISE, rec.DEFAULT_RELEASE_LIKE_STEP)
    config.scale_in_cpu_threshold, config.scale_in_duration_minutes = 20, 10
    s = selectors.policy_settings(config, policy)
    assert (s.scale_in_threshold, s.scale_in_duration_seconds) == (20, 600)


@pytest.mark.django_db
def test_a_new_policy_is_recommended_but_a_config_without_one_stays_step(config):
    assert ScalingPolicy().policy_type == PolicyType.RECOMMENDED
    # suspending a process of a config without a policy row must not switch it away from the seed's step policy
    policy = services.policy_get_or_create(config=config)
    assert policy.policy_type == PolicyType.STEP


@pytest.mark.django_db
def test_api_creates_a_recommended_policy_by_default_and_offers_it(config):
    user = User.objects.create_user("ops-rec", password="x")
    user.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_scalingpolicy", "change_scalingpolicy", "add_scalingpolicy"]))
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=user.pk))
    url = f"/api/policies/{config.service_name}/"
    response = client.put(url, {"dry_run": True}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["policy_type"] == "recommended"
    assert client.patch(url, {"policy_type": "recommended"}, format="json").status_code == 200
    bad = client.patch(url, {"policy_type": "clever"}, format="json")
    assert bad.status_code == 400 and "policy_type" in bad.json()


def test_the_simulator_runs_recommended_with_its_own_settings():
    base = replace(recommended_settings(), policy_type=PolicyType.TARGET_TRACKING, target=60, scale_out_threshold=75)
    policy = parse_policy("recommended", base=base)
    assert policy.settings == recommended_settings(scale_out_threshold=75)
    assert parse_policy("recommended:scale_in_target=70").settings.scale_in_target == 70
    assert parse_policy("recommended", presets=True).settings == recommended_settings()


@pytest.mark.django_db
def test_the_config_page_offers_recommended_for_a_new_config_and_step_for_one_without_a_policy(config):
    assert AutoscalingConfigForm().initial["policy_type"] == PolicyType.RECOMMENDED
    assert AutoscalingConfigForm(instance=config).initial["policy_type"] == PolicyType.STEP
    # saving an existing config's page unchanged (step, defaults) creates no policy row
    values = {name: getattr(ScalingPolicy(), name) for name in services.POLICY_PAGE_FIELDS}
    values["policy_type"] = PolicyType.STEP
    assert services._policy_for(config=config, values=values) is None
    values["policy_type"] = PolicyType.RECOMMENDED
    assert services._policy_for(config=config, values=values).policy_type == PolicyType.RECOMMENDED


# --- a spike that recurs buys the capacity that carries it ------------------------------------------------------


def test_a_one_minute_spike_that_recurs_buys_the_capacity_to_carry_it():
    """2 VMs at 57 %, a 1-minute spike to 120 % (240 VM-%): the rules' window barely sees it and it is over before
    a clone could serve. Once is chance: nothing is bought. Twice within the memory: 3 VMs carry it at ≤ 100 %."""
    flat, spike = (57, 57), (70, 120)  # the rules' window averages the spike away; the fresh reading holds it
    once = [spike] + [flat] * 60
    out = _run(once, current=2, settings=BAND)
    assert out.action is None and out.desired == 2
    twice = once + [spike, flat]
    out = _run(twice, current=2, settings=BAND)
    assert (out.action, out.desired) == (ScaleAction.SCALE_OUT, 3), out.reason  # ceil(240 / 100)
    assert "recurred" in out.reason and "100%" in out.reason
    # the record keeps both demands: the window's (VM-%) and the fresh reading's
    assert [len(r) for r in out.history] == [3] * len(out.history)
    assert max(r[2] for r in out.history) == 240 and max(r[1] for r in out.history) == 140


def test_readings_of_one_spike_are_not_a_recurrence():
    # a hot reading two minutes after another is the same spike (less than a clone's lead time apart)
    out = _run([(57, 57), (70, 120), (57, 57), (70, 120)] + [(57, 57)] * 3, current=2, settings=BAND)
    assert out.action is None and out.desired == 2


def test_a_recurring_spike_keeps_its_capacity_after_the_scale_in_memory_forgot_it():
    now = T0.timestamp()
    spikes = [(now - 100 * 60, 140, 240), (now - 50 * 60, 140, 240)]  # older than the hour's memory, inside two
    quiet = [(now - m * 60, 114, 114) for m in range(45, 0, -1)]
    out = evaluate_policy(BAND, _inp(T0, current=3, window=38, fresh=38, history=spikes + quiet))
    # without the spikes: the hour's peak 114 VM-% fits 2 VMs at 75 %, 2 × 57 % is below 65 % → 2 VMs
    assert out.action is None and out.desired == 3, out.reason
    assert "recurring spike of 240 VM-%" in out.reason
    # once the spikes are older than the recurrence memory (2 hours), the count goes back to what the load needs
    later = T0 + timedelta(seconds=rec.DEFAULT_RECURRENCE_SECONDS - 49 * 60)
    out = evaluate_policy(BAND, _inp(later, current=3, window=38, fresh=38, history=spikes + quiet))
    assert (out.action, out.desired) == (ScaleAction.SCALE_IN, 2), out.reason


def test_a_recurring_spike_out_of_reach_is_not_held():
    """A spike that recurs at 10 × the service's load (2 VMs → 10 VMs to carry it) is not held for the memory: the
    seed's band keeps one VM for it, not eight (NAB's spiky CPU traces held hundreds this way). One VM more still
    is: the within-reach case above. ``spike_reach=0`` holds any spike, as before."""
    now = T0.timestamp()
    history = [(now - 100 * 60, 200, 1000), (now - 50 * 60, 200, 1000)]
    history += [(now - m * 60, 100, 100) for m in range(45, 0, -1)]
    out = evaluate_policy(SETTINGS, _inp(T0, current=2, window=50, fresh=50, history=history))
    assert out.action is None and out.desired == 2, out.reason
    assert ("a spike of 1000 VM-% recurred in the memory; carrying it needs 10 VMs, more than 1 beyond the 2 "
            "running: not held") in out.reason
    out = evaluate_policy(replace(SETTINGS, spike_reach=0), _inp(T0, current=2, window=50, fresh=50,
                                                                  history=history))
    assert (out.action, out.desired) == (ScaleAction.SCALE_OUT, 5), out.reason  # 3 per run at most
    assert "10 VMs carry it at 100% at most" in out.reason
    # within reach (3 VMs for 240 VM-% on 2): held, whatever the reach
    near = [(now - 100 * 60, 140, 240), (now - 50 * 60, 140, 240)] + history[2:]
    out = evaluate_policy(SETTINGS, _inp(T0, current=2, window=50, fresh=50, history=near))
    assert (out.action, out.desired) == (ScaleAction.SCALE_OUT, 3), out.reason
    assert parse_policy("recommended:spike_reach=0").settings.spike_reach == 0
    assert parse_policy("recommended").settings.spike_reach == rec.DEFAULT_SPIKE_REACH == 1


def test_a_spike_the_count_carries_below_the_threshold_buys_nothing():
    now = T0.timestamp()
    # 150 VM-% twice on 2 VMs: 75 % at the spike, below the 80 % threshold — nothing to buy, and the rules stay
    history = [(now - 90 * 60, 120, 150), (now - 30 * 60, 120, 150)]
    out = evaluate_policy(SETTINGS, _inp(T0, current=2, window=50, fresh=50, history=history))
    assert out.action is None and out.desired == 2 and "recurred" not in out.reason


def test_recurring_peak_and_records_kept_before_the_fresh_demand():
    rp = rec.recurring_peak
    assert rp([(0.0, 100, 240), (3600.0, 100, 230), (3700.0, 100, 100)], now=3700.0, window_seconds=7200,
              apart_seconds=390) == 230  # the level reached twice
    assert rp([(0.0, 100, 240), (60.0, 100, 230)], now=60.0, window_seconds=7200, apart_seconds=390) is None
    assert rp([(0.0, 100, 240), (3600.0, 100, 230)], now=7300.0, window_seconds=7200, apart_seconds=390) is None
    # two-item records (kept before the fresh demand was recorded): the window's demand counts as fresh
    assert rp([(0.0, 200), (1000.0, 180)], now=1000.0, window_seconds=7200, apart_seconds=390) == 180
    kept = rec.Memory.of([(0.0, 200), (10.0, 1, 2)]).remember((100.0, 5, 5), now=100.0, window_seconds=95)
    assert list(kept) == [(10.0, 1, 2), (100.0, 5, 5)]  # older than the window: dropped
    out = evaluate_policy(SETTINGS, _inp(T0, current=2, window=50, fresh=50,
                                         history=[((T0 - timedelta(minutes=5)).timestamp(), 100)]))
    assert out.history[0] == ((T0 - timedelta(minutes=5)).timestamp(), 100) and len(out.history[-1]) == 3


# --- the projection of the rate of rise (an option, off by default) ----------------------------------------------


def test_rise_rate_counts_a_rise_only_once_it_has_lasted():
    ramp = [(float(t), 100 + t / 10) for t in range(0, 781, 60)]  # +0.1 VM-% per second for 13 minutes
    assert rec.rise_rate(ramp, now=780.0, seconds=390) == pytest.approx(0.1)
    step_up = [(float(t), 100 if t < 600 else 160) for t in range(0, 781, 60)]  # one step, then flat
    assert rec.rise_rate(step_up, now=780.0, seconds=390) == 0.0  # the earlier period did not rise
    assert rec.rise_rate(step_up, now=780.0, seconds=390, parts=1) > 0
    assert rec.rise_rate(ramp[-2:], now=780.0, seconds=390) == 0.0  # too little recorded
    assert rec.rise_rate([(t, 300 - v) for t, v in ramp], now=780.0, seconds=390) == 0.0  # falling


def test_with_a_lead_the_scale_out_compares_the_load_a_clone_would_meet():
    lead = recommended_settings(scale_out_threshold=80.0, confirm_seconds=60, scale_out_margin=0,
                                scale_in_hysteresis=15, lead_seconds=390)
    rising = [(60 + i, 60 + i) for i in range(14)]  # +1 point a minute: 73 % now, ≈ 79.5 % in 390 s
    out = _run(rising + [(74, 74), (75, 75)], current=4, settings=lead)
    assert (out.action, out.desired) == (ScaleAction.SCALE_OUT, 5), out.reason  # ceil(4 × 81.5 / 70)
    assert "when a clone would serve" in out.reason
    # the same load held steady: no projection, and 75 % is below the threshold
    assert _run([(75, 75)] * 16, current=4, settings=lead).action is None
    # without a lead (the default), 75 % is above the fixed trigger 70 %: the margin decides
    assert _run([(75, 75)] * 3, current=4).action == ScaleAction.SCALE_OUT


# --- a margin that pays for itself: the trigger from the fresh reading's noise ----------------------------------


def _hour(fresh_of, *, window: float, current: int, now: datetime = T0) -> list[tuple[float, float, float]]:
    """An hour of the loop's records (one a minute, VM-%) up to a minute before ``now``."""
    return [((now - timedelta(minutes=m)).timestamp(), window * current, fresh_of(m) * current)
            for m in range(60, 0, -1)]


def test_noise_points_is_the_fresh_readings_spread_around_its_trend():
    now = T0.timestamp()
    flat = _hour(lambda m: 74, window=74, current=4)
    assert rec.noise_points(flat, now=now, seconds=3600, current=4) == pytest.approx(0.0)
    # a slow rise (a daily cycle's morning) is trend, not noise (to the millionth of a VM-% the line is fitted in:
    # these demands have more decimals than the loop's records keep)
    rising = _hour(lambda m: 80 - m / 6, window=74, current=4)
    assert rec.noise_points(rising, now=now, seconds=3600, current=4) == pytest.approx(0.0, abs=1e-6)
    # ± 5 points around 74 % at 4 VMs: 20 VM-% in demand, 5 points at the current count
    noisy = _hour(lambda m: 74 + (5 if m % 2 else -5), window=74, current=4)
    assert rec.noise_points(noisy, now=now, seconds=3600, current=4) == pytest.approx(5.0, rel=0.05)
    assert rec.noise_points(noisy, now=now, seconds=3600, current=2) == pytest.approx(10.0, rel=0.05)
    # too little recorded (less than half of the period, or fewer than five readings): unknown
    assert rec.noise_points(noisy[-20:], now=now, seconds=3600, current=4) is None
    assert rec.noise_points(noisy[:4], now=now, seconds=3600, current=4) is None
    # two-item records count their window demand as fresh
    assert rec.noise_points([(t, w) for t, w, _ in noisy], now=now, seconds=3600, current=4) == pytest.approx(0.0)


def test_noise_margin_is_k_times_the_noise_within_its_bounds():
    assert rec.noise_margin(1.0, k=2, low=5, high=10) == 5  # smooth: the least margin
    assert rec.noise_margin(3.0, k=2, low=5, high=10) == 6
    assert rec.noise_margin(8.0, k=2, low=5, high=10) == 10  # noisy or spiky: the full margin
    assert rec.noise_margin(None, k=2, low=5, high=10) == 10  # unknown: the full margin
    assert rec.noise_margin(3.0, k=0, low=5, high=10) == 10  # off: the fixed margin


def test_a_smooth_load_below_the_threshold_does_not_buy_the_margin_vm_a_noisy_one_does():
    """4 VMs at 73 %, 7 points below the 80 % threshold, for an hour. Smooth, it will not cross the threshold
    before a clone arrives: the margin is the least (5 points, trigger 75 %) and nothing is bought. With ± 5
    points of noise it will: the margin is the full 10 points (trigger 70 %) and it scales out."""
    smooth = _hour(lambda m: 73, window=73, current=4)
    out = evaluate_policy(SETTINGS, _inp(T0, current=4, window=73, fresh=73, history=smooth))
    assert out.action is None and out.desired == 4, out.reason
    assert "scale-out margin 5 points" in out.reason
    noisy = _hour(lambda m: 73 + (5 if m % 2 else -5), window=73, current=4)
    out = evaluate_policy(SETTINGS, _inp(T0, current=4, window=73, fresh=73, history=noisy))
    assert (out.action, out.desired) == (ScaleAction.SCALE_OUT, 5), out.reason  # ceil(4 × 73 / 70)
    assert "scale-out margin 10 points" in out.reason and "trigger 70%" in out.reason
    # the fixed margin (k 0) buys the VM on the smooth load as well
    fixed = replace(SETTINGS, margin_noise_k=0)
    out = evaluate_policy(fixed, _inp(T0, current=4, window=73, fresh=73, history=smooth))
    assert out.action == ScaleAction.SCALE_OUT and "scale-out margin" not in out.reason
    # above the threshold less the least margin, a smooth load scaled out too while the margin always applied
    # (margin_share 0); a smooth level that never reaches the threshold no longer buys the VM: the margin only where
    # it pays (test_a_level_just_below_the_threshold_does_not_buy_the_margin_vm)
    hot = _hour(lambda m: 76, window=76, current=4)
    out = evaluate_policy(replace(SETTINGS, margin_share=0.0), _inp(T0, current=4, window=76, fresh=76, history=hot))
    assert out.action == ScaleAction.SCALE_OUT, out.reason
    out = evaluate_policy(SETTINGS, _inp(T0, current=4, window=76, fresh=76, history=hot))
    assert out.action is None and "no scale-out margin" in out.reason, out.reason


def test_the_noise_margin_also_sets_the_scale_in_limit():
    """The scale-in leaves the load of now the hysteresis below the trigger: with a smooth load the trigger is
    75 %, so 3 VMs may carry 4 × 52 % (69 %, below 70 %); with the fixed margin (trigger 70 %, limit 65 %) not."""
    smooth = _hour(lambda m: 52, window=52, current=4)
    out = evaluate_policy(BAND, _inp(T0, current=4, window=52, fresh=52, history=smooth))
    assert (out.action, out.desired) == (ScaleAction.SCALE_IN, 3), out.reason
    out = evaluate_policy(replace(BAND, margin_noise_k=0), _inp(T0, current=4, window=52, fresh=52,
                                                                    history=smooth))
    assert out.action is None and out.desired == 4, out.reason


def test_the_settings_carry_the_noise_margin():
    s = recommended_settings(scale_out_threshold=80.0)
    assert (s.margin_noise_k, s.margin_noise_seconds, s.margin_min, s.scale_out_margin) == (
        rec.DEFAULT_MARGIN_NOISE_K, rec.DEFAULT_MARGIN_NOISE_SECONDS, rec.DEFAULT_MARGIN_MIN,
        rec.DEFAULT_SCALE_OUT_MARGIN) == (2.0, 3600, 5.0, 10.0)
    assert parse_policy("recommended:margin_noise_k=0", presets=True).settings.margin_noise_k == 0


# --- headroom goes at least as fast as the seed lets it go ------------------------------------------------------


def test_after_a_long_burst_the_headroom_goes_as_the_seeds_scale_in_would_let_it_go():
    """6 VMs carried a burst of 390 VM-% for half an hour; then the load falls to 20 % of 6 VMs. The hour's memory
    (390 VM-% at 75 % → 6 VMs) and the burst as a sustained load (carried at 100 % → 4 VMs) would hold 6 VMs for an
    hour; the seed's scale-in alert (below 30 % for 5 minutes) fires after 5 minutes: one VM goes then."""
    burst, after = [(65, 65)] * 30, [(20, 20)] * 4
    settings = replace(BAND, scale_in_threshold=30.0, scale_in_duration_seconds=300, release_like_step=True,
                       margin_share=0.0)
    out = _run(burst + after, current=6, settings=settings)
    assert out.action is None and out.desired == 6  # below 30 % for 4 minutes only: the memory still holds
    out = _run(burst + after + [(20, 20)] * 2, current=6, settings=settings)
    assert (out.action, out.desired) == (ScaleAction.SCALE_IN, 5), out.reason
    assert "below the scale-in threshold 30%" in out.reason
    # without the rule the memory holds all 6
    held = _run(burst + after + [(20, 20)] * 2, current=6, settings=replace(settings, release_like_step=False))
    assert held.action is None and held.desired == 6
    # a load at 35 % of 6 VMs is inside the seed's band: nothing is released early
    out = _run(burst + [(35, 35)] * 6, current=6, settings=settings)
    assert out.action is None and out.desired == 6


def test_the_release_follows_the_configs_scale_in_rule():
    burst, after = [(65, 65)] * 30, [(20, 20)] * 6
    # the config's scale-in threshold is 15 %: 20 % is inside its band
    on = replace(BAND, release_like_step=True, margin_share=0.0)
    out = _run(burst + after, current=6, settings=replace(on, scale_in_threshold=15.0))
    assert out.desired == 6
    assert _run(burst + after, current=6, settings=on).desired == 5
    # ... and a scale-in duration of 10 minutes: 6 minutes below 30 % is not enough
    out = _run(burst + after, current=6, settings=replace(on, scale_in_duration_seconds=600))
    assert out.desired == 6
    assert rec.step_releases([(0.0, 100), (300.0, 100)], now=300.0, seconds=300, below=30, current=4)
    assert not rec.step_releases([(100.0, 100), (300.0, 100)], now=300.0, seconds=300, below=30, current=4)
    assert not rec.step_releases([(0.0, 100), (300.0, 130)], now=300.0, seconds=300, below=30, current=4)


# --- the scale-out margin only where it pays ----------------------------------------------------------------


GATED = replace(SETTINGS, margin_share=0.05, margin_rise=0.25)


def test_a_level_just_below_the_threshold_does_not_buy_the_margin_vm():
    """3 VMs at 76–78 % for 40 minutes: above the trigger (80 − the margin), so the margin would buy a 4th VM — for
    as long as the level lasts. None of the readings would overload 3 VMs, so the margin does not pay: 3 stay."""
    level = [(77, 76), (77, 78)] * 20
    assert _run(level, current=3, settings=replace(GATED, margin_share=0.0)).action == ScaleAction.SCALE_OUT
    out = _run(level, current=3, settings=GATED)
    assert out.action is None and out.desired == 3, out.reason
    assert "no scale-out margin: 0% of the fresh readings" in out.reason
    # a load above the threshold still scales out
    assert _run(level + [(84, 85)] * 3, current=3, settings=GATED).action == ScaleAction.SCALE_OUT


def test_a_rising_load_keeps_its_margin():
    """The same last readings on a load that has risen 70 → 77 % over the last 40 minutes: the trend adds more than
    the 0.25 points within a clone's lead time, so the margin stays and the early VM is bought."""
    rising = [(70 + 7 * i / 39, 70 + 7 * i / 39) for i in range(40)]
    out = _run(rising, current=3, settings=GATED)
    assert (out.action, out.desired) == (ScaleAction.SCALE_OUT, 4), out.reason


def test_the_margin_vm_goes_when_one_fewer_would_not_need_it():
    """4 VMs; the hour's peak 230 VM-% needs 4 at the scale-in target 75 %, but 3 carry it below the threshold
    (76.7 %) and the load of now (220 VM-%) at 73.3 % ≤ 80 − 5, and no reading would overload 3: one VM goes."""
    hour = [(57.5, 57.5)] * 30 + [(55, 55)] * 5
    gated = replace(GATED, step_guard=False)  # the band's margin rule (see BAND)
    assert _run(hour, current=4, settings=replace(gated, margin_share=0.0)).desired == 4
    out = _run(hour, current=4, settings=gated)
    assert (out.action, out.desired) == (ScaleAction.SCALE_IN, 3), out.reason
    assert "where the scale-out margin does not pay" in out.reason
    # the share: readings moved along their trend (flat here) above 3 × 80 VM-%: one of five counted, or the normal
    # tail of their spread (mean 234, standard deviation 10.3: 28 %), whichever is more
    flat = [(0.0, 0, 230), (900.0, 0, 230), (1800.0, 0, 250), (2700.0, 0, 230), (3600.0, 0, 230)]
    assert rec.overload_share(flat, now=3600.0, seconds=3600, current=3, threshold=80, ahead=0) == pytest.approx(
        0.281, abs=0.001)
    assert rec.overload_share(flat, now=3600.0, seconds=3600, current=4, threshold=80, ahead=0) < 0.001
    # a falling trend moves the early high reading below the threshold by the time a clone would serve
    falling = [(0.0, 0, 250), (900.0, 0, 240), (1800.0, 0, 230), (2700.0, 0, 220), (3600.0, 0, 210)]
    assert rec.overload_share(falling, now=3600.0, seconds=3600, current=3, threshold=80, ahead=390) == 0.0


def test_a_count_of_zero_with_utilisation_still_reported_does_not_raise():
    # Prometheus can answer 0 targets while the rate window still holds the VMs' CPU for a few minutes: the margin
    # rule divides by the count, and must not fail the evaluation for it.
    history: list = []
    for i in range(70):
        out = evaluate_policy(SETTINGS, _inp(T0 + timedelta(minutes=i), current=2, window=60, fresh=60 + i % 3,
                                             history=history))
        history = out.history
    lost = replace(_inp(T0 + timedelta(minutes=70), current=2, window=60, fresh=61, history=history),
                   current_vm_count=0)
    out = evaluate_policy(SETTINGS, lost)  # raised ZeroDivisionError before
    assert out.reason


# --- scale in only on the seed's rule (an operator's option) ------------------------------------------------


def test_with_the_seeds_rule_a_scale_in_waits_until_the_seed_would_release():
    """4 VMs after an old peak at 31 %: the memory lets 2 go (the hour's peak fits 2 VMs at 75 %), but 31 % is
    inside the seed's band (its scale-in is below 30 % for 5 minutes): with the option the VMs stay, and go once the
    load has been below 30 % for the seed's duration — then as many as the memory lets go, not one."""
    on = replace(BAND, scale_in_on_seed_rule=True, scale_in_threshold=30.0, scale_in_duration_seconds=300)
    quiet = [(60, 60)] + [(31, 31)] * (10 + rec.DEFAULT_STABILISATION_SECONDS // 60)
    assert _run(quiet, current=4, settings=BAND).desired == 2  # without the option
    held = _run(quiet, current=4, settings=on)
    assert held.action is None and held.desired == 4
    assert "waits for the seed's scale-in rule (utilisation below 30% for 5 min)" in held.reason
    assert held.reason.params["notes"][-1].code == "rec_scale_in_waits_for_seed_rule"
    # below 30 % for 4 minutes: not yet; for 5 minutes (the history reaches back that far, all below): released
    assert _run(quiet + [(25, 25)] * 4, current=4, settings=on).desired == 4
    out = _run(quiet + [(25, 25)] * 6, current=4, settings=on)
    assert (out.action, out.desired) == (ScaleAction.SCALE_IN, 2), out.reason
    # the config's own rule: a scale-in threshold of 20 % keeps them at 25 %
    assert _run(quiet + [(25, 25)] * 6, current=4, settings=replace(on, scale_in_threshold=20.0)).desired == 4


def test_the_seeds_rule_never_holds_back_a_scale_out():
    on = replace(SETTINGS, scale_in_on_seed_rule=True)
    out = _run([(90, 92), (92, 95)], current=3, settings=on)
    assert (out.action, out.desired) == (ScaleAction.SCALE_OUT, 4)


@pytest.mark.django_db
def test_the_seeds_rule_is_a_policy_setting_in_the_api_admin_and_simulator(config, admin_client):
    policy = ScalingPolicy.objects.create(config=config, policy_type=PolicyType.RECOMMENDED)
    assert selectors.policy_settings(config, policy).scale_in_on_seed_rule is False
    engineer = User.objects.create_user("policy-engineer")
    engineer.user_permissions.add(*Permission.objects.filter(codename__in=["change_scalingpolicy",
                                                                           "view_scalingpolicy"]))
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=engineer.pk))
    url = f"/api/policies/{config.service_name}/"
    response = client.get(url)
    assert response.status_code == 200 and response.json()["scale_in_on_seed_rule"] is False
    response = client.patch(url, {"scale_in_on_seed_rule": True}, format="json")
    assert response.status_code == 200, response.content
    policy.refresh_from_db()
    assert policy.scale_in_on_seed_rule is True
    assert selectors.policy_settings(config, policy).scale_in_on_seed_rule is True
    bad = client.patch(url, {"scale_in_on_seed_rule": {"nested": [1]}}, format="json")
    assert bad.status_code == 400 and "scale_in_on_seed_rule" in bad.json()
    page = admin_client.get(f"/admin/policies/scalingpolicy/{policy.pk}/change/", HTTP_ACCEPT_LANGUAGE="ko")
    assert page.status_code == 200 and "기본 정책의 규칙일 때만 스케일인" in page.content.decode()
    sim = parse_policy("recommended:scale_in_on_seed_rule=1", presets=True)
    assert sim.settings.scale_in_on_seed_rule is True


# --- the step guard: on by default, a policy setting in the API and the admin -------------------------------------


@pytest.mark.django_db
def test_the_step_guard_is_on_for_a_new_recommended_policy_and_a_setting_in_the_api(config):
    assert recommended_settings().step_guard is rec.DEFAULT_STEP_GUARD is True
    assert ScalingPolicy().step_guard is True
    engineer = User.objects.create_user("guard-engineer")
    engineer.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_scalingpolicy", "change_scalingpolicy", "add_scalingpolicy"]))
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=engineer.pk))
    url = f"/api/policies/{config.service_name}/"
    response = client.put(url, {"dry_run": True}, format="json")  # a new policy: recommended, the guard on
    assert response.status_code == 201, response.content
    assert (response.json()["policy_type"], response.json()["step_guard"]) == ("recommended", True)
    policy = ScalingPolicy.objects.get(config=config)
    assert policy.step_guard is True and selectors.policy_settings(config, policy).step_guard is True
    assert client.get(url).json()["step_guard"] is True
    response = client.patch(url, {"step_guard": False}, format="json")
    assert response.status_code == 200 and response.json()["step_guard"] is False, response.content
    policy.refresh_from_db()
    assert policy.step_guard is False and selectors.policy_settings(config, policy).step_guard is False
    response = client.patch(url, {"step_guard": True}, format="json")
    assert response.status_code == 200 and response.json()["step_guard"] is True, response.content
    policy.refresh_from_db()
    assert policy.step_guard is True
    bad = client.patch(url, {"step_guard": {"nested": [1]}}, format="json")
    assert bad.status_code == 400 and "step_guard" in bad.json(), bad.content
    policy.refresh_from_db()
    assert policy.step_guard is True


@pytest.mark.django_db
def test_the_admin_change_form_offers_the_step_guard_in_english_and_korean(config, admin_client):
    policy = ScalingPolicy.objects.create(config=config, policy_type=PolicyType.RECOMMENDED)
    for language, label in (("en", "Keep within the seed&#x27;s results"), ("ko", "시드의 결과 안에서 유지")):
        page = admin_client.get(f"/admin/policies/scalingpolicy/{policy.pk}/change/", HTTP_ACCEPT_LANGUAGE=language)
        html = page.content.decode()
        checkbox = re.search(r'<input[^>]*name="step_guard"[^>]*>', html)
        assert page.status_code == 200 and checkbox and "checked" in checkbox.group(0), language  # on by default
        assert f'<label class="vCheckboxLabel" for="id_step_guard">{label}</label>' in html, language
