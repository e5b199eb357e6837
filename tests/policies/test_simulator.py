"""The simulator replays traces through decide()/evaluate_policy(): the reference scenario, re-check, metrics, CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from events.choices import Decision
from policies.engine.evaluate import PolicySettings
from policies.simulator.engine import SimConfig, SimParams, Simulation, simulate
from policies.simulator.trace import TraceError, read_trace

T0 = datetime(2025, 1, 6, 0, 0, tzinfo=UTC)
SEED = SimConfig(min_vms=2, max_vms=4, cooldown_seconds=300, alert_repeat_interval_seconds=300)
# The reference timings: clone 5 min, delete 2 min; 1-minute trace so a 1-minute rate window is exact.
SEED_PARAMS = SimParams(capacity=100, clone_seconds=300, delete_seconds=120, rate_window=60, policy_rate_window=60,
                        dispatch_seconds=30, group_wait=30, group_interval=300, eval_interval=60)


def write_trace(path, loads, *, step=60, start=T0, time_column="timestamp", load_column="load"):
    lines = [f"{time_column},{load_column}"]
    for i, load in enumerate(loads):
        cell = "" if load is None else f"{load}"
        lines.append(f"{(start + timedelta(seconds=i * step)).isoformat()},{cell}")
    path.write_text("\n".join(lines) + "\n")
    return path


def minute(d) -> str:
    delta = datetime.fromtimestamp(d.at, UTC) - T0
    m, s = divmod(int(delta.total_seconds()), 60)
    return f"00:{m:02d}:{s:02d}"


def timeline(result, action):
    return [(minute(d), d.decision, d.count) for d in result.decisions if d.action == action]


@pytest.fixture
def seed_out_trace(tmp_path):
    # 50 % on 2 VMs, then from 00:04 a load of 340: 170 % on 2, 113 % on 3, 85 % on 4 VMs (still > 80 %).
    return read_trace(write_trace(tmp_path / "out.csv", [100] * 4 + [340] * 36), time_column="timestamp",
                      load_column="load")


def test_seed_13_2_scale_out_timeline(seed_out_trace):
    result = simulate(seed_out_trace, SEED, params=SEED_PARAMS)
    assert timeline(result, "scale-out")[:6] == [
        ("00:06:30", Decision.ALLOW, 1),  # alert at 00:06 (CPU > 80 % from 00:05 for 1 m) → VM 3, run 00:07-00:12
        ("00:11:30", Decision.BLOCK_IN_PROGRESS, 0),  # Alertmanager repeat while VM 3 is being built
        ("00:16:30", Decision.BLOCK_COOLDOWN, 0),  # VM 3 in service at 00:12 → cooldown to 00:17
        ("00:21:30", Decision.ALLOW, 1),  # next repeat: VM 4 (cooldown 5 + repeat 5 = ≥ 10 min after VM 3)
        ("00:26:30", Decision.BLOCK_IN_PROGRESS, 0),
        ("00:31:30", Decision.BLOCK_MAX, 0),  # 4 VMs = maximum
    ]
    assert result.peak_vms == 4 and result.scale_outs == 2


def test_recheck_at_cooldown_end_scales_out_within_5_minutes(seed_out_trace):
    params = SimParams(**{**SEED_PARAMS.__dict__, "recheck_at_cooldown_end": True})
    result = simulate(seed_out_trace, SEED, params=params)
    allows = [d for d in result.decisions if d.decision == Decision.ALLOW and d.action == "scale-out"]
    vm3_in_service = T0 + timedelta(minutes=12)  # 00:06:30 ALLOW + 30 s dispatch + 5 min clone
    second = datetime.fromtimestamp(allows[1].at, UTC)
    assert allows[1].trigger == "recheck"
    assert second - vm3_in_service <= timedelta(minutes=5)
    assert minute(allows[1]) == "00:17:00"
    # the same decision function, so the seed's blocks still hold
    assert [d.decision for d in result.decisions if d.action == "scale-out"][-1] == Decision.BLOCK_MAX


def test_seed_13_2_scale_in_timeline(tmp_path):
    trace = read_trace(write_trace(tmp_path / "in.csv", [200] * 4 + [40] * 36), time_column="timestamp",
                       load_column="load")
    params = SimParams(**{**SEED_PARAMS.__dict__, "initial_vms": 4})
    result = simulate(trace, SEED, params=params)
    assert timeline(result, "scale-in")[:4] == [
        ("00:10:30", Decision.ALLOW, 1),  # CPU < 30 % from 00:05 for 5 m → delete VM 4 (00:11-00:13)
        ("00:15:30", Decision.BLOCK_COOLDOWN, 0),  # cooldown 00:13-00:18
        ("00:20:30", Decision.ALLOW, 1),  # VM 3 (≈ 10 min after VM 4, as the reference scenario says)
        ("00:25:30", Decision.BLOCK_MIN, 0),
    ]
    assert result.scale_ins == 2


def test_no_policy_is_the_seed_decision_for_decision(seed_out_trace):
    a = simulate(seed_out_trace, SEED, params=SEED_PARAMS)
    b = simulate(seed_out_trace, SEED, policy=PolicySettings(), params=SEED_PARAMS)
    assert [(d.at, d.action, d.decision, d.count, d.reason) for d in a.decisions] == [
        (d.at, d.action, d.decision, d.count, d.reason) for d in b.decisions
    ]


def test_policy_reads_cpu_over_its_own_rate_window(tmp_path):
    """The evaluation loop queries IXNODE_POLICY_RATE_WINDOW (2m), not the rules' 5m: a shorter window sees a
    jump sooner, so the first scale-out comes earlier."""
    # 50 % on 2 VMs, then 70 %: above the target's tolerance (66 %) once the window holds 80 % of the new load.
    trace = read_trace(write_trace(tmp_path / "t.csv", [100] * 10 + [140] * 20), time_column="timestamp",
                       load_column="load")
    policy = PolicySettings(policy_type="target_tracking", target=60, max_change=3)
    config = SimConfig(min_vms=2, max_vms=8)

    def first_allow(window: int) -> float:
        params = SimParams(capacity=100, rate_window=300, policy_rate_window=window)
        result = simulate(trace, config, policy=policy, params=params)
        return next(d.at for d in result.decisions if d.decision == Decision.ALLOW)

    assert SimParams().policy_rate_window == 120
    assert first_allow(300) - first_allow(120) == 120  # 4 min vs 2 min after the jump (1-minute loop)


def test_target_tracking_reacts_in_one_run(seed_out_trace):
    policy = PolicySettings(policy_type="target_tracking", target=60, max_change=3, scale_out_threshold=80)
    result = simulate(seed_out_trace, SimConfig(min_vms=2, max_vms=8), policy=policy, params=SEED_PARAMS)
    first = next(d for d in result.decisions if d.decision == Decision.ALLOW)
    assert first.count == 3  # ceil(2 × 170 / 60) = 6 → +4, capped at 3 per run
    assert result.overload_minutes < simulate(seed_out_trace, SimConfig(min_vms=2, max_vms=8),
                                              params=SEED_PARAMS).overload_minutes


def test_metrics_overload_vm_hours_and_gaps(tmp_path):
    # 60 min at 150 % on 2 VMs with max 2: all overload; then a 60-min gap counts nothing.
    trace = read_trace(write_trace(tmp_path / "g.csv", [300] * 60 + [None] * 60 + [0]),
                       time_column="timestamp", load_column="load")
    result = simulate(trace, SimConfig(min_vms=2, max_vms=2), params=SEED_PARAMS)
    assert result.overload_minutes == pytest.approx(60)
    assert result.vm_hours == pytest.approx(2 + 2 / 60)  # 2 VMs × 1 h, plus the final known minute
    assert result.scale_outs == 0


def test_flaps_are_counted(tmp_path):
    # alternate high/low every 3 minutes with a target-tracking policy without stabilisation
    loads = ([400] * 3 + [20] * 3) * 20
    trace = read_trace(write_trace(tmp_path / "f.csv", loads), time_column="timestamp", load_column="load")
    policy = PolicySettings(policy_type="target_tracking", target=60, stabilisation_seconds=0, max_change=5,
                            flapping_check=False)
    params = SimParams(**{**SEED_PARAMS.__dict__, "clone_seconds": 60, "delete_seconds": 60})
    result = simulate(trace, SimConfig(min_vms=1, max_vms=10, cooldown_seconds=0), policy=policy, params=params)
    assert result.flaps >= 3
    calm = simulate(trace, SimConfig(min_vms=1, max_vms=10, cooldown_seconds=0),
                    policy=PolicySettings(**{**policy.__dict__, "stabilisation_seconds": 900}), params=params)
    assert calm.flaps < result.flaps


# --- warm pool ----------------------------------------------------------------------------------
# 4 VMs at capacity 100 and a load of 40 (10 % CPU): the scale-in alert fires at 00:06, is notified at 00:06:30
# (ALLOW), the run starts at 00:07, the VMs leave the F5 pool at 00:07:10 and the run is done at 00:09.
WARM_PARAMS = SimParams(**{**SEED_PARAMS.__dict__, "initial_vms": 4, "warm_start_seconds": 120})
SCALE_IN_DONE = 9 * 60


def warm_config(pool: int, *, step_in: int = 2, step_out: int = 1) -> SimConfig:
    return SimConfig(min_vms=2, max_vms=6, scale_in_step=step_in, scale_out_step=step_out, warm_pool_size=pool)


def in_service_times(result) -> list[float]:
    """Trace times at which the serving capacity went up (a scale-out run's VMs went into service)."""
    t, cap = result.series["t"], result.series["capacity"]
    return [t[i] for i in range(1, len(t)) if cap[i] > cap[i - 1]]


@pytest.mark.parametrize(
    ("pool", "step_in", "kept"),
    [
        (0, 2, 0),  # off: both removed VMs deleted
        (1, 2, 1),  # room for one: one kept powered off, one deleted
        (2, 2, 2),
        (5, 2, 2),  # a pool larger than the run keeps only what the run removed
    ],
)
def test_scale_in_fills_the_warm_pool_up_to_its_size(tmp_path, pool, step_in, kept):
    trace = read_trace(write_trace(tmp_path / "in.csv", [40] * 20), time_column="timestamp", load_column="load")
    sim = Simulation(trace, warm_config(pool, step_in=step_in), params=WARM_PARAMS)
    result = sim.run()
    assert [(minute(d), d.decision, d.count) for d in result.decisions if d.decision == Decision.ALLOW] == [
        ("00:06:30", Decision.ALLOW, 2)
    ]
    assert (sim.existing, sim.warm) == (2, kept)  # 4 - 2 powered on; the rest of the removed VMs are gone
    # powered-on VM-hours don't depend on the pool: 4 VMs until the run is done (00:09), then 2 until 00:20
    assert result.vm_hours == pytest.approx((4 * SCALE_IN_DONE + 2 * (1200 - SCALE_IN_DONE)) / 3600)
    # the kept VMs are powered off from 00:09 to the end (00:20)
    assert result.warm_vm_hours == pytest.approx(kept * (1200 - SCALE_IN_DONE) / 3600)
    assert result.warm_pool_size == pool


def test_a_full_pool_takes_no_more_vms(tmp_path):
    # one VM per run: two scale-ins (00:06:30 and the first notification after the cooldown), pool of 1
    trace = read_trace(write_trace(tmp_path / "in.csv", [40] * 30), time_column="timestamp", load_column="load")
    sim = Simulation(trace, warm_config(1, step_in=1), params=WARM_PARAMS)
    result = sim.run()
    assert result.scale_ins == 2
    assert (sim.existing, sim.warm) == (2, 1)


@pytest.mark.parametrize(
    ("pool", "step_out", "ready_after", "warm_left"),
    [
        (0, 1, 300, 0),  # no pool: a clone, 5 min
        (2, 1, 120, 1),  # one warm VM of two: power on, 2 min
        (2, 2, 120, 0),  # both warm
        (1, 1, 120, 0),
        (1, 2, 300, 0),  # mixed: one warm, one clone → the run waits for the clone
        (2, 3, 300, 0),  # mixed: two warm, one clone
    ],
)
def test_scale_out_takes_warm_vms_first(tmp_path, pool, step_out, ready_after, warm_left):
    # 10 % CPU until 00:12 (scale-in of 2 done at 00:09), then 170 % on 2 VMs: one scale-out, then max out
    loads = [40] * 12 + [340] * 18
    trace = read_trace(write_trace(tmp_path / "w.csv", loads), time_column="timestamp", load_column="load")
    config = SimConfig(min_vms=2, max_vms=2 + step_out, scale_in_step=2, scale_out_step=step_out,
                       warm_pool_size=pool)
    sim = Simulation(trace, config, params=WARM_PARAMS)
    result = sim.run()
    out = next(d for d in result.decisions if d.action == "scale-out" and d.decision == Decision.ALLOW)
    assert out.count == step_out
    assert in_service_times(result)[0] - out.at == WARM_PARAMS.dispatch_seconds + ready_after
    assert sim.warm == warm_left
    assert sim.existing == 2 + step_out
    # powered off from the scale-in's end until the scale-out run starts, powered on after that
    kept = min(2, pool)
    run_start = out.at + WARM_PARAMS.dispatch_seconds
    assert result.warm_vm_hours == pytest.approx(
        (kept * (run_start - T0.timestamp() - SCALE_IN_DONE) + warm_left * (T0.timestamp() + 1800 - run_start))
        / 3600)


def test_warm_start_seconds_sets_the_power_on_time(tmp_path):
    loads = [40] * 12 + [340] * 18
    trace = read_trace(write_trace(tmp_path / "w.csv", loads), time_column="timestamp", load_column="load")
    config = SimConfig(min_vms=2, max_vms=3, scale_in_step=2, warm_pool_size=2)
    for seconds in (60, 180):
        result = simulate(trace, config, params=SimParams(**{**WARM_PARAMS.__dict__, "warm_start_seconds": seconds}))
        out = next(d for d in result.decisions if d.action == "scale-out" and d.decision == Decision.ALLOW)
        assert in_service_times(result)[0] - out.at == 30 + seconds


def decision_log(result) -> list[tuple]:
    return [(d.at, d.action, d.decision, d.count, d.trigger, d.vms_before, d.reason) for d in result.decisions]


@pytest.mark.parametrize("policy", [PolicySettings(), PolicySettings(policy_type="target_tracking", target=60,
                                                                      stabilisation_seconds=300, max_change=3)])
def test_warm_pool_changes_nothing_but_the_start_time(tmp_path, policy):
    """Pool 0 is today's simulator (the warm-start time is then irrelevant); and a pool whose VMs start as slowly
    as a clone gives the very same decisions and powered-on VM-hours: only the powered-off VM-hours differ."""
    loads = ([40] * 20 + [340] * 20 + [150] * 20) * 3
    trace = read_trace(write_trace(tmp_path / "p.csv", loads), time_column="timestamp", load_column="load")
    config = SimConfig(min_vms=2, max_vms=6, scale_in_step=2, scale_out_step=2)
    today = simulate(trace, config, policy=policy, params=WARM_PARAMS)
    off = simulate(trace, config, policy=policy, params=SimParams(**{**WARM_PARAMS.__dict__, "warm_start_seconds": 1}))
    assert decision_log(off) == decision_log(today) and off.series == today.series
    assert today.warm_vm_hours == 0
    slow = SimParams(**{**WARM_PARAMS.__dict__, "warm_start_seconds": WARM_PARAMS.clone_seconds})
    pooled = simulate(trace, SimConfig(**{**config.__dict__, "warm_pool_size": 2}), policy=policy, params=slow)
    assert decision_log(pooled) == decision_log(today) and pooled.series == today.series
    assert pooled.vm_hours == today.vm_hours and pooled.warm_vm_hours > 0
    fast = simulate(trace, SimConfig(**{**config.__dict__, "warm_pool_size": 4}), policy=policy, params=WARM_PARAMS)
    assert fast.overload_minutes < today.overload_minutes  # warm VMs do shorten the scale-outs here
    assert fast.policy.endswith(" + warm pool 4") and today.policy in ("step", "target_tracking")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("when,load\n2025-01-01T00:00Z,1\n", "no column 'timestamp'"),
        ("timestamp,load\n2025-01-01T00:00Z,abc\n2025-01-01T00:01Z,1\n", "is not a number"),
        ("timestamp,load\nyesterday,1\n2025-01-01T00:01Z,1\n", "cannot read time"),
        ("timestamp,load\n2025-01-01T00:01Z,1\n2025-01-01T00:00Z,1\n", r"bad.csv:3: .* earlier than the previous "
         r"row's \(line 2\); sort"),
        # a local-time export across a daylight-saving change (as in NAB's ec2_network_in_5abac7): the hour that
        # does not exist written as 03:00 again and again
        ("timestamp,load\n2014-03-09 01:59:00,0\n2014-03-09 03:00:00,0\n2014-03-09 03:00:00,0\n",
         r"bad.csv:4: time 2014-03-09 03:00:00 repeats the previous row's \(line 3\); each time may appear once"),
        ("timestamp,load\n2025-01-01T00:01Z,-1\n2025-01-01T00:02Z,1\n", "must be a finite number ≥ 0"),
        ("timestamp,load\n2025-01-01T00:01Z,inf\n2025-01-01T00:02Z,1\n", "'inf' must be a finite number"),
        ("timestamp,load\n2025-01-01T00:01Z,1e400\n2025-01-01T00:02Z,1\n", "'1e400' must be a finite number"),
        ("timestamp,load\n2025-01-01T00:01Z,1\n", "at least two rows"),
    ],
)
def test_bad_traces(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(TraceError, match=message):
        read_trace(path, time_column="timestamp", load_column="load")


def test_grafana_and_prometheus_exports_read_as_they_come(tmp_path):
    """Grafana's CSV export (epoch milliseconds when not formatted; a ``sep=`` line for Excel) and a Prometheus
    query_range written as CSV (epoch seconds, fractions allowed)."""
    grafana = tmp_path / "grafana.csv"
    grafana.write_text('"Time","web-shop"\n1795132800000,10\n1795133100000,12\n1795133400000,\n')
    trace = read_trace(grafana, time_column="Time", load_column="web-shop")
    assert trace.times == [1795132800.0, 1795133100.0, 1795133400.0] and trace.interval == 300
    assert trace.loads == [10.0, 12.0, None]
    prometheus = tmp_path / "prometheus.csv"
    prometheus.write_text("timestamp,request_count\n1795132800,10\n1795133100.5,12\n")
    assert read_trace(prometheus, time_column="timestamp", load_column="request_count").times == [
        1795132800.0, 1795133100.5]
    excel = tmp_path / "excel.csv"
    excel.write_text('sep=;\r\n"Time";"web-shop"\r\n2026-11-20 00:00:00;10\r\n2026-11-20 00:05:00;12,5\r\n')
    with pytest.raises(TraceError, match=r"excel.csv:4: load '12,5' is not a number"):  # line numbers count sep=
        read_trace(excel, time_column="Time", load_column="web-shop")
    excel.write_text('sep=;\n"Time";"web-shop"\n2026-11-20 00:00:00;10\n2026-11-20 00:05:00;12\n')
    assert read_trace(excel, time_column="Time", load_column="web-shop").loads == [10.0, 12.0]


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "svc.json"
    path.write_text(json.dumps({
        "serviceName": "sim-svc", "minVms": 2, "maxVms": 6,
        "monitoring": {"cpuThreshold": 80, "scaleInCpuThreshold": 30, "cooldownSeconds": 300},
        "simulation": {"capacity": 100},
    }))
    return path


def test_cli_compares_policies_and_writes_plots(tmp_path, config_file, capsys):
    trace = write_trace(tmp_path / "t.csv", ([50] * 30 + [300] * 30 + [None] * 5) * 4)
    png, page = tmp_path / "out.png", tmp_path / "out.html"
    call_command("simulate", trace=str(trace), config=str(config_file), time_column="timestamp",
                 load_column="load", policy=["step", "step+recheck", "target_tracking", "predictive"],
                 plot=str(png), rate_window=60)
    out = capsys.readouterr().out
    for name in ("step ", "step+recheck", "target_tracking", "predictive", "overload min", "VM-hours"):
        assert name in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    call_command("simulate", trace=str(trace), config=str(config_file), load_column="load", plot=str(page),
                 json=True)
    assert page.read_text().startswith("<!doctype html>") and "data:image/png;base64," in page.read_text()
    data = json.loads(capsys.readouterr().out.split("plot written")[0])
    assert data[0]["policy"] == "step" and data[0]["days"] > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trace": "/nonexistent/trace.csv"}, "does not exist"),
        ({"load_column": "nope"}, "no column 'nope'"),
        ({"config": "/nonexistent/cfg.json"}, "does not exist"),
        ({"config": "no-such-service"}, "No autoscaling config named"),
        ({"gap": ["2025-01-06T00:00Z"]}, "START..END"),
        ({"policy": ["target_tracking:target"]}, "is not KEY=VALUE"),
        ({"policy": ["target_tracking:colour=blue"]}, "is not KEY=VALUE"),
        ({"policy": ["target_tracking:target=high"]}, "target = 'high' is not a number"),
        ({"policy": ["magic"]}, "unknown policy 'magic'"),
        ({"warm_pool": -1}, r"--warm-pool must be 0 \(off\) or more VMs \(got -1\)"),
        ({"warm_start_seconds": -5}, "--warm-start-seconds must be 0 or more"),
        ({"policy": ["step:warm_pool=-2"]}, "warm_pool must be 0"),
        ({"policy": ["step:warm_pool=some"]}, "warm_pool = 'some' is not a number"),
    ],
)
@pytest.mark.django_db
def test_cli_bad_input_is_a_clear_error(tmp_path, config_file, kwargs, message):
    args = {"trace": str(write_trace(tmp_path / "t.csv", [1, 2, 3])), "config": str(config_file),
            "load_column": "load", **kwargs}
    with pytest.raises(CommandError, match=message):
        call_command("simulate", **args)


