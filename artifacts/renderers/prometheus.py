"""Prometheus artifacts of one service: scrape job (file_sd), targets file and alert rules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from artifacts.renderers import naming
from artifacts.renderers.context import RenderContext
from artifacts.renderers.formatting import dump_json, dump_yaml, minutes, number
from ixnode.integrations.prometheus import promql

SCALE_OUT = "scale-out"
SCALE_IN = "scale-in"
ALERT_SCALE_OUT_CPU = "IxnodeScaleOutCpu"
ALERT_SCALE_OUT_MEMORY = "IxnodeScaleOutMemory"
ALERT_SCALE_IN = "IxnodeScaleIn"


def prometheus_job_data(config: Any, ctx: RenderContext) -> dict[str, Any]:
    """The scrape job: the config's job name, targets from the service's file_sd file."""
    job: dict[str, Any] = {"job_name": config.prometheus_job_name}
    if ctx.scrape_interval:
        job["scrape_interval"] = ctx.scrape_interval
    job["file_sd_configs"] = [{"files": [ctx.targets_path(config.service_name)]}]
    return job


def render_prometheus_job(config: Any, ctx: RenderContext) -> str:
    """The job as a ``scrape_configs`` fragment (what the publisher merges into prometheus.yml)."""
    return dump_yaml({"scrape_configs": [prometheus_job_data(config, ctx)]})


def targets_data(config: Any, targets: Iterable[str]) -> list[dict[str, Any]]:
    return [{"targets": sorted(set(targets)), "labels": {"service": config.service_name}}]


def render_targets_file(config: Any, targets: Iterable[str] = ()) -> str:
    """The file_sd JSON: one target group labelled with the service."""
    return dump_json(targets_data(config, targets))


def scale_in_rule_thresholds(config: Any) -> dict[str, float]:
    """The metrics of the service's scale-in rule and their thresholds (%): it fires only while every one of them
    is below its threshold (CPU *and* memory). The policies' option that waits for this rule reads the same."""
    return {"cpu": config.scale_in_cpu_threshold, "memory": config.scale_in_memory_threshold}


def alert_rules_data(config: Any, ctx: RenderContext) -> dict[str, Any]:
    service = config.service_name
    job = config.prometheus_job_name
    cpu = promql.cpu_highest(job, ctx.rate_window)
    memory = promql.memory_highest(job)
    out_for = minutes(config.scale_out_duration_minutes)
    in_for = minutes(config.scale_in_duration_minutes)
    out_cpu = number(config.scale_out_cpu_threshold)
    out_mem = number(config.scale_out_memory_threshold)
    scale_in = scale_in_rule_thresholds(config)
    in_cpu = number(scale_in["cpu"])
    in_mem = number(scale_in["memory"])

    def labels(action: str) -> dict[str, str]:
        return {"service": service, "autoscale": action}

    scale_in_expr = f"({cpu} < {in_cpu})\nand\n({memory} < {in_mem})"
    rules = [
        {
            "alert": ALERT_SCALE_OUT_CPU,
            "expr": f"{cpu} > {out_cpu}",
            "for": out_for,
            "labels": labels(SCALE_OUT),
            "annotations": {
                "summary": f"{service}: CPU above {out_cpu}% for {out_for}",
                "description": "Highest per-instance CPU usage of job " + job + " is {{ $value | printf \"%.1f\" }}%.",
            },
        },
        {
            "alert": ALERT_SCALE_OUT_MEMORY,
            "expr": f"{memory} > {out_mem}",
            "for": out_for,
            "labels": labels(SCALE_OUT),
            "annotations": {
                "summary": f"{service}: memory above {out_mem}% for {out_for}",
                "description": "Highest per-instance memory usage of job "
                + job
                + " is {{ $value | printf \"%.1f\" }}%.",
            },
        },
        {
            "alert": ALERT_SCALE_IN,
            "expr": scale_in_expr,
            "for": in_for,
            "labels": labels(SCALE_IN),
            "annotations": {
                "summary": f"{service}: CPU below {in_cpu}% and memory below {in_mem}% for {in_for}",
                "description": f"Every instance of job {job} is below the scale-in thresholds.",
            },
        },
    ]
    return {"groups": [{"name": naming.rule_group_name(service), "rules": rules}]}


def render_alert_rules(config: Any, ctx: RenderContext) -> str:
    """The service's rule file: scale-out on CPU, scale-out on memory, scale-in on CPU and memory."""
    return dump_yaml(alert_rules_data(config, ctx))
