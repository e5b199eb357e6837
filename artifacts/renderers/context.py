"""What renderers need besides the config: deployment paths, URLs, intervals (from settings)."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings

from artifacts.renderers import naming
from events.choices import ScaleAction
from ixnode.registry import registry


def pipeline_steps_registered() -> dict[str, tuple[str, ...]]:
    """The Jenkins stages of each action's registered pipeline."""
    return {action: tuple(registry.jenkins_steps(action)) for action in ScaleAction.values}


@dataclass(frozen=True)
class RenderContext:
    """Deployment facts shared by every service's artifacts; ``from_settings()`` builds the real one."""

    public_url: str = "http://127.0.0.1:8000"
    webhook_token: str = ""
    targets_dir: str = "/etc/prometheus/targets"
    rules_dir: str = "/etc/prometheus/rules"
    rate_window: str = "5m"
    scrape_interval: str = ""  # empty: Prometheus' global scrape_interval
    group_wait: str = "30s"
    group_interval: str = "5m"
    grafana_datasource_uid: str = "prometheus"
    jenkins_credentials_id: str = "ixnode-api-token"
    # action → the Jenkins job's stages, in order (the registered pipelines)
    pipeline_steps: Mapping[str, tuple[str, ...]] = field(default_factory=pipeline_steps_registered)

    @classmethod
    def from_settings(cls) -> RenderContext:
        return cls(
            public_url=settings.IXNODE_PUBLIC_URL.rstrip("/"),
            webhook_token=settings.IXNODE_WEBHOOK_TOKEN,
            targets_dir=settings.IXNODE_PROMETHEUS_TARGETS_DIR,
            rules_dir=settings.IXNODE_PROMETHEUS_RULES_DIR,
            rate_window=settings.IXNODE_PROMETHEUS_RATE_WINDOW,
            scrape_interval=settings.IXNODE_PROMETHEUS_SCRAPE_INTERVAL,
            group_wait=settings.IXNODE_ALERTMANAGER_GROUP_WAIT,
            group_interval=settings.IXNODE_ALERTMANAGER_GROUP_INTERVAL,
            grafana_datasource_uid=settings.IXNODE_GRAFANA_DATASOURCE_UID,
            jenkins_credentials_id=settings.IXNODE_JENKINS_API_CREDENTIALS_ID,
        )

    def targets_path(self, service_name: str) -> str:
        return posixpath.join(self.targets_dir, naming.targets_file_name(service_name))

    def rules_path(self, service_name: str) -> str:
        return posixpath.join(self.rules_dir, naming.rules_file_name(service_name))

    @property
    def rules_glob(self) -> str:
        """The one ``rule_files`` entry the product adds to prometheus.yml (all owned rule files)."""
        return posixpath.join(self.rules_dir, naming.RULES_GLOB)

    def webhook_url(self, service_name: str) -> str:
        return f"{self.public_url}/api/webhook/autoscale/{service_name}"
