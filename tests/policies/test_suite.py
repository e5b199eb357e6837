"""The benchmark suite: seeded synthetic traces, sizing, the oracle and the idealised reactive reference, the goal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from policies.simulator.catalog import PolicySpecError, parse_policy, run_policy
from policies.simulator.engine import SimConfig, SimParams
from policies.simulator.references import simulate_oracle, simulate_reactive_ideal
from policies.simulator.suite import (
    FAMILIES,
    HELD_OUT,
    TUNING,
    run_suite,
    sized,
    suite_report,
    synthetic_trace,
    synthetic_traces,
)
from policies.simulator.trace import Trace

T0 = datetime(2025, 1, 6, tzinfo=UTC).timestamp()
ROOT = Path(__file__).resolve().parents[2]


def flat_then(loads: list[float], step: float = 60.0) -> Trace:
    return Trace([T0 + i * step for i in range(len(loads))], list(loads), step)


def test_synthetic_traces_are_reproducible_and_differ_by_seed():
    a = synthetic_trace("flash_crowd", 1, 300)
    assert a == synthetic_trace("flash_crowd", 1, 300)
    assert a.loads != synthetic_trace("flash_crowd", 2, 300).loads
    assert a.interval == 300 and a.days == pytest.approx(14.0)
    assert synthetic_trace("flash_crowd", 1, 60).interval == 60


def test_every_family_at_both_resolutions_with_tuning_and_held_out_seeds():
    traces = synthetic_traces((1, 2), families=list(FAMILIES), resolutions=(300,))
    assert {t.family for t in traces} == set(FAMILIES)
    assert {t.role for t in traces if t.source.endswith("seed 1")} == {TUNING}
    assert {t.role for t in traces if t.source.endswith("seed 2")} == {HELD_OUT}


def test_spikes_are_one_interval_every_hour():
    for step in (60, 300):
        trace = synthetic_trace("spikes", 1, step, days=1)
        high = [i for i, x in enumerate(trace.loads) if x is not None and x > 150]
        assert len(high) == 24
        assert all(i % (3600 // step) == 0 for i in high)


def test_event_ends_drops_80_percent_for_good():
    trace = synthetic_trace("event_ends", 3, 300)
    per_day = 288
    before = sum(x or 0 for x in trace.loads[7 * per_day:14 * per_day])
    after = sum(x or 0 for x in trace.loads[21 * per_day:28 * per_day])
    assert after / before == pytest.approx(0.2, abs=0.02)


def test_sizing_median_at_57_percent_on_two_vms_and_the_peak_below_the_threshold():
    t = sized("x", synthetic_trace("flash_crowd", 1, 300), role=TUNING, family="flash_crowd", source="s",
              load_label="requests", resolution="5 min")
    loads = sorted(x for x in t.trace.loads if x is not None)
    median, peak = loads[len(loads) // 2], loads[-1]
    assert 100 * median / (2 * t.params.capacity) == pytest.approx(57, abs=0.5)
    assert 100 * peak / (t.config.max_vms * t.params.capacity) <= 80
    assert 100 * peak / ((t.config.max_vms - 1) * t.params.capacity) > 80


def test_oracle_overloads_only_where_the_maximum_cannot_serve():
    config = SimConfig(min_vms=2, max_vms=3)
    params = SimParams(capacity=100)
    # 3 VMs at 80 % serve 240: 300 overloads even at max (unavoidable), 230 needs 3, 100 needs 2
    trace = flat_then([100] * 10 + [230] * 10 + [300] * 5 + [100] * 10)
    result = simulate_oracle(trace, config, params)
    assert result.overload_minutes == pytest.approx(5)
    assert result.vm_hours == pytest.approx((2 * 20 + 3 * 15) / 60)
    assert (result.scale_outs, result.scale_ins) == (1, 1)


def test_reactive_ideal_overloads_for_the_clone_lag_only():
    config = SimConfig(min_vms=2, max_vms=4)
    params = SimParams(capacity=100, clone_seconds=300, dispatch_seconds=30)
    # 150 on 2 VMs = 75 %; 300 needs 4 at 75 % (≤ 70 %: 5, clamped to 4): overloaded until the VMs serve
    trace = flat_then([100] * 10 + [300] * 20)
    result = simulate_reactive_ideal(trace, config, params, target=75)
    assert result.overload_minutes == pytest.approx(5.5)  # dispatch 30 s + clone 300 s
    assert result.scale_outs == 1 and result.peak_vms == 4
    # the scale-in keeps the highest need of its window: no flap after a short dip
    dip = flat_then([300] * 10 + [100] * 3 + [300] * 10)
    assert simulate_reactive_ideal(dip, config, params, target=75, stabilisation_seconds=600).scale_ins == 0


def test_references_and_product_policies_by_name():
    trace = flat_then([100] * 10 + [300] * 30)
    config, params = SimConfig(min_vms=2, max_vms=5), SimParams(capacity=100)
    assert run_policy(trace, config, params, parse_policy("oracle")).policy == "oracle"
    tt = parse_policy("target_tracking:target=65,warm_pool=2", presets=True)
    assert tt.settings.target == 65 and tt.warm_pool == 2
    assert run_policy(trace, config, params, tt).policy == "target_tracking:target=65,warm_pool=2"
    with pytest.raises(PolicySpecError, match="unknown policy"):
        parse_policy("bogus")
    with pytest.raises(PolicySpecError, match="KEY=VALUE"):
        parse_policy("step:nonsense=1")


def test_run_suite_rows_avoidable_overload_and_goal():
    traces = [
        sized(f"t{seed}", synthetic_trace("steps", seed, 300, days=4), role=TUNING if seed == 1 else HELD_OUT,
              family="steps", source="s", load_label="requests", resolution="5 min")
        for seed in (1, 2)
    ]
    # a max too small for the peak: the oracle's overload is unavoidable for every policy
    traces.append(replace(traces[0], name="small", config=replace(traces[0].config, service_name="small",
                                                                  max_vms=3)))
    result = run_suite(["step", "target_tracking", "reactive_ideal"], traces)
    assert [(r.trace, r.policy) for r in result.rows][:3] == [("t1", "step"), ("t1", "target_tracking"),
                                                             ("t1", "reactive_ideal")]
    small_step = result.row("small", "step")
    assert small_step is not None and small_step.oracle_overload_minutes > 0
    assert small_step.avoidable_overload_minutes == pytest.approx(
        small_step.result.overload_minutes - small_step.oracle_overload_minutes)
    check = result.goal("target_tracking", "step")
    assert check.avoidable_base == pytest.approx(sum(r.avoidable_overload_minutes for r in result.rows_for("step")))
    worse = [r.trace for r in result.rows_for("target_tracking")
             if r.result.overload_minutes > result.row(r.trace, "step").result.overload_minutes  # type: ignore[union-attr]
             or r.result.vm_hours > 1.02 * result.row(r.trace, "step").result.vm_hours]  # type: ignore[union-attr]
    assert check.worse_on == worse and check.never_worse == (not worse)
    text = suite_report(result, policy="target_tracking")
    assert "goal target_tracking vs step" in text and "held out" in text and "avoidable" in text


def test_simulate_suite_command(tmp_path, capsys):
    call_command("simulate", "--suite", "--seed", "2", "--families", "noise", "--traces-dir", str(tmp_path),
                 "--policies", "step,target_tracking,oracle")
    out = capsys.readouterr().out
    assert "noise-s2-1m" in out and "noise-s2-5m" in out and "oracle" in out
    assert "nasa-http" in out and "not found, skipped" in out
    call_command("simulate", "--suite", "--seed", "2", "--families", "noise", "--traces-dir", str(tmp_path),
                 "--policies", "step", "--json")
    rows = json.loads(capsys.readouterr().out)
    assert {r["trace"] for r in rows} == {"noise-s2-1m", "noise-s2-5m"}
    assert all("avoidable_overload_minutes" in r and r["set"] == HELD_OUT for r in rows)
    with pytest.raises(CommandError, match="unknown policy 'bogus'"):
        call_command("simulate", "--suite", "--policies", "step,bogus", "--traces-dir", str(tmp_path))


def test_simulate_suite_speaks_language_code(tmp_path, capsys, settings):
    """An operator with LANGUAGE_CODE=ko gets the suite's report in Korean; the JSON keeps its English keys."""
    settings.LANGUAGE_CODE = "ko"
    call_command("simulate", "--suite", "--seed", "2", "--families", "noise", "--traces-dir", str(tmp_path),
                 "--policies", "step,recommended")
    out = capsys.readouterr().out
    assert "트레이스 2개" in out and "검증(보류)" in out and "목표 recommended 대 step" in out
    assert "과부하(분)" in out and "VM-시간 대 step" in out and "참고:" in out
    assert "never worse" not in out and "held out" not in out
    call_command("simulate", "--suite", "--seed", "2", "--families", "noise", "--traces-dir", str(tmp_path),
                 "--policies", "step", "--json")
    rows = json.loads(capsys.readouterr().out)
    assert all(r["set"] == HELD_OUT for r in rows)
    with pytest.raises(CommandError, match="--families"):
        call_command("simulate", "--suite", "--families", "nope", "--traces-dir", str(tmp_path))


