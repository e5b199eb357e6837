#!/usr/bin/env python
"""Overload minutes vs VM-hours on the NASA-HTTP 1995 trace for several targets (README: scaling policies).

July is the month the settings were chosen on, August is held out. Writes docs/simulation-nasa-tradeoff.png
and prints the points (VM-hours: powered-on; with a warm pool also its powered-off VM-hours).
``IXNODE_NASA_TRACE`` overrides the trace path. Takes a few minutes on 2 cores.

    DJANGO_SETTINGS_MODULE=tests.settings .venv/bin/python scripts/nasa-tradeoff.py
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
TRACE = os.environ.get("IXNODE_NASA_TRACE", "/work/shared/data/traces/nasa_http_1995_5min.csv")
GAP = ("1995-07-28 13:35:00-04:00", "1995-07-31 23:55:00-04:00")
AUGUST = "1995-08-01 00:00:00-04:00"
CAPACITY = 150.0
WARM_POOL = 3

CURVES = {
    "target tracking (stabilisation 30 min)": ("target_tracking", {"stabilisation_seconds": 1800},
                                               (60, 65, 68, 69, 70, 72, 75)),
    "target tracking (stabilisation 60 min)": ("target_tracking", {"stabilisation_seconds": 3600}, (65, 70, 75)),
    "target tracking, scale-in target = target − 10": ("target_tracking", {"stabilisation_seconds": 1800, "band": 10},
                                                      (65, 70, 75)),
    "predictive (stabilisation 30 min)": ("predictive", {"stabilisation_seconds": 1800}, (65, 70, 72, 75, 80)),
    f"target tracking + warm pool {WARM_POOL} (stabilisation 30 min)": (
        "target_tracking", {"stabilisation_seconds": 1800, "warm_pool": WARM_POOL}, (65, 68, 69, 70, 72, 75)),
}
SEED_WITH_POOL = (("warm_pool", WARM_POOL),)


def _traces():
    import django

    django.setup()
    from policies.simulator.trace import Trace, parse_time, read_trace

    trace = read_trace(TRACE, time_column="timestamp", load_column="request_count").with_gaps(
        [(parse_time(GAP[0]).timestamp(), parse_time(GAP[1]).timestamp())])
    split = parse_time(AUGUST).timestamp()

    def part(keep):
        idx = [i for i, t in enumerate(trace.times) if keep(t)]
        return Trace([trace.times[i] for i in idx], [trace.loads[i] for i in idx], trace.interval, trace.tz_offset)

    return {"July": part(lambda t: t < split), "August": part(lambda t: t >= split)}


def _run(job):
    month, policy_type, target, extra = job
    from policies.engine.evaluate import PolicySettings
    from policies.simulator.engine import SimConfig, SimParams, simulate

    traces = _traces()
    extra = dict(extra)
    config = SimConfig(service_name="nasa-www", min_vms=2, max_vms=10, warm_pool_size=extra.pop("warm_pool", 0))
    if policy_type == "step":
        policy = PolicySettings()
    else:
        band = extra.pop("band", None)
        policy = PolicySettings(policy_type=policy_type, target=target, max_change=3,
                                scale_in_target=target - band if band else None, **extra)
    result = simulate(traces[month], config, policy=policy, params=SimParams(capacity=CAPACITY))
    return result.overload_minutes, result.vm_hours, result.warm_vm_hours


def _ideal(month):
    """The simulator's idealised reactive reference (``--policy reactive_ideal``: perfect measurement, the real
    clone lag, no cooldown) at several targets: what a reactive policy could reach on this trace."""
    from policies.simulator.catalog import parse_policy, run_policy
    from policies.simulator.engine import SimConfig, SimParams

    trace = _traces()[month]
    config, params = SimConfig(service_name="nasa-www", min_vms=2, max_vms=10), SimParams(capacity=CAPACITY)
    points = []
    for target in (60, 65, 70, 75, 80):
        result = run_policy(trace, config, params, parse_policy(f"reactive_ideal:target={target}"))
        points.append((target, result.overload_minutes, result.vm_hours))
    return points


def main() -> None:
    jobs = [(m, "step", None, extra) for m in ("July", "August") for extra in ((), SEED_WITH_POOL)]
    for policy_type, extra, targets in CURVES.values():
        jobs += [(m, policy_type, t, tuple(extra.items())) for m in ("July", "August") for t in targets]
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = dict(zip(jobs, pool.map(_run, jobs), strict=True))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    for ax, month in zip(axes, ("July", "August"), strict=True):
        seed_over, seed_vmh, _ = results[(month, "step", None, ())]
        print(f"{month}: seed {seed_over:.0f} overload min, {seed_vmh:.0f} VM-h")
        ax.add_patch(plt.Rectangle((0, 0), seed_vmh, seed_over / 2, color="tab:green", alpha=0.12,
                                   label="goal: ≤ 50 % overload at ≤ seed VM-hours"))
        ax.plot([seed_vmh], [seed_over], "k*", markersize=14, label="step (seed)")
        over, vmh, warm = results[(month, "step", None, SEED_WITH_POOL)]
        ax.plot([vmh], [over], "*", color="tab:gray", markersize=14, label=f"step (seed) + warm pool {WARM_POOL}")
        print(f"  step + warm pool {WARM_POOL}: {over:.0f} overload min ({over / seed_over - 1:+.0%}), "
              f"{vmh:.0f} VM-h ({vmh / seed_vmh - 1:+.1%}), {warm:.0f} stopped VM-h")
        for name, (policy_type, extra, targets) in CURVES.items():
            pts = [(t, *results[(month, policy_type, t, tuple(extra.items()))]) for t in targets]
            ax.plot([p[2] for p in pts], [p[1] for p in pts], "o-", label=name)
            for t, over, vmh, warm in pts:
                ax.annotate(f"{t}", (vmh, over), textcoords="offset points", xytext=(4, 4), fontsize=7)
                print(f"  {name} target {t}: {over:.0f} overload min ({over / seed_over - 1:+.0%}), "
                      f"{vmh:.0f} VM-h ({vmh / seed_vmh - 1:+.1%})" + (f", {warm:.0f} stopped VM-h" if warm else ""))
        ideal = _ideal(month)
        ax.plot([p[2] for p in ideal], [p[1] for p in ideal], "k:",
                label="idealised reactive reference (perfect measurement, real clone lag)")
        for t, over, vmh in ideal:
            print(f"  idealised reference target {t}: {over:.0f} overload min ({over / seed_over - 1:+.0%}), "
                  f"{vmh:.0f} VM-h ({vmh / seed_vmh - 1:+.1%})")
        ax.set_xlim(seed_vmh * 0.9, seed_vmh * 1.15)
        ax.set_ylim(0, seed_over * 2)
        ax.set_title(f"NASA-HTTP 1995, {month}" + (" (held out)" if month == "August" else " (tuning)"))
        ax.set_xlabel("VM-hours (powered on)")
        ax.set_ylabel("overload minutes (CPU > 80 %)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    out = ROOT / "docs" / "simulation-nasa-tradeoff.png"
    fig.savefig(out, dpi=110)
    print(f"written {out}")


if __name__ == "__main__":
    main()
