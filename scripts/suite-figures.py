#!/usr/bin/env python
"""The benchmark suite's figures for docs/policies.md: runs the suite (every trace × policy), prints its tables
as Markdown (also written to docs/suite-results.md) and writes the plots:

* docs/suite-overview.png — per trace, each policy's change in avoidable overload and VM-hours against the seed's
  step policy (the goal: at or below 0 % overload and + 2 % VM-hours on every trace);
* docs/suite-spikes.png, docs/suite-event-ends.png, docs/suite-flash-crowd.png, docs/suite-nasa.png — load,
  capacity and VMs of every policy on a window of four traces.

``IXNODE_TRACES_DIR`` overrides where the real traces are; ``--processes`` (default 2). Takes a few minutes.

    DJANGO_SETTINGS_MODULE=tests.settings .venv/bin/python scripts/suite-figures.py
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
DOCS = ROOT / "docs"
# (trace, first day, days, file)
WINDOWS = (
    ("spikes-s1-5m", 2.0, 0.5, "suite-spikes.png"),
    ("event_ends-s1-5m", 11.0, 7.0, "suite-event-ends.png"),
    ("flash_crowd-s2-1m", None, 1.0, "suite-flash-crowd.png"),  # None: the day of the trace's peak
    ("nasa-http", 9.0, 5.0, "suite-nasa.png"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--seeds", default="1,2,3,4,5,6,7")
    args = parser.parse_args()

    import django

    django.setup()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from policies.simulator import report
    from policies.simulator.catalog import run_policy
    from policies.simulator.suite import (
        DEFAULT_POLICIES,
        GOAL_VM_HOURS_SLACK,
        ROLES,
        available,
        resolve,
        run_suite,
        suite_report,
        suite_traces,
    )

    notes: list[str] = []
    policies = available(DEFAULT_POLICIES, notes)
    traces = suite_traces([int(s) for s in args.seeds.split(",")], notes=notes)
    result = run_suite(policies, traces, processes=args.processes)
    result.notes[:0] = notes
    from django.utils import translation

    with translation.override("en"):  # docs/suite-results.md is English
        text = suite_report(result, markdown=True)
    print(text)
    (DOCS / "suite-results.md").write_text(
        "# Benchmark suite: every trace × policy\n\nWritten by `scripts/suite-figures.py` (see docs/policies.md)."
        "\n\n```\n" + text.split("\n\n|")[0] + "\n```\n\n|" + text.split("\n\n|", 1)[1] + "\n",
        encoding="utf-8")
    print(f"written {DOCS / 'suite-results.md'}")

    # overview: per trace, change vs step
    others = [p for p in result.policies if p != "step"]
    roles = [r for r in ROLES if result.rows_for("step", role=r)]  # the sets this run has traces of
    fig, axes = plt.subplots(1, len(roles), figsize=(20, 6.5), sharey=True, squeeze=False)
    axes = axes[0]
    styles = report.styles(len(others))
    for ax, role in zip(axes, roles, strict=True):
        for name, (colour, _) in zip(others, styles, strict=True):
            xs, ys = [], []
            for row in result.rows_for(name, role=role):
                base = result.row(row.trace, "step")
                if base is None or base.result.vm_hours == 0:
                    continue
                xs.append(100 * (row.result.vm_hours / base.result.vm_hours - 1))
                b_over = base.avoidable_overload_minutes
                ys.append(100 * (row.avoidable_overload_minutes / b_over - 1) if b_over else
                          (0.0 if row.avoidable_overload_minutes == 0 else 100.0))
            ax.scatter(xs, [min(y, 200) for y in ys], s=28, color=colour, alpha=0.8,
                       label=result.rows_for(name)[0].result.policy)
        ax.axhline(0, color="grey", lw=0.8)
        ax.axvline(100 * GOAL_VM_HOURS_SLACK, color="grey", lw=0.8, ls="--")
        ax.add_patch(plt.Rectangle((-60, -100), 60 + 100 * GOAL_VM_HOURS_SLACK, 100, color="tab:green", alpha=0.08))
        ax.set_xlim(-60, 60)
        ax.set_ylim(-105, 205)
        ax.set_title(f"{role} traces: each point is one trace", fontsize=10)
        ax.set_xlabel("VM-hours vs step (%)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("avoidable overload minutes vs step (%, capped at +200)")
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.suptitle("Benchmark suite: change against the seed's step policy (green: never worse, the goal per trace)")
    fig.tight_layout()
    fig.savefig(DOCS / "suite-overview.png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    print(f"\nwritten {DOCS / 'suite-overview.png'}")

    # windows: every policy on one trace
    by_name = {t.name: t for t in result.traces}
    chosen = [resolve(p) for p in policies]
    for name, first_day, days, file in WINDOWS:
        t = by_name.get(name)
        if t is None:
            print(f"{name}: not in the suite, {file} not written")
            continue
        results = [run_policy(t.trace, t.config, t.params, p) for p in chosen]
        if first_day is None:
            known = [(x, i) for i, x in enumerate(t.trace.loads) if x is not None]
            peak_at = t.trace.times[max(known)[1]]
            start = peak_at - days * 86400 / 3
        else:
            start = t.trace.start + first_day * 86400
        window = (start, start + days * 86400)
        report.plot(results, DOCS / file, threshold=t.config.scale_out_cpu_threshold, tz_offset=t.trace.tz_offset,
                    window=window, load_label=t.load_label,
                    title=f"{name} ({t.role}; {Path(t.source).name}; VMs {t.config.min_vms}..{t.config.max_vms}; "
                          f"capacity {t.params.capacity:.4g} {t.load_label} per VM): "
                          + ", ".join(r.policy for r in results))
        print(f"written {DOCS / file}")


if __name__ == "__main__":
    main()