def test_cli_exit_status_is_non_zero(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "manage.py", "simulate", "--trace", str(tmp_path / "missing.csv"), "--config", "x.json"],
        capture_output=True, text=True, env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin",
                                              "PYTHONPATH": "."}, timeout=60,
    )
    assert proc.returncode != 0
    assert "does not exist" in proc.stderr


@pytest.mark.django_db
def test_cli_reads_a_service_from_the_database(tmp_path, config, capsys):
    from policies.models import ScalingPolicy

    ScalingPolicy.objects.create(config=config, policy_type="target_tracking", target_utilisation=55)
    trace = write_trace(tmp_path / "t.csv", [100] * 10 + [400] * 20)
    call_command("simulate", trace=str(trace), config=config.service_name, load_column="load", capacity=100)
    out = capsys.readouterr().out
    assert "target_tracking" in out and "auto-vm-test" in out


def test_cli_policy_specs_carry_their_own_settings(tmp_path, config_file, capsys):
    trace = write_trace(tmp_path / "t.csv", ([50] * 30 + [300] * 30) * 3)
    call_command("simulate", trace=str(trace), config=str(config_file), load_column="load", rate_window=60,
                 policy=["target_tracking", "target_tracking:target=90,scale_in_target=85"], json=True)
    plain, banded = json.loads(capsys.readouterr().out)
    assert plain["policy"] == "target_tracking"
    assert banded["policy"] == "target_tracking:target=90,scale_in_target=85"
    # load 300 at 100 per VM: 5 VMs at the default target 60 %, 4 at 90 %
    assert (plain["peak_vms"], banded["peak_vms"]) == (5, 4) and banded["vm_hours"] < plain["vm_hours"]


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ({"warmPoolSize": 2}, 2),  # the config API's key
        ({}, 0),  # default: off
    ],
)
def test_cli_reads_the_warm_pool_from_the_config_json(tmp_path, capsys, shape, expected):
    path = tmp_path / "pool.json"
    path.write_text(json.dumps({"serviceName": "pool-svc", "minVms": 2, "maxVms": 6, **shape,
                                "simulation": {"capacity": 100}}))
    trace = write_trace(tmp_path / "t.csv", ([40] * 20 + [340] * 20) * 2)
    call_command("simulate", trace=str(trace), config=str(path), load_column="load", rate_window=60, json=True)
    (result,) = json.loads(capsys.readouterr().out)
    assert result["warm_pool_size"] == expected
    assert (result["warm_vm_hours"] > 0) == (expected > 0)


