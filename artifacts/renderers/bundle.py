"""All artifacts of one service as named files (``render_artifacts`` writes them; the hash covers them)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from artifacts.renderers import naming
from artifacts.renderers.alertmanager import render_alertmanager_receiver, render_alertmanager_route
from artifacts.renderers.context import RenderContext
from artifacts.renderers.grafana import render_grafana_dashboard
from artifacts.renderers.jenkins import render_jenkins_jobs
from artifacts.renderers.prometheus import render_alert_rules, render_prometheus_job, render_targets_file

PROMETHEUS_JOB_FILE = "prometheus-scrape-job.yml"
ALERTMANAGER_ROUTE_FILE = "alertmanager-route.yml"
ALERTMANAGER_RECEIVER_FILE = "alertmanager-receiver.yml"
GRAFANA_DASHBOARD_FILE = "grafana-dashboard.json"


def artifact_files(
    config: Any, ctx: RenderContext, *, targets: Iterable[str] = (), mask_secrets: bool = False
) -> dict[str, str]:
    """File name → content of every artifact of the service, in a stable order."""
    service = config.service_name
    files = {
        PROMETHEUS_JOB_FILE: render_prometheus_job(config, ctx),
        naming.targets_file_name(service): render_targets_file(config, targets),
        naming.rules_file_name(service): render_alert_rules(config, ctx),
        ALERTMANAGER_ROUTE_FILE: render_alertmanager_route(config, ctx),
        ALERTMANAGER_RECEIVER_FILE: render_alertmanager_receiver(config, ctx, mask_secrets=mask_secrets),
        GRAFANA_DASHBOARD_FILE: render_grafana_dashboard(config, ctx),
    }
    for job_name, xml in render_jenkins_jobs(config, ctx).items():
        files[f"jenkins-{job_name}.xml"] = xml
    return files


def artifacts_hash(files: dict[str, str]) -> str:
    """sha256 over the generated artifacts (targets excluded: they are runtime state, not generated)."""
    digest = hashlib.sha256()
    for name in sorted(files):
        if name.endswith(naming.TARGETS_SUFFIX) and name.startswith(naming.PREFIX):
            continue
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()
