"""Regenerate, publish and remove the generated artifacts of autoscaling configs.

One entry point, :func:`artifacts_regenerate`, is called by the django-q2 task the signals enqueue, by the admin
action and by the benchmark. It renders the service's artifacts, merges them into the PLG host's files and
publishes them as one validated change (:mod:`ixnode.integrations.plg.publisher`), then syncs the Jenkins jobs
and the Grafana dashboard, and records the outcome on the config (status, published at, hash, error).
A disabled or deleted config gets everything it owns removed; owned items of services that no longer exist or
are disabled (renames included) are removed on the way.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field

import yaml
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from artifacts.locks import publish_lock
from artifacts.merge import (
    MergeError,
    merge_alertmanager_config,
    merge_prometheus_config,
    owned_alertmanager_items,
    owned_jobs,
)
from artifacts.renderers import naming
from artifacts.renderers.alertmanager import MASK, alertmanager_receiver_data, alertmanager_route_data
from artifacts.renderers.bundle import artifact_files, artifacts_hash
from artifacts.renderers.context import RenderContext
from artifacts.renderers.formatting import dump_yaml
from artifacts.renderers.grafana import grafana_dashboard_data
from artifacts.renderers.jenkins import render_jenkins_jobs
from artifacts.renderers.prometheus import prometheus_job_data, render_alert_rules, render_targets_file
from artifacts.targets import targets_list
from autoscaling.choices import ArtifactStatus
from autoscaling.models import AutoscalingConfig
from ixnode.history import SYSTEM_FIELDS_REASON, history_record_system_write
from ixnode.integrations.grafana.client import grafana_client
from ixnode.integrations.grafana.interface import GrafanaError
from ixnode.integrations.jenkins.client import jenkins_client
from ixnode.integrations.jenkins.interface import JenkinsError
from ixnode.integrations.plg.client import plg_client
from ixnode.integrations.plg.interface import PlgError, PlgHost
from ixnode.integrations.plg.publisher import FileUpdate, PublishResult, Reloader, publish

logger = logging.getLogger(__name__)

PROMETHEUS = "Prometheus"
ALERTMANAGER = "Alertmanager"
# The config's fields the regeneration writes (the system's, never an operator's).
ARTIFACT_FIELDS = ("artifacts_status", "artifacts_published_at", "artifacts_hash", "artifacts_error")


@dataclass
class ArtifactsOutcome:
    """What one regeneration did, per component; ``error`` is empty when everything configured succeeded."""

    service_name: str
    status: str
    hash: str = ""
    plg: str = ""
    jenkins: str = ""
    grafana: str = ""
    errors: list[str] = field(default_factory=list)
    changed_files: list[str] = field(default_factory=list)

    @property
    def error(self) -> str:
        return "\n".join(self.errors)


def reloaders() -> list[Reloader]:
    return [
        Reloader(
            name=PROMETHEUS,
            url=settings.IXNODE_PROMETHEUS_URL,
            command=tuple(settings.IXNODE_PROMETHEUS_RELOAD_COMMAND.split()),
        ),
        Reloader(
            name=ALERTMANAGER,
            url=settings.IXNODE_ALERTMANAGER_URL,
            command=tuple(settings.IXNODE_ALERTMANAGER_RELOAD_COMMAND.split()),
        ),
    ]


def _read_text(host: PlgHost, path: str, setting: str) -> str:
    data = host.read_bytes(path)
    if data is None:
        raise PlgError(f"{path} does not exist on the {host.description}; set {setting} to the live file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlgError(f"{path} is not UTF-8 text: {exc}") from exc


def plg_updates(
    host: PlgHost,
    ctx: RenderContext,
    *,
    publish_configs: dict[str, AutoscalingConfig | None],
    enabled_services: set[str],
    existing_services: set[str],
) -> list[FileUpdate]:
    """The file changes that make the PLG host match: ``publish_configs`` (service → enabled config, or None to
    remove it), owned items of services outside ``enabled_services`` removed, targets files of services that no
    longer exist deleted (a disabled service keeps its registered targets)."""
    promtool, amtool = settings.IXNODE_PROMTOOL, settings.IXNODE_AMTOOL
    prom_path, am_path = settings.IXNODE_PROMETHEUS_CONFIG, settings.IXNODE_ALERTMANAGER_CONFIG
    prom_text = _read_text(host, prom_path, "IXNODE_PROMETHEUS_CONFIG")
    am_text = _read_text(host, am_path, "IXNODE_ALERTMANAGER_CONFIG")
    jobs = {s: (prometheus_job_data(c, ctx) if c else None) for s, c in publish_configs.items()}
    pairs = {
        s: ((alertmanager_route_data(c, ctx), alertmanager_receiver_data(c, ctx)) if c else None)
        for s, c in publish_configs.items()
    }
    new_prom = merge_prometheus_config(
        prom_text, jobs=jobs, keep_services=enabled_services, rules_glob=ctx.rules_glob, label=prom_path
    )
    new_am = merge_alertmanager_config(am_text, services=pairs, keep_services=enabled_services, label=am_path)

    updates: list[FileUpdate] = []
    rule_check = (promtool, "check", "rules", "{path}")
    for service, config in publish_configs.items():
        content = render_alert_rules(config, ctx).encode() if config else None
        updates.append(FileUpdate(ctx.rules_path(service), content, rule_check, (PROMETHEUS,)))
    for name in host.listdir(settings.IXNODE_PROMETHEUS_RULES_DIR):
        rules_of = _service_of_rules_file(name)
        if rules_of and rules_of not in enabled_services and rules_of not in publish_configs:
            updates.append(FileUpdate(ctx.rules_path(rules_of), None, (), (PROMETHEUS,)))
    for service, config in publish_configs.items():
        path = ctx.targets_path(service)
        if config is not None and not host.exists(path):
            updates.append(FileUpdate(path, render_targets_file(config, []).encode()))
    for name in host.listdir(settings.IXNODE_PROMETHEUS_TARGETS_DIR):
        targets_of = naming.service_of_targets_file(name)
        if targets_of and targets_of not in existing_services:
            updates.append(FileUpdate(ctx.targets_path(targets_of), None))
    updates.append(FileUpdate(prom_path, new_prom.encode(), (promtool, "check", "config", "{path}"), (PROMETHEUS,)))
    updates.append(FileUpdate(am_path, new_am.encode(), (amtool, "check-config", "{path}"), (ALERTMANAGER,)))
    return updates


def _service_of_rules_file(name: str) -> str | None:
    if name.startswith(naming.PREFIX) and name.endswith(naming.RULES_SUFFIX):
        return naming.service_of_receiver(name[: -len(naming.RULES_SUFFIX)])
    return None


def artifacts_render(*, config: AutoscalingConfig, mask_secrets: bool = False) -> dict[str, str]:
    """Every artifact of the service as file name → text (what ``render_artifacts`` writes)."""

    try:
        targets = targets_list(config=config) if settings.IXNODE_PLG_MODE != "off" else []
    except PlgError:
        targets = []
    return artifact_files(config, RenderContext.from_settings(), targets=targets, mask_secrets=mask_secrets)


def artifacts_deployed(*, config: AutoscalingConfig) -> dict[str, str]:
    """What is live on the PLG host for the service (for the admin preview); secrets masked."""


    ctx = RenderContext.from_settings()
    service = config.service_name
    deployed: dict[str, str] = {}
    with plg_client() as host:
        prom = host.read_bytes(settings.IXNODE_PROMETHEUS_CONFIG)
        am = host.read_bytes(settings.IXNODE_ALERTMANAGER_CONFIG)
        rules = host.read_bytes(ctx.rules_path(service))
        targets = host.read_bytes(ctx.targets_path(service))
    if prom is not None:
        with contextlib.suppress(yaml.YAMLError):
            job = owned_jobs(yaml.safe_load(prom)).get(service)
            if job:
                deployed["prometheus-scrape-job.yml"] = dump_yaml({"scrape_configs": [job]})
    if am is not None:
        with contextlib.suppress(yaml.YAMLError):
            routes, receivers = owned_alertmanager_items(yaml.safe_load(am))
            if service in routes:
                deployed["alertmanager-route.yml"] = dump_yaml({"routes": [routes[service]]})
            if service in receivers:
                receiver = receivers[service]
                for hook in receiver.get("webhook_configs") or []:
                    auth = (hook.get("http_config") or {}).get("authorization") or {}
                    if "credentials" in auth:
                        auth["credentials"] = MASK
                deployed["alertmanager-receiver.yml"] = dump_yaml({"receivers": [receiver]})
    if rules is not None:
        deployed[naming.rules_file_name(service)] = rules.decode(errors="replace")
    if targets is not None:
        deployed[naming.targets_file_name(service)] = targets.decode(errors="replace")
    return deployed


def _publish_plg(ctx: RenderContext, publish_configs: dict[str, AutoscalingConfig | None]) -> PublishResult:
    services = dict(AutoscalingConfig.objects.values_list("service_name", "enabled"))
    enabled = {name for name, is_enabled in services.items() if is_enabled}
    with plg_client() as host:
        updates = plg_updates(
            host, ctx, publish_configs=publish_configs, enabled_services=enabled, existing_services=set(services)
        )
        return publish(host, updates, reloaders())


def _sync_jenkins(service_name: str, jobs: dict[str, str] | None) -> str:

    client = jenkins_client()
    if client is None:
        return "skipped: IXNODE_JENKINS_URL is not set"
    names = [naming.jenkins_job_name(service_name, action) for action in ("scale-out", "scale-in")]
    if jobs is None:
        deleted = [name for name in names if client.job_delete(name=name)]
        return f"deleted {', '.join(deleted)}" if deleted else "nothing to delete"
    changes = [f"{name}: {client.job_upsert(name=name, config_xml=xml)}" for name, xml in jobs.items()]
    return "; ".join(changes)


def _sync_grafana(config: AutoscalingConfig | None, service_name: str, ctx: RenderContext) -> str:

    client = grafana_client()
    if client is None:
        return "skipped: IXNODE_GRAFANA_URL is not set"
    if config is None:
        removed = client.dashboard_delete(uid=naming.grafana_uid(service_name))
        return "dashboard deleted" if removed else "no dashboard to delete"
    return client.dashboard_push(dashboard=grafana_dashboard_data(config, ctx),
    folder_uid=settings.IXNODE_GRAFANA_FOLDER_UID)


def artifacts_regenerate(*, service_name: str, config_id: int | None = None) -> ArtifactsOutcome:
    """Publish (enabled config) or remove (disabled or deleted config) every artifact of one service and record
    the outcome on the config. Never raises for integration failures: they end up in the outcome and on the
    config (``artifacts_status=error``, ``artifacts_error``)."""

    config = None
    if config_id is not None:
        config = AutoscalingConfig.objects.filter(pk=config_id).select_related("template").first()
    if config is None:
        config = AutoscalingConfig.objects.filter(service_name=service_name).select_related("template").first()
    name = config.service_name if config else service_name
    active = bool(config and config.enabled)
    ctx = RenderContext.from_settings()
    outcome = ArtifactsOutcome(service_name=name, status=ArtifactStatus.ACTIVE if active else ArtifactStatus.REMOVED)
    if config is not None:
        outcome.hash = artifacts_hash(artifact_files(config, ctx))

    with publish_lock():
        if settings.IXNODE_PLG_MODE == "off":
            outcome.plg = "skipped: IXNODE_PLG_MODE=off"
        else:
            try:
                publish_configs: dict[str, AutoscalingConfig | None] = {name: config if active else None}
                if service_name != name:  # renamed since the task was enqueued: drop the old name's items
                    publish_configs[service_name] = None
                result = _publish_plg(ctx, publish_configs)
                outcome.changed_files = result.changed
                outcome.plg = (
                    f"published {len(result.changed)} file(s), reloaded {', '.join(result.reloaded) or 'nothing'}"
                    if result.changed
                    else "up to date"
                )
            except (PlgError, MergeError) as exc:
                outcome.errors.append(f"PLG: {exc}")
                outcome.plg = "failed"
    try:
        outcome.jenkins = _sync_jenkins(name, render_jenkins_jobs(config, ctx) if active else None)
    except JenkinsError as exc:
        outcome.errors.append(f"Jenkins: {exc}")
        outcome.jenkins = "failed"
    try:
        outcome.grafana = _sync_grafana(config if active else None, name, ctx)
    except GrafanaError as exc:
        outcome.errors.append(f"Grafana: {exc}")
        outcome.grafana = "failed"

    if outcome.errors:
        outcome.status = ArtifactStatus.ERROR
    elif settings.IXNODE_PLG_MODE == "off" and active:
        outcome.status = ArtifactStatus.PENDING
    if config is not None:
        fields: dict[str, object] = {"artifacts_status": outcome.status, "artifacts_error": outcome.error}
        if not outcome.errors:
            fields["artifacts_hash"] = outcome.hash if active else ""
            fields["artifacts_published_at"] = timezone.now()
        # update(): no post_save, so recording the outcome does not enqueue another regeneration. The history gets
        # its own row for it, credited to the system (not to whoever saved the config and so started this).
        AutoscalingConfig.objects.filter(pk=config.pk).update(**fields)
        recorded = AutoscalingConfig.objects.filter(pk=config.pk).first()
        if recorded is not None:
            history_record_system_write(instance=recorded, fields=ARTIFACT_FIELDS, reason=SYSTEM_FIELDS_REASON)
    log = logger.warning if outcome.errors else logger.info
    log(
        "artifacts of %s: %s (plg: %s; jenkins: %s; grafana: %s) %s",
        name,
        outcome.status,
        outcome.plg,
        outcome.jenkins,
        outcome.grafana,
        outcome.error,
    )
    return outcome


def artifacts_publish_all() -> PublishResult:
    """Publish every enabled config's PLG artifacts in one change (initial setup, recovery, benchmarks)."""
    ctx = RenderContext.from_settings()
    configs = {c.service_name: c for c in AutoscalingConfig.objects.filter(enabled=True)}
    with publish_lock():
        return _publish_plg(ctx, dict(configs))


