"""Exporter installs: create a job, run it host by host over SSH (live progress on the rows), uninstall.

``exporter_install_create`` records the job and enqueues ``exporters.tasks.exporter_install_run`` once the
transaction commits. ``monitoring_agents_remove`` is the synchronous call scale-in's monitoring-removal
stage makes for one VM.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from artifacts.targets import target_add, target_remove
from exporters import agents
from exporters.choices import BinarySource, Component, HostStatus, InstallAction, JobStatus
from exporters.models import ExporterInstall, ExporterInstallHost
from ixnode.integrations.ssh.client import ssh_client
from ixnode.integrations.ssh.interface import SSH, SSHCommandFailed

VERIFY_TIMEOUT = 15.0


@dataclass(frozen=True)
class HostSpec:
    address: str
    vm_name: str = ""


@dataclass
class HostOutcome:
    changed: list[str] = field(default_factory=list)
    metrics_ok: bool | None = None
    target: str = ""


class ExporterInstallError(Exception):
    """A host step failed; the message says what to fix."""


def exporter_install_create(
    *,
    hosts: list[HostSpec],
    components: list[str],
    ssh_user: str,
    ssh_key_path: str,
    action: str = InstallAction.INSTALL,
    config=None,
    ssh_port: int = 22,
    source: str = BinarySource.PACKAGE,
    listen_host: str = "",
    exporter_port: int | None = None,
    user=None,
) -> ExporterInstall:
    """Record an install (or uninstall) job with one row per host and enqueue it after commit."""
    errors: dict[str, list[str]] = {}
    if not hosts:
        errors["hosts"] = [_("Pick at least one host.")]
    if not components or any(c not in Component.values for c in components):
        errors["components"] = [_("Pick Node Exporter and/or Promtail.")]
    if not ssh_key_path:
        errors["ssh_key_path"] = [_("Enter the SSH private key path on this server.")]
    if errors:
        raise ValidationError(errors)
    port = exporter_port or (config.node_exporter_port if config else 9100)
    with transaction.atomic():
        install = ExporterInstall.objects.create(
            action=action, components=list(dict.fromkeys(components)), config=config, ssh_user=ssh_user,
            ssh_key_path=ssh_key_path, ssh_port=ssh_port, source=source, listen_host=listen_host,
            exporter_port=port, created_by=user if user is not None and user.is_authenticated else None,
        )
        install.full_clean()
        ExporterInstallHost.objects.bulk_create(
            [ExporterInstallHost(install=install, address=h.address, vm_name=h.vm_name) for h in hosts]
        )
        transaction.on_commit(lambda: _enqueue(install.pk))
    return install


def _enqueue(install_id: int) -> None:

    task_id = async_task("exporters.tasks.exporter_install_run", install_id, group="exporters")
    ExporterInstall.objects.filter(pk=install_id).update(task_id=str(task_id or ""))


def _progress(host: ExporterInstallHost, step: str, line: str = "", **fields) -> None:
    host.step = step
    if line:
        host.log = (host.log + line.rstrip() + "\n")[-20000:]
    for key, value in fields.items():
        setattr(host, key, value)
    host.save(update_fields=["step", "log", *fields.keys()])


def exporter_install_run(*, install_id: int) -> ExporterInstall:
    """Run the job: each host in turn, its rows updated as it goes; the job ends succeeded/partial/failed."""
    install = ExporterInstall.objects.select_related("config").get(pk=install_id)
    install.status, install.started_at = JobStatus.RUNNING, timezone.now()
    install.save(update_fields=["status", "started_at"])
    hosts = list(install.hosts.order_by("id"))
    for host in hosts:
        host.status, host.started_at = HostStatus.RUNNING, timezone.now()
        host.save(update_fields=["status", "started_at"])
        try:
            if install.action == InstallAction.UNINSTALL:
                outcome = _host_uninstall(install, host)
            else:
                outcome = _host_install(install, host)
        except Exception as exc:  # noqa: BLE001 - any failure of a host is reported on its row
            _progress(host, _("failed"), f"ERROR: {exc}", status=HostStatus.FAILED, finished_at=timezone.now())
            continue
        summary = ", ".join(outcome.changed) if outcome.changed else _("nothing to change")
        _progress(host, _("done"), f"{_('result')}: {summary}", status=HostStatus.SUCCEEDED,
                  finished_at=timezone.now(), changed=bool(outcome.changed), metrics_ok=outcome.metrics_ok,
                  target=outcome.target)
    failed = sum(1 for h in hosts if h.status == HostStatus.FAILED)
    install.status = JobStatus.SUCCEEDED if not failed else (JobStatus.FAILED if failed == len(hosts)
                                                             else JobStatus.PARTIAL)
    install.finished_at = timezone.now()
    install.save(update_fields=["status", "finished_at"])
    return install


def _ssh(install: ExporterInstall, address: str) -> SSH:
    return ssh_client(host=address, user=install.ssh_user, key_path=install.ssh_key_path, port=install.ssh_port)


def _run_script(ssh: SSH, script: str) -> list[str]:

    try:
        result = ssh.run("sh -s", stdin=script.encode(), timeout=600)
    except SSHCommandFailed as exc:
        raise ExporterInstallError(str(exc)) from exc
    return agents.changes_in(result.stdout)


def _upload_if_different(ssh, local: Path, remote: str, marker: str) -> bool:
    data = local.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    current = ssh.run(f"sha256sum {remote} 2>/dev/null || true", check=False).stdout.split(" ")[0]
    if current == digest:
        return False
    ssh.upload(data, remote, mode=0o755)
    ssh.run(f": > {marker}")
    return True


def _verify_metrics(url: str) -> None:
    deadline = time.monotonic() + VERIFY_TIMEOUT
    last = ""
    while time.monotonic() < deadline:
        try:
            response = requests.get(url, timeout=3)
            if response.status_code == 200 and "# TYPE" in response.text:
                return
            last = f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            last = exc.__class__.__name__
        time.sleep(0.3)
    raise ExporterInstallError(
        _("%(url)s did not answer with metrics within %(s)d s (%(last)s): check the agent's log and the firewall.")
        % {"url": url, "s": VERIFY_TIMEOUT, "last": last}
    )


def _base_dir() -> str:
    return settings.IXNODE_EXPORTER_DIR.rstrip("/")


def _host_install(install: ExporterInstall, host: ExporterInstallHost) -> HostOutcome:
    outcome = HostOutcome()
    base = _base_dir()
    listen = install.listen_host
    _progress(host, _("connecting"), f"ssh {install.ssh_user}@{host.address}:{install.ssh_port}")
    with _ssh(install, host.address) as ssh:
        ssh.run(f"mkdir -p {base}/bin {base}/run {base}/log")
        if Component.NODE_EXPORTER in install.components:
            _progress(host, _("Node Exporter"), "node_exporter: install")
            if install.source == BinarySource.UPLOAD:
                if not settings.IXNODE_NODE_EXPORTER_BINARY:
                    raise ExporterInstallError(_("Set IXNODE_NODE_EXPORTER_BINARY to upload a node_exporter binary."))
                if _upload_if_different(ssh, Path(settings.IXNODE_NODE_EXPORTER_BINARY), f"{base}/bin/node_exporter",
                                        f"{base}/run/node_exporter.uploaded"):
                    outcome.changed.append("uploaded node_exporter")
            plan = agents.AgentPlan(agents.NODE_EXPORTER, base,
                                    agents.node_exporter_args(listen_host=listen, port=install.exporter_port),
                                    source=install.source)
            changes = _run_script(ssh, agents.install_script(plan))
            outcome.changed += changes
            _progress(host, _("verifying"), "\n".join(changes) or "node_exporter: unchanged")
            _verify_metrics(f"http://{host.address}:{install.exporter_port}/metrics")
            outcome.metrics_ok = True
            _progress(host, _("verified"), f"GET http://{host.address}:{install.exporter_port}/metrics: ok")
            if install.config is not None:

                target = f"{host.address}:{install.exporter_port}"
                _targets, added = target_add(config=install.config, target=target)
                outcome.target = target
                if added:
                    outcome.changed.append(f"registered {target} in {install.config.prometheus_job_name}")
                _progress(host, _("registered"), f"Prometheus job {install.config.prometheus_job_name}: {target}")
        if Component.PROMTAIL in install.components:
            _progress(host, _("Promtail"), "promtail: install")
            config_path = f"{base}/promtail.yaml"
            text = agents.promtail_config(
                loki_url=settings.IXNODE_LOKI_URL, service=install.config.service_name if install.config else "",
                host=host.vm_name or host.address, base_dir=base, listen_host=listen)
            try:
                current = ssh.read_file(config_path).decode()
            except FileNotFoundError:
                current = None
            if current != text:
                ssh.upload(text, config_path, mode=0o644)
                ssh.run(f": > {base}/run/promtail.config-changed")
                outcome.changed.append("promtail config")
            binary = settings.IXNODE_PROMTAIL_BINARY
            if binary and _upload_if_different(ssh, Path(binary), f"{base}/bin/promtail",
                                               f"{base}/run/promtail.uploaded"):
                outcome.changed.append("uploaded promtail")
            plan = agents.AgentPlan(agents.PROMTAIL, base, agents.promtail_args(config_path=config_path),
                                    source=BinarySource.UPLOAD, config_path=config_path)
            changes = _run_script(ssh, agents.install_script(plan))
            outcome.changed += changes
            _verify_metrics(f"http://{host.address}:{agents.PROMTAIL_PORT}/metrics")
            _progress(host, _("verified"), "\n".join(changes) + f"\nGET :{agents.PROMTAIL_PORT}/metrics: ok")
    return outcome


def _host_uninstall(install: ExporterInstall, host: ExporterInstallHost) -> HostOutcome:
    _progress(host, _("connecting"), f"ssh {install.ssh_user}@{host.address}:{install.ssh_port}")
    changed = monitoring_agents_remove(
        address=host.address, ssh_user=install.ssh_user, ssh_key_path=install.ssh_key_path, ssh_port=install.ssh_port,
        components=install.components, config=install.config, exporter_port=install.exporter_port,
    )
    return HostOutcome(changed=changed)


def monitoring_agents_remove(
    *, address: str, ssh_user: str, ssh_key_path: str, ssh_port: int = 22, components: list[str] | None = None,
    config=None, exporter_port: int | None = None,
) -> list[str]:
    """Stop and remove Node Exporter / Promtail on one VM and drop its Prometheus target (idempotent).

    Returns what changed. Scale-in's monitoring-removal stage calls this before the VM is destroyed.
    """

    components = components or [Component.NODE_EXPORTER, Component.PROMTAIL]
    changed: list[str] = []
    port = exporter_port or (config.node_exporter_port if config else 9100)
    if config is not None and Component.NODE_EXPORTER in components:

        _targets, removed = target_remove(config=config, target=f"{address}:{port}")
        if removed:
            changed.append(f"unregistered {address}:{port} from {config.prometheus_job_name}")
    with ssh_client(host=address, user=ssh_user, key_path=ssh_key_path, port=ssh_port) as ssh:
        for component in components:
            plan = agents.AgentPlan(component, _base_dir(), ())
            changed += _run_script(ssh, agents.uninstall_script(plan))
    return changed


def exporter_uninstall_for_vm(*, vm_name: str, ip: str) -> str:
    """Scale-in's monitoring-removal stage: remove the agents an exporter job installed on this VM.

    Uses the SSH access and components of the latest successful install on the VM (matched by address, or by
    name). VMs we never installed agents on (e.g. templates with node_exporter baked in) are left alone.
    The Prometheus target is removed by the pipeline's own stage. Raises on SSH failures (the stage fails).
    """

    host = (
        ExporterInstallHost.objects.select_related("install")
        .filter(install__action=InstallAction.INSTALL, status=HostStatus.SUCCEEDED)
        .filter(Q(address=ip) | Q(vm_name=vm_name) if vm_name else Q(address=ip))
        .order_by("-finished_at", "-id")
        .first()
    )
    if host is None:
        return f"no agents installed by us on {vm_name or ip}"
    install = host.install
    changed = monitoring_agents_remove(
        address=ip or host.address, ssh_user=install.ssh_user, ssh_key_path=install.ssh_key_path,
        ssh_port=install.ssh_port, components=install.components, config=None, exporter_port=install.exporter_port,
    )
    return "; ".join(changed) if changed else f"agents already removed from {vm_name or ip}"