def test_cli_warm_pool_option_spec_and_table(tmp_path, config_file, capsys):
    trace = write_trace(tmp_path / "t.csv", ([40] * 20 + [340] * 20) * 2)
    common = {"trace": str(trace), "config": str(config_file), "load_column": "load", "rate_window": 60}
    call_command("simulate", **common, policy=["step"])
    assert "stopped VM-h" not in capsys.readouterr().out  # no pool anywhere: the seed's columns
    call_command("simulate", **common, policy=["step", "step:warm_pool=2"], warm_start_seconds=60)
    out = capsys.readouterr().out
    assert "stopped VM-h" in out and "step:warm_pool=2" in out and "warm start 60 s" in out
    call_command("simulate", **common, policy=["step", "target_tracking"], warm_pool=2, json=True)
    step, tracking = json.loads(capsys.readouterr().out)
    assert step["policy"] == "step + warm pool 2" and tracking["policy"] == "target_tracking + warm pool 2"
    assert step["warm_pool_size"] == tracking["warm_pool_size"] == 2 and step["warm_vm_hours"] > 0


def test_cli_bad_warm_pool_in_json_and_exit_status(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"minVms": 2, "maxVms": 4, "warmPoolSize": -1}))
    trace = write_trace(tmp_path / "t.csv", [1, 2, 3])
    with pytest.raises(CommandError, match=r"bad.json: warmPoolSize: Ensure this value is greater than or equal to 0"):
        call_command("simulate", trace=str(trace), config=str(path), load_column="load")
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps({"minVms": 2, "maxVms": 4}))
    proc = subprocess.run(
        [sys.executable, "manage.py", "simulate", "--trace", str(trace), "--load-column", "load", "--config", str(ok),
         "--warm-pool", "-3"],
        capture_output=True, text=True, env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin",
                                              "PYTHONPATH": "."}, timeout=60,
    )
    assert proc.returncode == 1
    assert "--warm-pool must be 0 (off) or more VMs (got -3)" in proc.stderr


