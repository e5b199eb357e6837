"""Simulator speed per policy: 62 days of 5-minute data (NASA-HTTP 1995; goal ≤ 10 s per policy) and 87 days
of 1-minute data (the synthetic diurnal + weekly family, seed 1; goal ≤ 30 s per policy). The goal is on
wall-clock time; the CPU time of this process and the load average are printed beside it, since the machine's
other work slows the wall clock."""

from __future__ import annotations

import os
import time

GOALS = (("62 days at 5 min (NASA-HTTP 1995)", 10.0), ("87 days at 1 min (synthetic diurnal + weekly)", 30.0))


def run() -> None:
    import django

    django.setup()
    from policies.simulator.catalog import run_policy
    from policies.simulator.suite import (
        DEFAULT_POLICIES,
        TUNING,
        available,
        real_traces,
        resolve,
        sized,
        synthetic_trace,
    )

    notes: list[str] = []
    nasa = [t for t in real_traces(notes=notes) if t.name == "nasa-http"]
    one_minute = sized("diurnal_weekly-87d-1m", synthetic_trace("diurnal_weekly", 1, 60, days=87), role=TUNING,
                       family="diurnal_weekly", source="synthetic seed 1", load_label="requests / s",
                       resolution="1 min")
    traces = [(nasa[0] if nasa else None, GOALS[0]), (one_minute, GOALS[1])]
    policies = [resolve(p) for p in available(DEFAULT_POLICIES, notes)]
    for note in notes:
        print(f"note: {note}")
    for suite_trace, (what, goal) in traces:
        if suite_trace is None:
            print(f"{what}: trace not found, skipped")
            continue
        print(f"{what}: {len(suite_trace.trace.times)} samples, goal ≤ {goal:g} s per policy "
              f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
        for policy in policies:
            cpu = time.process_time()
            result = run_policy(suite_trace.trace, suite_trace.config, suite_trace.params, policy)
            cpu = time.process_time() - cpu
            seconds = result.wall_seconds
            print(f"  {result.policy:32s} {seconds:6.2f} s (CPU {cpu:5.2f} s; {suite_trace.trace.days / seconds:5.0f} "
                  f"simulated days/s, {len(result.decisions)} decisions) {'≤' if seconds <= goal else '>'} {goal:g} s: "
                  f"{'met' if seconds <= goal else 'NOT MET'}")
