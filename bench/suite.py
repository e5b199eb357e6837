"""The benchmark suite: every trace × step, recommended, target tracking, predictive, the oracle and the
idealised reactive reference, and the goal line of ``recommended`` against the seed's step policy.

Real traces from ``IXNODE_TRACES_DIR`` (default ``/work/shared/data/traces``), synthetic seeds 1-7 (tuning 1, 6, 7;
held out 2, 3; fresh held out 4, 5);
``IXNODE_BENCH_PROCESSES`` worker processes (default 2). ``recommended`` is skipped with a note until the
simulator knows it.
"""

from __future__ import annotations

import os
import time


def run() -> None:
    import django

    django.setup()
    from policies.simulator.suite import DEFAULT_POLICIES, available, run_suite, suite_report, suite_traces

    started = time.monotonic()
    notes: list[str] = []
    policies = available(DEFAULT_POLICIES, notes)
    traces = suite_traces(notes=notes)
    result = run_suite(policies, traces, processes=int(os.environ.get("IXNODE_BENCH_PROCESSES", "2")))
    result.notes[:0] = notes
    print(suite_report(result))
    runs = len(result.rows)
    print(f"{len(result.traces)} traces × {len(result.policies)} policies ({runs} replays, "
          f"{sum(t.trace.days for t in result.traces):.0f} trace-days) in {time.monotonic() - started:.0f} s")