# --- the simulator tells the truth: config files in the API's shape, gaps, plots, windows ---------------------
def test_config_file_in_the_config_apis_shape(tmp_path):
    from policies.management.config_file import config_from_file

    path = tmp_path / "api.json"
    path.write_text(json.dumps({
        "id": 7, "serviceName": "api-svc", "templateId": 3, "minVms": 2, "maxVms": 6, "scaleOutStep": 2,
        "warmPoolSize": 1, "enabled": True,
        "monitoring": {"cpuThreshold": 75, "durationMinutes": 2, "scaleInCpuThreshold": 25,
                       "scaleInDurationMinutes": 10, "cooldownSeconds": 600, "alertRepeatIntervalSeconds": 120},
        "network": {"ipPoolStart": "10.0.0.10", "ipPoolEnd": "10.0.0.20", "subnetCidr": "10.0.0.0/24"},
        "policy": {"policyType": "target_tracking", "target": 65},
        "simulation": {"capacity": 100, "cloneSeconds": 240},
    }))
    config, policy, simulation = config_from_file(path)
    assert (config.service_name, config.min_vms, config.max_vms, config.scale_out_step) == ("api-svc", 2, 6, 2)
    assert (config.scale_out_cpu_threshold, config.scale_out_duration_minutes) == (75, 2)
    assert (config.scale_in_cpu_threshold, config.scale_in_duration_minutes) == (25, 10)
    assert (config.cooldown_seconds, config.alert_repeat_interval_seconds, config.warm_pool_size) == (600, 120, 1)
    assert policy is not None and policy.policy_type == "target_tracking" and policy.target == 65
    assert simulation == {"capacity": 100, "clone_seconds": 240}
    # keys left out keep the model's defaults; a replay is of an enabled service
    path.write_text(json.dumps({"maxVms": 5}))
    config, policy, simulation = config_from_file(path)
    assert (config.min_vms, config.max_vms, config.scale_out_cpu_threshold, config.enabled) == (2, 5, 80, True)
    assert policy is None and simulation == {}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"monitoring": {"cpuThresold": 75}},
         r"api.json: unknown key monitoring.cpuThresold \(did you mean monitoring.cpuThreshold\?\)"),
        ({"scaling": {"warmPoolSize": 2}}, r"api.json: unknown key scaling;"),
        ({"warm_pool_size": 2, "minvms": 2}, r"unknown keys warm_pool_size \(did you mean warmPoolSize\?\), minvms"),
        # the model's (the admin's, the pages', the seed's) names point at the API key that holds them
        ({"monitoring": {"scaleOutCpuThreshold": 80}},
         r"unknown key monitoring.scaleOutCpuThreshold \(did you mean monitoring.cpuThreshold\?\)"),
        ({"scale_out_cpu_threshold": 80, "network": {"ip_pool_start": "10.0.0.5"}},
         r"unknown keys scale_out_cpu_threshold \(did you mean monitoring.cpuThreshold\?\), "
         r"network.ip_pool_start \(did you mean network.ipPoolStart\?\)"),
        ({"policy": {"targett": 60}}, r"api.json, policy: unknown key 'targett'"),
        ({"simulation": {"capacty": 60}}, r"api.json, simulation: unknown key 'capacty'"),
        ({"monitoring": {"cpuThreshold": 175}},
         r"api.json: monitoring.cpuThreshold: Ensure this value is less than or equal to 100"),
        ({"minVms": 5, "maxVms": 3}, r"api.json: maxVms: Maximum VMs \(3\) must be greater than or equal to minimum"),
        ({"monitoring": {"cpuThreshold": 40, "scaleInCpuThreshold": 50}},
         r"monitoring.scaleInCpuThreshold: Scale-in CPU threshold \(50.0%\) must be below"),
        ({"minVms": 2, "maxVms": 4, "warmPoolSize": 3}, r"warmPoolSize: A warm pool of 3 is larger than the 2 VMs"),
        ({"minVms": "two"}, r"minVms: A valid integer is required"),
    ],
)
def test_config_file_errors_name_the_file_and_the_key(tmp_path, document, message):
    from policies.management.config_file import config_from_file
    from policies.simulator.config import ConfigError

    path = tmp_path / "api.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ConfigError, match=message):
        config_from_file(path)


