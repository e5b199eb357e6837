"""The product's PromQL against a real Prometheus: a VM that just joined reads its real CPU, not a false peak."""

from __future__ import annotations

import time

import pytest
import requests

from ixnode.integrations.prometheus import promql
from tests.fixtures.plg_stack import LoadExporter

pytest_plugins = ["tests.fixtures.prometheus"]


def _query(url: str, expr: str) -> list[float]:
    answer = requests.get(f"{url}/api/v1/query", params={"query": expr}, timeout=5).json()
    assert answer["status"] == "success", answer
    return [float(sample["value"][1]) for sample in answer["data"]["result"]]


def test_a_young_vm_reads_its_real_cpu(prometheus_server):
    """For a VM younger than the rate window, ``rate()`` spreads its short history over the whole window: the
    idle rate alone reads far too low, i.e. the VM looks busy. The ratio of rates reads the load it really has."""
    exporter = LoadExporter()
    exporter.set_load(cpu=40, memory=20)
    job = "promql-young-vm"
    try:
        prometheus_server.add_job(job, [exporter.target])
        prometheus_server.wait_for_targets(job, 1)
        window = "60s"  # far longer than the VM has existed (the scrape interval is 1 s)
        deadline = time.monotonic() + 30
        while not (values := _query(prometheus_server.url, promql.cpu_by_instance(job, window))):
            assert time.monotonic() < deadline, "no CPU value for the new target"
            time.sleep(0.5)
        naive = _query(prometheus_server.url, f'100 - (avg by (instance) (rate(node_cpu_seconds_total'
                                              f'{{mode="idle",job="{job}"}}[{window}])) * 100)')
        assert values[0] == pytest.approx(40, abs=5)
        assert naive[0] > 70  # what the rules used to see: a false scale-out right after every scale-out
    finally:
        exporter.stop()


def test_queries_escape_the_job_name():
    assert promql.target_count('we"ird') == 'count(up{job="we\\"ird"})'
    assert 'job="svc"' in promql.memory_by_instance("svc")