class _Regeneration:
    """An on-commit callback that queues one regeneration; recognisable so a transaction queues it once."""

    def __init__(self, service_name: str, config_id: int | None) -> None:
        self.service_name, self.config_id = service_name, config_id
        self.key = (service_name, config_id)

    def __call__(self) -> None:

        try:
            async_task(
                "artifacts.tasks.artifacts_regenerate_task",
                self.service_name,
                self.config_id,
                task_name=f"artifacts-{self.service_name}",
                group="artifacts",
                sync=settings.IXNODE_ARTIFACTS_SYNC,
            )
        except Exception as exc:
            logger.exception("could not queue the artifact regeneration of %s", self.service_name)
            if self.config_id is None:  # the config is gone (deleted or renamed): nothing to record it on
                return
            AutoscalingConfig.objects.filter(pk=self.config_id).update(
                artifacts_status=ArtifactStatus.ERROR,
                artifacts_error=f"The regeneration could not be queued: {exc.__class__.__name__}: {exc}",
            )
            recorded = AutoscalingConfig.objects.filter(pk=self.config_id).first()
            if recorded is not None:
                history_record_system_write(instance=recorded, fields=ARTIFACT_FIELDS, reason=SYSTEM_FIELDS_REASON)


def artifacts_regenerate_enqueue(*, service_name: str, config_id: int | None) -> None:
    """Queue one regeneration of the service after the current transaction commits (at most one per transaction
    and service, however often the config is saved in it; nothing for a rolled-back transaction)."""

    connection = transaction.get_connection()
    if connection.in_atomic_block:
        key = (service_name, config_id)
        for entry in connection.run_on_commit:
            callback = entry[1]
            if isinstance(callback, _Regeneration) and callback.key == key:
                return
    transaction.on_commit(_Regeneration(service_name, config_id))