def test_cli_unknown_config_key_is_an_error_with_exit_status(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "typo.json"
    path.write_text(json.dumps({"monitoring": {"cpuTreshold": 60}}))
    trace = write_trace(tmp_path / "t.csv", [1, 2, 3])
    proc = subprocess.run(
        [sys.executable, "manage.py", "simulate", "--trace", str(trace), "--load-column", "load", "--config",
         str(path)],
        capture_output=True, text=True, env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin",
                                              "PYTHONPATH": "."}, timeout=60,
    )
    assert proc.returncode == 1
    assert f"{path}: unknown key monitoring.cpuTreshold (did you mean monitoring.cpuThreshold?)" in proc.stderr


def test_missing_timestamp_rows_are_gaps(tmp_path):
    # rows at minutes 0..9 and 20..29: minutes 10..19 are missing, as if they were empty cells
    minutes = [*range(10), *range(20, 30)]
    lines = ["timestamp,load"] + [f"{(T0 + timedelta(minutes=m)).isoformat()},300" for m in minutes]
    (tmp_path / "holes.csv").write_text("\n".join(lines) + "\n")
    holes = read_trace(tmp_path / "holes.csv", time_column="timestamp", load_column="load")
    assert len(holes.times) == 30 and holes.interval == 60
    assert holes.loads[9] == 300 and holes.loads[10:20] == [None] * 10 and holes.loads[20] == 300
    empty = read_trace(write_trace(tmp_path / "empty.csv", [300] * 10 + [None] * 10 + [300] * 10),
                       time_column="timestamp", load_column="load")
    assert holes == empty
    a, b = simulate(holes, SEED, params=SEED_PARAMS), simulate(empty, SEED, params=SEED_PARAMS)
    assert (a.overload_minutes, a.vm_hours, a.scale_outs) == (b.overload_minutes, b.vm_hours, b.scale_outs)
    # the gap counts neither VM-hours nor overload: 20 known minutes on at least 2 VMs, not 30
    assert a.vm_hours < 30 * 4 / 60 and a.overload_minutes <= 20


