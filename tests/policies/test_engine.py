"""Table-driven tests of the pure policy functions and of evaluate_policy() (which ends in decide())."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from events.choices import Decision, ScaleAction
from policies.engine import predictive as pred
from policies.engine import target_tracking as tt
from policies.engine.evaluate import PolicyInput, PolicySettings, evaluate_policy
from policies.engine.schedules import Window, active_window, effective_bounds, parse_weekdays

T0 = datetime(2025, 3, 5, 12, 0, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("current", "metric", "target", "tolerance", "expected"),
    [
        (2, 90, 60, 0.1, 3),  # ceil(2 × 1.5)
        (3, 100, 60, 0.1, 5),  # ceil(5.0)
        (3, 60.0000000001, 60, 0.0, 3),  # float noise is not a VM
        (4, 65, 60, 0.1, 4),  # ratio 1.083: inside the tolerance
        (4, 54.5, 60, 0.1, 4),  # ratio 0.908: inside
        (4, 66.1, 60, 0.1, 5),  # ratio 1.1017: outside → ceil(4.41)
        (4, 20, 60, 0.1, 2),  # ceil(1.33)
        (4, 0, 60, 0.1, 1),  # never below one VM from the formula
        (4, 65, 60, 0.0, 5),  # no tolerance
    ],
)
def test_target_tracking_formula_and_tolerance(current, metric, target, tolerance, expected):
    assert tt.desired_count(current=current, metric=metric, target=target, tolerance=tolerance) == expected


@pytest.mark.parametrize(
    ("desired", "current", "lo", "hi", "max_change", "expected"),
    [
        (9, 3, 2, 6, None, 6),
        (1, 3, 2, 6, None, 2),
        (9, 3, 2, 10, 2, 5),
        (1, 6, 1, 10, 2, 4),
        (4, 3, 2, 6, 2, 4),
    ],
)
def test_clamp_to_bounds_and_per_run_maximum(desired, current, lo, hi, max_change, expected):
    assert tt.clamp(desired, current=current, min_vms=lo, max_vms=hi, max_change=max_change) == expected


@pytest.mark.parametrize(
    ("history", "raw", "current", "expected"),
    [
        ([], 2, 4, 2),  # nothing in the window: follow the recommendation
        ([(-200, 3), (-100, 2)], 2, 4, 3),  # highest of the window wins
        ([(-200, 4), (-100, 3)], 2, 4, 4),  # a full-size recommendation in the window holds the count
        ([(-400, 5), (-100, 3)], 2, 4, 3),  # 5 is older than the 300 s window
        ([(-10, 6)], 2, 4, 4),  # never above current for a scale-in
        ([(-10, 2)], 6, 4, 6),  # scale-out is never delayed
    ],
)
def test_stabilisation_window(history, raw, current, expected):
    assert tt.stabilised(history=history, now=0, window_seconds=300, raw=raw, current=current) == expected


def test_warm_up_vms_do_not_count():
    vms = [
        tt.VMUtilisation(80, None),
        tt.VMUtilisation(70, T0 - timedelta(seconds=900)),
        tt.VMUtilisation(5, T0 - timedelta(seconds=60)),  # still warming up
    ]
    assert tt.warm_utilisation(vms, now=T0, warmup_seconds=300) == pytest.approx(75)
    assert tt.warm_utilisation(vms[2:], now=T0, warmup_seconds=300) is None
    assert tt.warm_utilisation(vms, now=T0, warmup_seconds=0) == pytest.approx(155 / 3)


@pytest.mark.parametrize(
    ("current", "metric", "remove", "threshold", "expected"),
    [
        (4, 20, 2, 80, 2),  # 2 VMs at 40 %: fine
        (4, 50, 2, 80, 1),  # 2 at 100 % would flap; 3 at 66.7 % is fine
        (4, 70, 1, 80, 0),  # 3 at 93 %: blocked
        (2, 39, 1, 80, 1),  # 1 at 78 %
    ],
)
def test_flapping_check(current, metric, remove, threshold, expected):
    got = tt.flap_safe_scale_in(current=current, metric=metric, remove=remove, scale_out_threshold=threshold)
    assert got == expected


BERLIN = ZoneInfo("Europe/Berlin")
BUSINESS = Window(parse_weekdays("mon-fri"), time(9), time(17), 4, 8, None, "business")
NIGHT = Window(parse_weekdays("fri"), time(22), time(6), 1, 2, 1, "night")


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        (datetime(2025, 1, 15, 8, 0, tzinfo=UTC), "business"),  # Wed 09:00 CET
        (datetime(2025, 1, 15, 7, 59, tzinfo=UTC), None),  # Wed 08:59 CET
        (datetime(2025, 7, 16, 7, 0, tzinfo=UTC), "business"),  # Wed 09:00 CEST (DST: one hour earlier in UTC)
        (datetime(2025, 7, 16, 15, 0, tzinfo=UTC), None),  # Wed 17:00 CEST: end is exclusive
        (datetime(2025, 1, 18, 8, 0, tzinfo=UTC), None),  # Saturday
        (datetime(2025, 1, 17, 21, 30, tzinfo=UTC), "night"),  # Fri 22:30 CET
        (datetime(2025, 1, 18, 4, 59, tzinfo=UTC), "night"),  # Sat 05:59 CET: across midnight, started Friday
        (datetime(2025, 1, 18, 5, 0, tzinfo=UTC), None),  # Sat 06:00
        (datetime(2025, 1, 16, 23, 0, tzinfo=UTC), None),  # Fri 00:00 CET: Thursday is not a start day
        (datetime(2025, 3, 28, 21, 0, tzinfo=UTC), "night"),  # Fri 22:00 CET before the spring-forward night
        (datetime(2025, 3, 29, 4, 30, tzinfo=UTC), "night"),  # Sat 05:30 CET (no DST change until Sunday)
        (datetime(2025, 10, 24, 20, 0, tzinfo=UTC), "night"),  # Fri 22:00 CEST
        (datetime(2025, 10, 25, 4, 0, tzinfo=UTC), None),  # Sat 06:00 CEST
    ],
)
def test_schedules_across_midnight_and_dst(utc, expected):
    got = active_window([BUSINESS, NIGHT], now=utc, tz=BERLIN)
    assert (got.window.name if got else None) == expected


def test_schedule_on_dst_change_nights():
    # A window 01:30-03:30 every day in Berlin; on 2025-03-30 02:00 CET jumps to 03:00 CEST.
    w = Window(parse_weekdays("mon-sun"), time(1, 30), time(3, 30), 3, 5, None, "n")
    assert active_window([w], now=datetime(2025, 3, 30, 0, 45, tzinfo=UTC), tz=BERLIN)  # 01:45 CET
    assert active_window([w], now=datetime(2025, 3, 30, 1, 15, tzinfo=UTC), tz=BERLIN)  # 03:15 CEST
    assert not active_window([w], now=datetime(2025, 3, 30, 1, 30, tzinfo=UTC), tz=BERLIN)  # 03:30 CEST
    # 2025-10-26 03:00 CEST falls back to 02:00 CET: 02:xx happens twice, both inside.
    assert active_window([w], now=datetime(2025, 10, 26, 0, 30, tzinfo=UTC), tz=BERLIN)  # 02:30 CEST
    assert active_window([w], now=datetime(2025, 10, 26, 1, 30, tzinfo=UTC), tz=BERLIN)  # 02:30 CET
    assert not active_window([w], now=datetime(2025, 10, 26, 2, 30, tzinfo=UTC), tz=BERLIN)  # 03:30 CET


def test_effective_bounds():
    act = active_window([NIGHT], now=datetime(2025, 1, 17, 21, 30, tzinfo=UTC), tz=BERLIN)
    assert effective_bounds(min_vms=2, max_vms=6, active=None).min_vms == 2
    b = effective_bounds(min_vms=2, max_vms=6, active=act)
    assert (b.min_vms, b.max_vms, b.desired_vms, b.window_key) == (1, 2, 1, "night@2025-01-17")


@pytest.mark.parametrize("bad", ["", "monday", "mon-xyz", ",,"])
def test_parse_weekdays_rejects(bad):
    with pytest.raises(ValueError):
        parse_weekdays(bad)


def test_parse_weekdays_wraps():
    assert parse_weekdays("fri-mon") == frozenset({4, 5, 6, 0})


def _weekly_history(weeks: int, *, step: int = 3600, growth: float = 1.0) -> pred.Forecaster:
    values = []
    for i in range(weeks * 7 * 24):
        hour = i % 24
        week = i // (7 * 24)
        base = 100 + (200 if 9 <= hour < 17 else 0)
        values.append(base * growth**week)
    return pred.Forecaster(start=0, step=step, values=values)


def test_forecast_is_seasonal_with_trend():
    f = _weekly_history(3)
    now = 3 * 7 * 86400 - 3600  # last hour of history (a Sunday 23:00)
    assert f.forecast(now + 11 * 3600, now=now) == pytest.approx(300)  # Monday 10:00 next week → busy
    assert f.forecast(now + 4 * 3600, now=now) == pytest.approx(100)
    grow = _weekly_history(3, growth=1.5)
    # level rose 1.5× over the last week → forecast carries the trend
    assert grow.forecast(now + 11 * 3600, now=now) > 300 * 1.5
    assert f.peak(now=now, horizon=11 * 3600) == pytest.approx(300)
    assert pred.Forecaster(start=0, step=3600, values=[]).forecast(10, now=5) is None


@pytest.mark.parametrize(
    ("reactive", "floor", "expected"),
    [(3, None, 3), (3, 5, 5), (2, 1, 2), (4, 6, 6)],
)
def test_forecast_only_raises(reactive, floor, expected):
    assert pred.combine(reactive=reactive, floor=floor) == expected


def _inp(**kw) -> PolicyInput:
    base = {
        "now": T0, "enabled": True, "min_vms": 2, "max_vms": 10, "cooldown_seconds": 300, "current_vm_count": 4,
        "vms": [tt.VMUtilisation(60)] * 4,
    }
    base.update(kw)
    return PolicyInput(**base)


TT = PolicySettings(policy_type="target_tracking", target=60, max_change=3)
PRED = PolicySettings(policy_type="predictive", target=60, max_change=3)


@pytest.mark.parametrize(
    ("settings", "inp", "action", "decision", "count"),
    [
        # formula: 4 × 90/60 = 6 → +2
        (TT, _inp(vms=[tt.VMUtilisation(90)] * 4), ScaleAction.SCALE_OUT, Decision.ALLOW, 2),
        # per-run maximum: 4 × 100/30... capped at +3
        (PolicySettings(policy_type="target_tracking", target=30, max_change=3),
         _inp(vms=[tt.VMUtilisation(100)] * 4), ScaleAction.SCALE_OUT, Decision.ALLOW, 3),
        # tolerance: nothing to do
        (TT, _inp(vms=[tt.VMUtilisation(64)] * 4), None, None, 0),
        # cooldown from decide()
        (TT, _inp(vms=[tt.VMUtilisation(90)] * 4, last_scale_out_at=T0 - timedelta(seconds=60)),
         ScaleAction.SCALE_OUT, Decision.BLOCK_COOLDOWN, 0),
        # in flight from decide()
        (TT, _inp(vms=[tt.VMUtilisation(90)] * 4, run_in_flight=True), ScaleAction.SCALE_OUT,
         Decision.BLOCK_IN_PROGRESS, 0),
        # disabled from decide()
        (TT, _inp(vms=[tt.VMUtilisation(90)] * 4, enabled=False), ScaleAction.SCALE_OUT, Decision.BLOCK_DISABLED, 0),
        # unknown count → no action at all
        (TT, _inp(current_vm_count=None), None, None, 0),
        # unknown metric → no action
        (TT, _inp(vms=None, metric_error="Prometheus down"), None, None, 0),
        # IP pool from decide()
        (TT, _inp(vms=[tt.VMUtilisation(90)] * 4, free_ips=0), ScaleAction.SCALE_OUT, Decision.BLOCK_IP_POOL, 0),
        # scale-in: 4 × 20/60 → 2 (no history), flapping check passes (40 % < 80 %)
        (TT, _inp(vms=[tt.VMUtilisation(20)] * 4), ScaleAction.SCALE_IN, Decision.ALLOW, 2),
        # scale-in held by the stabilisation window
        (TT, _inp(vms=[tt.VMUtilisation(20)] * 4, history=[(T0.timestamp() - 100, 4)]), None, None, 0),
        # scale-in suspended
        (PolicySettings(policy_type="target_tracking", suspend_scale_in=True), _inp(vms=[tt.VMUtilisation(20)] * 4),
         None, None, 0),
        # scale-out suspended
        (PolicySettings(policy_type="target_tracking", suspend_scale_out=True),
         _inp(vms=[tt.VMUtilisation(90)] * 4), None, None, 0),
        # flapping check limits a scale-in to what keeps the rest below the scale-out threshold
        (PolicySettings(policy_type="target_tracking", target=90, tolerance=0, scale_out_threshold=50),
         _inp(vms=[tt.VMUtilisation(30)] * 4), ScaleAction.SCALE_IN, Decision.ALLOW, 1),
        # predictive: the forecast raises the count ahead of the load
        (PRED, _inp(forecast_peak=480), ScaleAction.SCALE_OUT, Decision.ALLOW, 3),
        # predictive never scales in on a forecast alone (forecast low, reactive within tolerance)
        (PRED, _inp(forecast_peak=10), None, None, 0),
        # ... the reactive part may scale in; the forecast floor limits how far
        (PRED, _inp(vms=[tt.VMUtilisation(10)] * 4, forecast_peak=150), ScaleAction.SCALE_IN, Decision.ALLOW, 1),
        # forecast-only: no action from the forecast
        (PolicySettings(policy_type="predictive", forecast_only=True), _inp(forecast_peak=480), None, None, 0),
        # predictive suspended: reactive only
        (PolicySettings(policy_type="predictive", suspend_predictive=True), _inp(forecast_peak=480), None, None, 0),
        # step policy: nothing without alerts
        (PolicySettings(), _inp(vms=[tt.VMUtilisation(99)] * 4), None, None, 0),
    ],
)
def test_evaluate_policy(settings, inp, action, decision, count):
    out = evaluate_policy(settings, inp)
    assert out.action == action, out.reason
    if decision is None:
        assert out.decision is None
    else:
        assert out.decision.decision == decision, out.reason
        assert out.decision.count == count


def test_forecast_only_records_what_it_would_do():
    out = evaluate_policy(PolicySettings(policy_type="predictive", forecast_only=True), _inp(forecast_peak=480))
    assert out.forecast_desired == 8 and out.action is None


def test_warm_up_excluded_in_evaluation():
    vms = [tt.VMUtilisation(90)] * 3 + [tt.VMUtilisation(0, T0 - timedelta(seconds=30))]
    out = evaluate_policy(TT, _inp(vms=vms))
    assert out.metric == pytest.approx(90)
    assert out.desired == 6  # ceil(4 × 90 / 60)


@pytest.mark.parametrize("policy_type", ["step", "target_tracking"])
def test_scheduled_action_sets_bounds_and_desired(policy_type):
    window = Window(parse_weekdays("wed"), time(11), time(13), 6, 8, 7, "lunch")
    act = active_window([window], now=T0, tz=ZoneInfo("UTC"))
    settings = PolicySettings(policy_type=policy_type, max_change=None)
    out = evaluate_policy(settings, _inp(active_window=act))
    assert (out.action, out.trigger, out.desired, out.decision.count) == (ScaleAction.SCALE_OUT, "schedule", 7, 3)
    assert out.window_key == "lunch@2025-03-05"
    # once applied, only the bounds hold: 7 VMs at 60 % stay
    again = evaluate_policy(settings, _inp(active_window=act, applied_window_key=out.window_key, current_vm_count=7,
                                           vms=[tt.VMUtilisation(60)] * 7))
    assert again.action is None
    # suspended scheduled process: the window is ignored
    off = evaluate_policy(PolicySettings(policy_type=policy_type, suspend_scheduled=True), _inp(active_window=act))
    assert off.action is None


def test_scheduled_bounds_lower_the_maximum():
    window = Window(parse_weekdays("wed"), time(11), time(13), 1, 2, None, "quiet")
    act = active_window([window], now=T0, tz=ZoneInfo("UTC"))
    out = evaluate_policy(PolicySettings(), _inp(active_window=act))
    assert (out.action, out.trigger, out.decision.decision, out.decision.count) == (
        ScaleAction.SCALE_IN, "schedule", Decision.ALLOW, 2)


@pytest.mark.parametrize(
    ("current", "metric", "scale_in_target", "expected"),
    [
        (6, 30, 60, 3),  # 180 VM-% at ≤ 60 % → 3 VMs
        (6, 30, 45, 4),  # a lower scale-in target keeps more headroom: ceil(4.0)
        (6, 31, 45, 5),  # ceil(4.13)
        (4, 59, 60, 4),  # never more than the current count
        (4, 0, 60, 1),  # never below one VM
    ],
)
def test_scale_in_count(current, metric, scale_in_target, expected):
    assert tt.scale_in_count(current=current, metric=metric, scale_in_target=scale_in_target) == expected


@pytest.mark.parametrize(
    ("metric", "scale_in_target", "desired"),
    [
        (30, None, 3),  # HPA formula at target 65: ceil(6 × 30 / 65) = 3
        (30, 50, 4),  # hysteresis band: the rest must run at ≤ 50 % → ceil(3.6) = 4
        (55, 50, 6),  # the formula keeps 6 (ceil(6 × 55 / 65) = 6): the band only acts on a scale-in
        (80, 50, 8),  # scale-out ignores the scale-in target: ceil(6 × 80 / 65) = 8
    ],
)
def test_evaluate_scale_in_target_band(metric, scale_in_target, desired):
    settings = PolicySettings(policy_type="target_tracking", target=65, tolerance=0.1, stabilisation_seconds=0,
                              scale_in_target=scale_in_target, flapping_check=False)
    out = evaluate_policy(settings, _inp(current_vm_count=6, max_vms=10,
                                         vms=[tt.VMUtilisation(metric)] * 6))
    assert out.desired == desired


# --- predictive after a regime change ------------------------------------------------------------------------


def _event_then_quiet(step: float) -> list[float | None]:
    """Three weeks with a daily peak of 300 from 12:00 to 14:00 (100 otherwise), then the event ends: 50/60."""
    values: list[float | None] = []
    for i in range(int(35 * 86400 / step)):
        t = i * step
        hour = (t % 86400) / 3600
        busy = 12 <= hour < 14
        values.append(float((300 if busy else 100) if t < 21 * 86400 else (60 if busy else 50)))
    return values


@pytest.mark.parametrize("step", [60.0, 300.0])
def test_forecast_never_raises_capacity_for_a_peak_the_last_days_did_not_show(step):
    f = pred.Forecaster(start=0, step=step, values=_event_then_quiet(step))
    before = 20 * 86400 + 11.9 * 3600
    assert f.peak(now=before, horizon=900) == pytest.approx(300, rel=0.02)  # the event: its peak is forecast
    # three days after the event ended the 4-week average still holds three event peaks; the last two days
    # peaked at 60: that is the most the forecast may ask for
    after = 24 * 86400 + 11.9 * 3600
    assert f.recent_max(after) == 60
    assert f.peak(now=after, horizon=900) <= 60


def test_forecast_weight_falls_when_recent_errors_grow():
    step = 300.0
    values = _event_then_quiet(step)
    f = pred.Forecaster(start=0, step=step, values=values)
    assert f.weight(20 * 86400) == 1.0  # the forecast matched the past six hours exactly
    # the day the event ends, at 14:00: the last six hours held the missing peak (forecast 300, actual 60)
    assert f.weight(21 * 86400 + 14 * 3600) < 0.5
    # with no weight the forecast is the latest load: the floor adds nothing to the reactive policy
    flat = pred.Forecaster(start=0, step=step, values=values, error_tolerance=1e-9)
    now = 21 * 86400 + 14 * 3600
    assert flat.weight(now) == 0.0
    assert flat.peak(now=now, horizon=900) == values[int(now // step) - 1]


def test_forecast_smoothing_is_defined_in_time():
    assert pred.Forecaster(start=0, step=60, values=[1.0] * 10, smooth_seconds=300).smooth_bins == 5
    assert pred.Forecaster(start=0, step=300, values=[1.0] * 10, smooth_seconds=300).smooth_bins == 1
