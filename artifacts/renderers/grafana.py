"""Grafana dashboard of one service: CPU and memory per instance with the thresholds, VM count,
scale events as annotations (Prometheus ``ALERTS`` of the service, and annotations tagged ``ixnode`` +
the service name)."""

from __future__ import annotations

from typing import Any

from artifacts.renderers import naming
from artifacts.renderers.context import RenderContext
from artifacts.renderers.formatting import dump_json
from ixnode.integrations.prometheus import promql


def _threshold_steps(lines: list[tuple[float, str]]) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    steps += [{"color": color, "value": float(value)} for value, color in sorted(lines)]
    return {"mode": "absolute", "steps": steps}


def _timeseries(
    panel_id: int, title: str, expr: str, legend: str, grid: dict, ds: dict, unit: str, thresholds: dict | None
) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": unit, "min": 0}
    if unit == "percent":
        defaults["max"] = 100
    if thresholds:
        defaults["thresholds"] = thresholds
        defaults["custom"] = {"thresholdsStyle": {"mode": "line+area"}}
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "datasource": ds,
        "gridPos": grid,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "targets": [{"refId": "A", "datasource": ds, "expr": expr, "legendFormat": legend}],
    }


def grafana_dashboard_data(config: Any, ctx: RenderContext) -> dict[str, Any]:
    service = config.service_name
    ds = {"type": "prometheus", "uid": ctx.grafana_datasource_uid}
    cpu = promql.cpu_by_instance(config.prometheus_job_name, ctx.rate_window)
    memory = promql.memory_by_instance(config.prometheus_job_name)
    cpu_lines = [(config.scale_in_cpu_threshold, "blue"), (config.scale_out_cpu_threshold, "red")]
    memory_lines = [(config.scale_in_memory_threshold, "blue"), (config.scale_out_memory_threshold, "red")]
    panels = [
        _timeseries(
            1,
            "CPU usage per instance",
            cpu,
            "{{instance}}",
            {"h": 9, "w": 12, "x": 0, "y": 0},
            ds,
            "percent",
            _threshold_steps(cpu_lines),
        ),
        _timeseries(
            2,
            "Memory usage per instance",
            memory,
            "{{instance}}",
            {"h": 9, "w": 12, "x": 12, "y": 0},
            ds,
            "percent",
            _threshold_steps(memory_lines),
        ),
        _timeseries(
            3,
            "VM count (scrape targets)",
            promql.target_count(config.prometheus_job_name),
            "VMs",
            {"h": 7, "w": 12, "x": 0, "y": 9},
            ds,
            "none",
            _threshold_steps([(config.min_vms, "blue"), (config.max_vms, "red")]),
        ),
        {
            "id": 4,
            "type": "stat",
            "title": "Targets up",
            "datasource": ds,
            "gridPos": {"h": 7, "w": 12, "x": 12, "y": 9},
            "targets": [{"refId": "A", "datasource": ds, "expr": promql.targets_up(config.prometheus_job_name)}],
            "options": {"reduceOptions": {"calcs": ["lastNotNull"]}},
        },
    ]
    annotations = [
        {
            "builtIn": 1,
            "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True,
            "hide": True,
            "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts",
            "type": "dashboard",
        },
        {
            "name": "Scale events",
            "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True,
            "iconColor": "orange",
            "target": {"type": "tags", "tags": ["ixnode", service], "matchAny": False, "limit": 500},
        },
        {
            "name": "Autoscale alerts",
            "datasource": ds,
            "enable": True,
            "iconColor": "red",
            "expr": promql.alerts_firing(service),
            "titleFormat": "{{alertname}} ({{autoscale}})",
            "tagKeys": "autoscale,service",
            "step": "30s",
        },
    ]
    return {
        "uid": naming.grafana_uid(service),
        "title": f"IXNode autoscaling: {service}",
        "tags": ["ixnode", "autoscaling", service],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": annotations},
        "panels": panels,
    }


def render_grafana_dashboard(config: Any, ctx: RenderContext) -> str:
    return dump_json(grafana_dashboard_data(config, ctx))