EIGHT = ["step", "step+recheck", "target_tracking", "predictive", "oracle", "reactive_ideal",
         "target_tracking:target=80", "step:warm_pool=2"]


def test_plot_of_eight_policies_distinct_styles_legend_outside_title_wrapped(tmp_path):
    import matplotlib.pyplot as plt

    from policies.simulator import report
    from policies.simulator.catalog import parse_policy, run_policy

    pairs = report.styles(8)
    assert len(set(map(str, pairs))) == 8 and len({str(c) for c, _ in pairs}) == 8
    assert len({str(s) for _, s in pairs}) >= 4
    many = report.styles(25)
    assert len({str(c) for c, _ in many}) == 25
    trace = read_trace(write_trace(tmp_path / "t.csv", ([50] * 30 + [300] * 30) * 2), time_column="timestamp",
                       load_column="load")
    results = [run_policy(trace, SimConfig(min_vms=2, max_vms=6), SEED_PARAMS, parse_policy(name)) for name in EIGHT]
    title = "svc, t.csv: " + ", ".join(EIGHT)
    fig = report._figure(results, threshold=80, tz_offset=0, title=title, load_label="requests per minute")
    try:
        ax_load, ax_vms = fig.axes
        fig.canvas.draw()
        for ax in (ax_load, ax_vms):
            legend = ax.get_legend()
            assert legend.get_window_extent().x0 > ax.get_window_extent().x1  # to the right of the axes
            lines = [line for line in ax.get_lines() if not line.get_label().endswith("(trace)")]
            assert len({(str(line.get_color()), str(line.get_linestyle())) for line in lines}) == 8
        assert "\n" in ax_load.get_title() and ax_load.get_title().replace("\n", " ") == title
        assert ax_load.get_ylabel() == "requests per minute"
    finally:
        plt.close(fig)


