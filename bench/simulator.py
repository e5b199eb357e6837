"""Simulator speed: simulated days per wall-clock second on the 62-day NASA-HTTP 1995 trace (goal: ≤ 10 s)."""

from __future__ import annotations

import os
from pathlib import Path

TRACE = Path(os.environ.get("IXNODE_NASA_TRACE", "/work/shared/data/traces/nasa_http_1995_5min.csv"))
GAPS = [("1995-07-28 13:35:00-04:00", "1995-07-31 23:55:00-04:00")]


def run() -> None:
    import django

    django.setup()
    from policies.engine.evaluate import PolicySettings
    from policies.simulator.engine import SimConfig, SimParams, simulate
    from policies.simulator.trace import parse_time, read_trace

    if not TRACE.is_file():
        raise FileNotFoundError(f"{TRACE} not found; set IXNODE_NASA_TRACE to the NASA 5-minute CSV")
    trace = read_trace(TRACE, time_column="timestamp", load_column="request_count").with_gaps(
        [(parse_time(a).timestamp(), parse_time(b).timestamp()) for a, b in GAPS]
    )
    config = SimConfig(service_name="nasa-www", min_vms=2, max_vms=10)
    runs = [
        ("step (seed)", PolicySettings(), SimParams()),
        ("step + re-check", PolicySettings(), SimParams(recheck_at_cooldown_end=True)),
        ("target tracking", PolicySettings(policy_type="target_tracking", target=65, stabilisation_seconds=1800,
                                           max_change=3), SimParams()),
        ("predictive", PolicySettings(policy_type="predictive", target=65, stabilisation_seconds=1800,
                                      max_change=3), SimParams()),
    ]
    for name, policy, params in runs:
        result = simulate(trace, config, policy=policy, params=params)
        print(f"{name:16s} {trace.days:.0f} days in {result.wall_seconds:.2f} s = "
              f"{trace.days / result.wall_seconds:.0f} simulated days/s "
              f"({len(result.decisions)} decisions; whole trace {'≤' if result.wall_seconds <= 10 else '>'} 10 s)")