def test_real_traces_read_from_the_directory_with_their_conversions(tmp_path):
    from policies.simulator.suite import real_traces

    rows = ["timestamp,value"] + [f"2014-04-10 {h:02d}:{m:02d}:00,{40 if (h * 60 + m) % 60 else 90}"
                                  for h in range(24) for m in range(0, 60, 5)]
    del rows[50:53]  # three missing rows: a gap, not the previous load
    (tmp_path / "nab_grok_asg_anomaly.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "nab_nyc_taxi.csv").write_text("timestamp,value\n2014-07-01 00:00:00,100\n2014-07-01 00:30:00,300\n")
    notes: list[str] = []
    traces = {t.name: t for t in real_traces(tmp_path, notes=notes)}
    assert set(traces) == {"nab-asg-cpu", "nab-nyc-taxi"}
    assert sorted(n.split(":")[0] for n in notes) == ["nab-ec2-cpu", "nab-elb-requests", "nasa-http"]
    asg = traces["nab-asg-cpu"]
    assert asg.role == TUNING and traces["nab-nyc-taxi"].role == HELD_OUT
    assert max(x for x in asg.trace.loads if x is not None) == pytest.approx(0.9 * 2)  # CPU % / 100 × 2 VMs
    assert asg.trace.loads[49:52] == [None, None, None] and len(asg.trace.times) == 288
    # the median (0.8) at 57 % on 2 VMs; the peak (1.8) below 80 % on max VMs
    assert asg.params.capacity == pytest.approx(0.8 / 1.14)
    assert asg.config.max_vms == 4 and 100 * 1.8 / (3 * asg.params.capacity) > 80


def test_reactive_ideal_takes_warm_vms_first():
    config = SimConfig(min_vms=2, max_vms=4, warm_pool_size=2)
    params = SimParams(capacity=100, clone_seconds=300, dispatch_seconds=30, warm_start_seconds=120,
                       delete_seconds=120)
    # up, down (the VMs go to the pool after their delete), up again: the second rise is served after 150 s
    trace = flat_then([100] * 10 + [300] * 20 + [100] * 40 + [300] * 20)
    result = simulate_reactive_ideal(trace, config, params, target=75, stabilisation_seconds=60)
    assert result.overload_minutes == pytest.approx(5.5 + 2.5)
    assert result.warm_vm_hours > 0


def _nab_like(path, loads, *, step=300, header="timestamp,value"):
    """A CSV as NAB and many exports write it: ``timestamp,value``, naive UTC times."""
    rows = [header] + [
        f"{datetime.fromtimestamp(T0 + i * step, UTC):%Y-%m-%d %H:%M:%S},{'' if x is None else x}"
        for i, x in enumerate(loads)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n")
    return path


def test_operator_traces_join_the_suite_as_their_own_set(tmp_path, capsys):
    """``--suite-trace`` adds an operator's CSV (the only column besides the time is the load), sized by the
    suite's rule and reported as the set 'added' with its own goal line; two files of one name stay apart."""
    day = ([40.0] * 96 + [160.0] * 48 + [40.0] * 144)  # a day at 5 min: a busy four hours
    a = _nab_like(tmp_path / "a" / "svc.csv", day * 2)
    b = _nab_like(tmp_path / "b" / "svc.csv", [None, *day[1:]])
    call_command("simulate", "--suite", "--only-added", "--suite-trace", str(a), "--suite-trace", str(b),
                 "--policies", "step,recommended")
    out = capsys.readouterr().out
    assert "svc (added;" in out and "svc-2 (added;" in out and "2 traces" in out
    assert "capacity 35.09 value per VM, VMs 2..6" in out  # median 40 at 57 % on 2 VMs; 160 fits below 80 %
    assert "  added: goal recommended vs step" in out and f"note: {a}: load column 'value'" in out
    assert "noise-s" not in out and "nasa-http" not in out  # --only-added: none of the built-in traces
    # a spreadsheet export (a leading sep=; line, ; between the columns): the load column found the same way
    c = tmp_path / "excel.csv"
    c.write_text("sep=;\n" + a.read_text().replace(",", ";"))
    call_command("simulate", "--suite", "--only-added", "--suite-trace", str(c), "--policies", "step")
    assert f"note: {c}: load column 'value'" in capsys.readouterr().out
    call_command("simulate", "--suite", "--only-added", "--suite-trace", str(a), "--policies", "step", "--json")
    rows = json.loads(capsys.readouterr().out)
    assert [(r["trace"], r["set"]) for r in rows] == [("svc", "added")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--suite-trace", "{flat}"], "give --suite as well"),
        (["--suite", "--only-added"], "needs at least one --suite-trace"),
        (["--suite", "--only-added", "--suite-trace", "{missing}"], "missing.csv does not exist"),
        (["--suite", "--only-added", "--suite-trace", "{zero}"], r"zero.csv: the median load is 0"),
        (["--suite", "--only-added", "--suite-trace", "{wide}"], r"wide.csv: cannot tell the load column among "
                                                                 r"'cpu', 'mem'; choose one with --load-column"),
        (["--suite", "--only-added", "--suite-trace", "{wide}", "--load-column", "disk"], "no column 'disk'"),
    ],
)
def test_operator_trace_errors_name_the_file(tmp_path, args, message):
    files = {"flat": _nab_like(tmp_path / "flat.csv", [10.0] * 20),
             "zero": _nab_like(tmp_path / "zero.csv", [0.0] * 15 + [5.0] * 5),
             "wide": _nab_like(tmp_path / "wide.csv", [10.0] * 20, header="timestamp,cpu"),
             "missing": tmp_path / "missing.csv"}
    files["wide"].write_text(files["wide"].read_text().replace("timestamp,cpu", "timestamp,cpu,mem")
                             .replace(",10.0\n", ",10.0,3\n"))
    with pytest.raises(CommandError, match=message):
        call_command("simulate", *[a.format(**files) for a in args], "--policies", "step")


def test_a_trace_without_the_time_column_points_at_time_column(tmp_path):
    """Grafana's CSV export names its time column ``Time``: ``manage.py simulate --suite --suite-trace`` says to
    choose it with --time-column (naming the columns found), not --load-column; with it, the trace runs."""
    day = [40.0] * 96 + [160.0] * 48 + [40.0] * 144
    grafana = _nab_like(tmp_path / "grafana.csv", day, header='"Time","cpu"')
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "IXNODE_VAR_DIR": str(tmp_path / "var"),
           "IXNODE_ENV_FILE": "", "DJANGO_SETTINGS_MODULE": "ixnode.settings"}
    command = [sys.executable, "manage.py", "simulate", "--suite", "--only-added", "--suite-trace", str(grafana),
               "--policies", "step"]
    failed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert failed.returncode != 0
    assert f"{grafana}: no column 'timestamp' (columns: Time, cpu); choose one with --time-column." in failed.stderr, \
        failed.stderr
    assert "--load-column" not in failed.stderr
    korean = subprocess.run(command, cwd=ROOT, env={**env, "LANGUAGE_CODE": "ko"}, capture_output=True, text=True,
                            timeout=120)
    assert korean.returncode != 0 and "'timestamp' 열이 없습니다 (열: Time, cpu). --time-column" in korean.stderr, \
        korean.stderr
    ran = subprocess.run([*command, "--time-column", "Time"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert "grafana (added;" in ran.stdout and f"note: {grafana}: load column 'cpu'" in ran.stdout