def test_cli_plot_of_eight_policies_and_the_load_label(tmp_path, config_file, capsys):
    trace = write_trace(tmp_path / "t.csv", ([50] * 30 + [300] * 30) * 2)
    png = tmp_path / "eight.png"
    call_command("simulate", trace=str(trace), config=str(config_file), load_column="load", policy=EIGHT,
                 plot=str(png), rate_window=60, load_label="CPU demand (VMs' worth)")
    out = capsys.readouterr().out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the output says which parameters each row used
    params = out.split("parameters:")[1]
    assert "target_tracking:target=80: target=80.0" in params
    assert "step: scale-out > 80 % for 1 min, scale-in < 30 % for 5 min" in params
    assert "oracle: demand known in advance" in params and "reactive_ideal: true load at each sample" in params
    assert "step:warm_pool=2:" in params and "warm pool 2" in params


def test_cli_empty_plot_window_is_an_error(tmp_path, config_file):
    import subprocess
    import sys

    trace = write_trace(tmp_path / "t.csv", [50] * 60)
    png = tmp_path / "none.png"
    with pytest.raises(CommandError, match="holds no sample of the trace"):
        call_command("simulate", trace=str(trace), config=str(config_file), load_column="load", plot=str(png),
                     plot_window="2024-01-01T00:00Z..2024-01-02T00:00Z")
    assert not png.exists()
    proc = subprocess.run(
        [sys.executable, "manage.py", "simulate", "--trace", str(trace), "--load-column", "load", "--config",
         str(config_file), "--plot", str(png), "--plot-window", "2030-01-01T00:00Z..2030-01-01T01:00Z"],
        capture_output=True, text=True, env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin",
                                              "PYTHONPATH": "."}, timeout=60,
    )
    assert proc.returncode == 1 and "holds no sample of the trace" in proc.stderr and not png.exists()
    with pytest.raises(CommandError, match="--plot-window needs --plot"):
        call_command("simulate", trace=str(trace), config=str(config_file), load_column="load",
                     plot_window="2025-01-06T00:00Z..2025-01-06T00:10Z")
    # a window inside the trace plots
    call_command("simulate", trace=str(trace), config=str(config_file), load_column="load", plot=str(png),
                 plot_window="2025-01-06T00:00Z..2025-01-06T00:10Z")
    assert png.exists()
