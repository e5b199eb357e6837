"""The PromQL the product asks and publishes, written once: alert rules, dashboards, pages and the policy loop
build their queries here.

A service's VMs are the targets of its Prometheus job and run node_exporter; "CPU" is the busy share of all
cores of an instance, "memory" the used share of its memory, both in percent. The alert rules and the pages
look at the highest instance (one hot VM is enough to scale out; every VM must be quiet to scale in).
"""

from __future__ import annotations

import json


def string(value: str) -> str:
    """A PromQL string literal (double-quoted, escaped)."""
    return json.dumps(str(value))


def cpu_by_instance(job: str, window: str) -> str:
    """CPU busy % of each instance of ``job`` over ``window`` (e.g. ``5m``): the share of all CPU seconds that
    were not idle.

    A ratio of two rates, not ``100 - rate(idle) * 100``: while a VM is younger than the window, ``rate()``
    spreads the little it has seen over the whole window and reads every counter too low. A lone idle rate then
    makes a VM that just joined look busy (a scale-out would trigger the next one); the ratio's two rates are
    low by the same factor, so the share stays right from the second scrape on.
    """
    selector = f"job={string(job)}"
    return (
        f'100 * (1 - sum by (instance) (rate(node_cpu_seconds_total{{mode="idle",{selector}}}[{window}]))'
        f" / sum by (instance) (rate(node_cpu_seconds_total{{{selector}}}[{window}])))"
    )


def cpu_by_instance_fresh(job: str, window: str) -> str:
    """CPU busy % of each instance of ``job`` from its last two scrapes inside ``window`` (``irate``): the
    freshest reading Prometheus has, so a decision sees a spike that has ended as ended. ``window`` only bounds
    how far back the two samples may be (at least two scrape intervals)."""
    selector = f"job={string(job)}"
    return (
        f'100 * (1 - sum by (instance) (irate(node_cpu_seconds_total{{mode="idle",{selector}}}[{window}]))'
        f" / sum by (instance) (irate(node_cpu_seconds_total{{{selector}}}[{window}])))"
    )


def memory_by_instance(job: str) -> str:
    """Memory used % of each instance of ``job`` (1 − available / total)."""
    return (
        f"(1 - (avg by (instance) (node_memory_MemAvailable_bytes{{job={string(job)}}})"
        f" / avg by (instance) (node_memory_MemTotal_bytes{{job={string(job)}}}))) * 100"
    )


def scraped_now(expr: str, job: str) -> str:
    """``expr`` (one series per instance) kept only for the instances of ``job`` Prometheus scrapes now. A target
    that left the job (a scaled-in VM, one deregistered after a crash) is marked stale at once, but its samples stay
    inside every range window: without this its last rate would linger in the service's utilisation for the whole
    window."""
    return f"({expr}) and on (instance) up{{job={string(job)}}}"


def highest(expr: str) -> str:
    """The highest value over the series of ``expr`` (the busiest instance)."""
    return f"max({expr})"


def total(expr: str) -> str:
    """The sum over the series of ``expr`` (the whole service's demand)."""
    return f"sum({expr})"


def cpu_demand(job: str, window: str) -> str:
    """The CPU demand of the whole service in VM-percent: each instance's CPU busy % over ``window``, summed
    over the instances (the mean CPU × the VM count; 250 = two and a half VMs fully busy). Where no instance
    has samples in the window the result has no point: a gap, not a zero."""
    return total(cpu_by_instance(job, window))


def cpu_highest(job: str, window: str) -> str:
    return highest(cpu_by_instance(job, window))


def memory_highest(job: str) -> str:
    return highest(memory_by_instance(job))


def target_count(job: str) -> str:
    """How many targets ``job`` has (``up`` exists once per active target)."""
    return f"count(up{{job={string(job)}}})"


def targets_up(job: str) -> str:
    """How many targets of ``job`` answered their last scrape."""
    return f"sum(up{{job={string(job)}}})"


def alerts_firing(service: str) -> str:
    """The firing autoscale alerts of ``service`` (the rules label them with ``service``)."""
    return f'ALERTS{{service={string(service)},alertstate="firing"}}'


TARGET_COUNT_BY_JOB = "count by (job) (up)"
