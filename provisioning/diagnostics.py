"""Diagnostics: the operator's troubleshooting checklist run automatically, and the integrations' health.

Each check is a function ``check_<what>(*, config, ctx) -> CheckResult`` that talks to the real system
through the project's integration client for it, and answers green/red with the fix an operator applies.
``ok=None`` means the check could not run (its prerequisite failed or the system is not configured).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import requests
import yaml
from django.conf import settings
from django.core.cache import cache
from django.utils import formats, timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from artifacts.renderers import naming
from artifacts.renderers.jenkins import jenkins_job_names
from autoscaling.choices import ArtifactStatus, NetworkMode
from autoscaling.decision import cooldown_remaining
from autoscaling.models import AutoscalingConfig
from autoscaling.services.ip_leases import ip_pool_free_count
from autoscaling.services.warm_pool import warm_vms
from autoscaling.signals import send_logged
from ixnode.integrations.alertmanager.client import alertmanager_client
from ixnode.integrations.alertmanager.interface import AlertmanagerError
from ixnode.integrations.f5.client import f5_client
from ixnode.integrations.f5.interface import F5ConfigurationError, F5Error, F5NotFound
from ixnode.integrations.jenkins.client import jenkins_client
from ixnode.integrations.jenkins.interface import JenkinsError
from ixnode.integrations.problems import explain, explain_text, short_cause
from ixnode.integrations.prometheus.client import prometheus_client
from ixnode.integrations.prometheus.interface import Prometheus, PrometheusError, Target
from ixnode.integrations.ssh.client import ssh_client
from ixnode.integrations.ssh.interface import SSHError
from ixnode.integrations.vcenter.client import vcenter_client
from ixnode.integrations.vcenter.interface import VCenterConfigError, VCenterError
from ixnode.netaddr import address_of
from provisioning.signals import integration_down

HEALTH_CACHE_KEY = "ixnode:integration-health"
HEALTH_CACHE_SECONDS = 30


@dataclass(frozen=True)
class CheckResult:
    """One green/red line: what was checked, what was seen, and what to do when red."""

    key: str
    title: str
    ok: bool | None
    detail: str  # a sentence in the reader's language
    fix: str = ""  # the setting to change or the step to take
    technical: str = ""  # what the system or library said, for the record (folded away on pages)
    optional: bool = False  # not configured on purpose is fine (Jenkins: runs use the embedded executor)

    @property
    def state(self) -> str:
        return {True: "ok", False: "bad", None: "unknown"}[self.ok]


@dataclass
class DiagnosticsContext:
    """Clients and facts shared by the checks of one run (each system is asked once)."""

    prometheus: Prometheus = field(default_factory=prometheus_client)
    prometheus_jobs: list[str] | None = None  # set by check_prometheus_job
    targets: list[Target] | None = None  # set by check_targets_up; None: unknown
    vcenter_timeout: float | None = None  # per-request bound for the vCenter checks (None: IXNODE_VCENTER_TIMEOUT)


def _from_exception(key: str, title: str, ok: bool | None, exc: BaseException, fix: str, *, system: str = "",
                    where: str = "") -> CheckResult:
    """A red or grey line for a failure: the explained sentence, the exception's text kept as technical detail."""
    problem = explain(exc, system=system, where=where)
    return CheckResult(key, title, ok, problem.summary, fix, technical=problem.detail)


def _f5_configuration(key: str, title: str, exc: F5ConfigurationError) -> CheckResult:
    """The F5 settings missing: the check could not run (grey), the client's sentence naming the settings as
    technical detail. Set to something the client cannot use: it failed (red), and the client's sentence (which
    setting, why, its form) is the detail; its English text, as logged and stored, the technical detail. Both in the
    reader's language."""
    if exc.missing:
        problem = explain(exc)
        return CheckResult(key, title, None, problem.summary,
                           _("Set IXNODE_F5_HOST, IXNODE_F5_USER and IXNODE_F5_PASSWORD."), technical=exc.translated())
    reason = exc.translated()
    return CheckResult(key, title, False, reason,
                       _("Correct IXNODE_F5_HOST, IXNODE_F5_USER or IXNODE_F5_PASSWORD as the message says."),
                       technical="" if reason == str(exc) else str(exc))


def checks_summary(results: list[CheckResult]) -> dict[str, int]:
    """How many checks passed, failed and could not run (prerequisite down or not configured)."""
    return {
        "ok": sum(1 for r in results if r.ok is True),
        "failed": sum(1 for r in results if r.ok is False),
        "not_run": sum(1 for r in results if r.ok is None),
        "total": len(results),
    }


# --- integration health (overview row) -----------------------------------------------------------------

def health_prometheus() -> CheckResult:

    title = "Prometheus"
    try:
        jobs = prometheus_client().job_names()
    except PrometheusError as exc:
        return _from_exception("prometheus", title, False, exc, _("Check IXNODE_PROMETHEUS_URL and that Prometheus "
                                                                  "runs."))
    return CheckResult("prometheus", title, True, _("%(count)d scrape jobs loaded") % {"count": len(jobs)})


def vcenter_setup_fix() -> str:
    """The fix of every check that finds vCenter not configured: the settings by their names."""
    return _("Set IXNODE_VCENTER_HOST, IXNODE_VCENTER_USER and IXNODE_VCENTER_PASSWORD (and IXNODE_VCENTER_DATACENTER "
             "when vCenter has several).")


def health_vcenter() -> CheckResult:

    title = "vCenter"
    try:
        about = vcenter_client().about()
    except VCenterConfigError as exc:
        return _from_exception("vcenter", title, None, exc, vcenter_setup_fix())
    except VCenterError as exc:
        return _from_exception("vcenter", title, False, exc, _("Check IXNODE_VCENTER_HOST, the credentials and TLS "
                                                               "pin."))
    return CheckResult("vcenter", title, True, about.name)


def health_f5() -> CheckResult:

    title = "F5 BIG-IP"
    try:
        client = f5_client()
        pool = AutoscalingConfig.objects.values_list("f5_pool_name", flat=True).first() or "ixnode-health-probe"
        client.check_pool(pool=pool)
    except F5ConfigurationError as exc:
        return _f5_configuration("f5", title, exc)
    except F5NotFound:
        return CheckResult("f5", title, True, _("Logged in (a pool is missing: see the service's diagnostics)."))
    except F5Error as exc:
        return _from_exception("f5", title, False, exc, _("Check IXNODE_F5_HOST, the credentials and "
                                                          "IXNODE_F5_VERIFY_TLS."))
    return CheckResult("f5", title, True, _("Logged in, pool readable."))


def health_alertmanager() -> CheckResult:

    title = "Alertmanager"
    try:
        alertmanager_client().loaded_config()
    except AlertmanagerError as exc:
        return _from_exception("alertmanager", title, False, exc,
                           _("Check IXNODE_ALERTMANAGER_URL and that Alertmanager runs."))
    return CheckResult("alertmanager", title, True, _("Configuration loaded."))


def health_jenkins() -> CheckResult:

    title = "Jenkins"
    client = jenkins_client()
    if client is None:
        return CheckResult("jenkins", title, None, _("Not configured (runs use the embedded executor)."),
                           _("Set IXNODE_JENKINS_URL, IXNODE_JENKINS_USER and IXNODE_JENKINS_TOKEN to run pipelines "
                             "on Jenkins."),
                           optional=True)
    try:
        client.job_config(name="ixnode-health-probe")  # None (404) is an answer: Jenkins is reachable
    except JenkinsError as exc:
        return _from_exception("jenkins", title, False, exc, _("Check IXNODE_JENKINS_URL and the API token."))
    return CheckResult("jenkins", title, True, _("Reachable, token accepted."))


HEALTH_PROBES: list[Callable[[], CheckResult]] = [
    health_prometheus,
    health_alertmanager,
    health_vcenter,
    health_f5,
    health_jenkins,
]
HEALTH_KEYS = frozenset({"prometheus", "alertmanager", "vcenter", "f5", "jenkins"})


def _cache_key(name: str) -> str:
    return f"{name}:{get_language() or settings.LANGUAGE_CODE}"  # the sentences are in the reader's language


def integration_health(*, use_cache: bool = True) -> list[CheckResult]:
    """Reachability of every external system (cached briefly: the overview is opened all day)."""
    if use_cache:
        cached = cache.get(_cache_key(HEALTH_CACHE_KEY))
        if cached is not None:
            return cached
    results = [probe() for probe in HEALTH_PROBES]
    cache.set(_cache_key(HEALTH_CACHE_KEY), results, HEALTH_CACHE_SECONDS)
    down = [r for r in results if r.ok is False]
    for result in down:  # de-duplicated by the notification service (one per system and window)
        send_logged(integration_down, result.key, system=result.key,
                    text=f"{result.title}: {result.technical or result.detail}")
    return results


# --- per-service checks --------------------------------------------------------------------------------

def check_artifacts(*, config: AutoscalingConfig, ctx: DiagnosticsContext) -> CheckResult:
    title = _("Generated artifacts published")
    if config.artifacts_status == ArtifactStatus.ACTIVE:
        when = config.artifacts_published_at
        shown = formats.date_format(timezone.localtime(when), "Y-m-d H:i:s T") if when else "–"
        return CheckResult("artifacts", title, True, _("Active since %(when)s") % {"when": shown})
    if not config.enabled:
        return CheckResult(
            "artifacts", title, False, _("The config is disabled: no scrape job, rules or route are published."),
            _("Enable the config in the admin to publish its Prometheus, Alertmanager and Jenkins artifacts."),
        )
    if settings.IXNODE_PLG_MODE == "off" and config.artifacts_status == ArtifactStatus.PENDING:
        return CheckResult(
            "artifacts", title, False,
            _("Publishing is off (IXNODE_PLG_MODE=off): the artifacts are rendered (see the admin preview) but "
              "not written to Prometheus or Alertmanager."),
            _("Set IXNODE_PLG_MODE=local (files on this machine) or ssh (the PLG host) to publish them."),
        )
    problems = [explain_text(line) for line in config.artifacts_error.splitlines() if line.strip()]
    detail = _("Status: %(status)s.") % {"status": config.artifacts_status_text}
    if problems:
        detail += " " + " ".join(problem.summary for problem in problems)
    return CheckResult(
        "artifacts", title, False, detail,
        _("Fix the error shown, then save the config again to regenerate its artifacts."),
        technical=config.artifacts_error,
    )


def check_prometheus_job(*, config: AutoscalingConfig, ctx: DiagnosticsContext) -> CheckResult:

    title = _("Scrape job loaded in Prometheus")
    job = config.prometheus_job_name
    try:
        jobs = ctx.prometheus.job_names()
    except PrometheusError as exc:
        return _from_exception("prometheus_job", title, None, exc, _("Check IXNODE_PROMETHEUS_URL and that Prometheus "
                                                                     "runs."))
    ctx.prometheus_jobs = jobs
    if job in jobs:
        return CheckResult("prometheus_job", title, True, _("Job '%(job)s' is loaded.") % {"job": job})
    return CheckResult(
        "prometheus_job", title, False, _("Prometheus has no job '%(job)s'.") % {"job": job},
        _("Check the Prometheus job name, that the generated scrape config is included in prometheus.yml, "
          "and reload Prometheus (POST /-/reload)."),
    )


def check_targets_up(*, config: AutoscalingConfig, ctx: DiagnosticsContext) -> CheckResult:

    title = _("Targets up")
    try:
        targets = ctx.prometheus.targets(config.prometheus_job_name)
    except PrometheusError as exc:
        return _from_exception("targets_up", title, None, exc, _("Check IXNODE_PROMETHEUS_URL and that Prometheus "
                                                                 "runs."))
    ctx.targets = targets
    down = [t for t in targets if t.health != "up"]
    if not targets:
        return CheckResult(
            "targets_up", title, False, _("The job has no targets."),
            _("Install Node Exporter on the service's VMs (Exporters page) so they are registered."),
        )
    if down:
        names = ", ".join(f"{t.instance} ({short_cause(t.last_error) or t.health})" for t in down)
        return CheckResult(
            "targets_up", title, False, _("%(down)d of %(total)d targets are down: %(names)s")
            % {"down": len(down), "total": len(targets), "names": names},
            _("Check the VM is running, that node_exporter listens on port %(port)d and the firewall allows it.")
            % {"port": config.node_exporter_port},
            technical="\n".join(f"{t.instance}: {t.last_error or t.health}" for t in down),
        )
    return CheckResult("targets_up", title, True, _("All %(total)d targets are up.") % {"total": len(targets)})


def check_count_bounds(*, config: AutoscalingConfig, ctx: DiagnosticsContext) -> CheckResult:
    title = _("VM count within min/max")
    targets = ctx.targets
    if targets is None:
        return CheckResult("count_bounds", title, None, _("The VM count is unknown (Prometheus)."))
    count = len(targets)
    values = {"count": count, "min": config.min_vms, "max": config.max_vms}
    if count >= config.max_vms:
        return CheckResult(
            "count_bounds", title, False, _("%(count)d VMs: the maximum %(max)d is reached, scale-out is blocked.")
            % values, _("Raise the maximum VM count if the service needs more capacity."),
        )
    if count <= config.min_vms:
        return CheckResult(
            "count_bounds", title, count >= config.min_vms,
            _("%(count)d VMs: at the minimum %(min)d, scale-in is blocked.") % values
            if count == config.min_vms else _("%(count)d VMs: below the minimum %(min)d.") % values,
            "" if count >= config.min_vms else _("Check the base VMs are registered in the Prometheus job."),
        )
    return CheckResult("count_bounds", title, True, _("%(count)d VMs (min %(min)d, max %(max)d).") % values)


def check_cooldown(*, config: AutoscalingConfig, ctx: DiagnosticsContext) -> CheckResult:

    title = _("Cooldown")
    state = getattr(config, "cooldown", None)
    now = timezone.now()
    out_left = math.ceil(cooldown_remaining(now, state and state.last_scale_out_at, config.cooldown_seconds))
    in_left = math.ceil(cooldown_remaining(now, state and state.last_scale_in_at, config.cooldown_seconds))
    if out_left or in_left:
        return CheckResult(
            "cooldown", title, False,
            _("In cooldown: scale-out %(out)d s, scale-in %(in)d s left.") % {"out": out_left, "in": in_left},
            _("Wait for the cooldown to end, or shorten the cooldown (seconds) in the config."),
        )
    return CheckResult("cooldown", title, True, _("No cooldown running (%(s)d s after each run).")
                       % {"s": config.cooldown_seconds})


def check_free_ips(*, config: AutoscalingConfig, ctx: DiagnosticsContext) -> CheckResult:
    """Free addresses as a scale-out would count them: the allocation's exclusion set (gateway, VIP, every
    config's leases, the job's Prometheus targets, vCenter guest IPs when configured). Warm-pool VMs keep their
    addresses and are reused first, so they lower the headroom needed."""
    title = _("Free IP addresses in the pool")

    start, end = ipaddress.ip_address(config.ip_pool_start), ipaddress.ip_address(config.ip_pool_end)
    size = int(end) - int(start) + 1
    targets = ctx.targets
    hosts = [address_of(t.instance) for t in targets] if targets is not None else []
    pool = ip_pool_free_count(config=config, exclude=hosts)
    free = pool.count
    warm = warm_vms(config=config).count()
    headroom = max(0, config.max_vms - len(targets)) if targets is not None else config.max_vms - config.min_vms
    headroom = max(0, headroom - warm)
    values = {"free": free, "size": size, "need": headroom}
    note = f" ({pool.note})" if pool.note else ""
    if free == 0 and headroom > 0:
        return CheckResult("free_ips", title, False,
                           _("No free address left (%(size)d in the pool).") % values + note,
                           _("Widen the IP pool range or release leases of deleted VMs."))
    if free < headroom:
        return CheckResult("free_ips", title, False,
                           _("%(free)d free of %(size)d, fewer than the %(need)d VMs scale-out may add.") % values
                           + note,
                           _("Widen the IP pool range so it covers max − current VMs."))
    return CheckResult("free_ips", title, True, _("%(free)d free of %(size)d.") % values + note)


def check_f5_pool(*, config: AutoscalingConfig, ctx: DiagnosticsContext) -> CheckResult:

    title = _("F5 pool reachable with its members")
    try:
        members = f5_client().list_members(pool=config.f5_pool_name)
    except F5ConfigurationError as exc:
        return _f5_configuration("f5_pool", title, exc)
    except F5NotFound as exc:
        return CheckResult("f5_pool", title, False,
                           _("The BIG-IP has no pool %(pool)s.") % {"pool": config.f5_pool_name},
                           _("Create the pool on the BIG-IP, or correct the F5 pool name in the config."),
                           technical=str(exc))
    except F5Error as exc:
        return _from_exception("f5_pool", title, False, exc,
                               _("Check the F5 pool name and VIP in the config, the F5 credentials and the network."))
    if not members:
        return CheckResult("f5_pool", title, False, _("Pool %(pool)s has no members.") % {"pool": config.f5_pool_name},
                           _("Add the service's base VMs to the F5 pool and check their health monitor."))
    unhealthy = [m for m in members if not m.enabled or m.state not in ("up", "unchecked")]
    listing = ", ".join(f"{m.name} ({m.state}{'' if m.enabled else ', disabled'})" for m in members)
    if unhealthy:
        return CheckResult("f5_pool", title, False, _("Members: %(list)s") % {"list": listing},
                           _("Check the health-check path answers on the members marked down or disabled."))
    return CheckResult("f5_pool", title, True, _("Members: %(list)s") % {"list": listing})


def check_rules_loaded(*, config: AutoscalingConfig, ctx: DiagnosticsContext) -> CheckResult:
    """The service's alert rule group is loaded and healthy in Prometheus (``GET /api/v1/rules``)."""

    title = _("Alert rules loaded in Prometheus")
    group_name = naming.rule_group_name(config.service_name)
    try:
        groups = [group for group in ctx.prometheus.alert_rule_groups() if group.name == group_name]
    except PrometheusError as exc:
        return _from_exception("rules", title, None, exc, _("Check IXNODE_PROMETHEUS_URL and that Prometheus runs."))
    if not groups:
        return CheckResult(
            "rules", title, False, _("No rule group '%(group)s' is loaded.") % {"group": group_name},
            _("Enable the config (artifacts are published on save), check the rules file is under Prometheus' "
              "rule_files glob and reload Prometheus."),
        )
    rules = [rule for group in groups for rule in group.rules]
    broken = [f"{rule.name or '?'}: {rule.last_error}" for rule in rules if rule.health == "err"]
    if broken:
        return CheckResult("rules", title, False,
                           _("%(count)d of the service's alert rules fail to evaluate.") % {"count": len(broken)},
                           _("Fix the rule expression (promtool check rules) and regenerate the artifacts."),
                           technical="\n".join(broken))
    names = ", ".join(sorted({rule.name or "?" for rule in rules}))
    return CheckResult("rules", title, True, _("%(count)d rules: %(names)s") % {"count": len(rules), "names": names})


def _routes(route: dict) -> list[dict]:
    found = [route]
    for child in route.get("routes") or []:
        if isinstance(child, dict):
            found += _routes(child)
    return found


def check_alertmanager_route(*, config: AutoscalingConfig, ctx: DiagnosticsContext) -> CheckResult:
    """Alertmanager runs a route to the service's receiver, whose webhook points at this service's URL."""


    title = _("Route present in Alertmanager")
    receiver = naming.receiver_name(config.service_name)
    try:
        loaded = yaml.safe_load(alertmanager_client().loaded_config()) or {}
    except AlertmanagerError as exc:
        return _from_exception("route", title, None, exc, _("Check IXNODE_ALERTMANAGER_URL and that Alertmanager "
                                                            "runs."))
    routes = [r for r in _routes(loaded.get("route") or {}) if r.get("receiver") == receiver]
    receivers = [r for r in loaded.get("receivers") or [] if r.get("name") == receiver]
    if not routes or not receivers:
        return CheckResult(
            "route", title, False, _("Alertmanager has no route to receiver '%(r)s'.") % {"r": receiver},
            _("Enable the config so its route is published, check alertmanager.yml and reload Alertmanager."),
        )
    urls = [str(w.get("url", "")) for w in receivers[0].get("webhook_configs") or []]
    path = f"/api/webhook/autoscale/{config.service_name}"
    if not any(url.rstrip("/").endswith(path) for url in urls):
        return CheckResult("route", title, False, _("Receiver '%(r)s' posts to %(urls)s, not to %(path)s.")
                           % {"r": receiver, "urls": ", ".join(urls) or "–", "path": path},
                           _("Set IXNODE_PUBLIC_URL to the URL Alertmanager reaches this server at and "
                             "regenerate the artifacts."))
    return CheckResult("route", title, True, _("Route to %(r)s → %(url)s") % {"r": receiver, "url": urls[0]})


def check_webhook(*, config: AutoscalingConfig, ctx: DiagnosticsContext) -> CheckResult:
    """The webhook answers at IXNODE_PUBLIC_URL with the configured token (a resolved alert starts nothing)."""

    title = _("Webhook reachable with the token")
    url = webhook_url(config)
    probe = {
        "version": "4", "status": "resolved", "receiver": "ixnode-diagnostics",
        "alerts": [{"status": "resolved", "labels": {"alertname": "IxnodeDiagnosticsProbe", "autoscale": "scale-out",
                                                      "service": config.service_name}}],
    }
    headers = {"Authorization": f"Bearer {settings.IXNODE_WEBHOOK_TOKEN}"}
    try:
        response = requests.post(url, json=probe, headers=headers, timeout=5)
    except requests.RequestException as exc:
        return _from_exception("webhook", title, False, exc,
                               _("Set IXNODE_PUBLIC_URL to the address Alertmanager uses to reach this server."),
                               system=_("This server"), where=url)
    if response.status_code in (401, 403):
        return CheckResult("webhook", title, False, _("%(url)s refused the token (HTTP %(code)d).")
                           % {"url": url, "code": response.status_code},
                           _("Use the same IXNODE_WEBHOOK_TOKEN here and in Alertmanager's receiver."))
    if response.status_code != 200:
        return CheckResult("webhook", title, False, _("%(url)s answered HTTP %(code)d.")
                           % {"url": url, "code": response.status_code},
                           _("Check the service name and the server's log."))
    return CheckResult("webhook", title, True, _("%(url)s accepted the token.") % {"url": url})


def check_jenkins_jobs(*, config: AutoscalingConfig, ctx: DiagnosticsContext) -> CheckResult:

    title = _("Jenkins jobs present")
    client = jenkins_client()
    if client is None:
        executor = settings.IXNODE_EXECUTOR
        if executor != "jenkins":
            return CheckResult("jenkins", title, None,
                               _("Jenkins is not configured (runs use the embedded worker)."),
                               _("Set IXNODE_JENKINS_URL, IXNODE_JENKINS_USER and IXNODE_JENKINS_TOKEN to run "
                                 "pipelines on Jenkins."),
                               optional=True)
        return CheckResult("jenkins", title, False,
                           _("IXNODE_EXECUTOR=jenkins, but Jenkins is not configured: runs cannot start."),
                           _("Set IXNODE_JENKINS_URL, IXNODE_JENKINS_USER and IXNODE_JENKINS_TOKEN, or "
                             "IXNODE_EXECUTOR=embedded."))
    names = list(jenkins_job_names(config.service_name).values())
    try:
        missing = [name for name in names if client.job_config(name=name) is None]
    except JenkinsError as exc:
        return _from_exception("jenkins", title, False, exc, _("Check IXNODE_JENKINS_URL and the API token."))
    if missing:
        return CheckResult("jenkins", title, False, _("Missing: %(names)s") % {"names": ", ".join(missing)},
                           _("Enable the config (or regenerate its artifacts) so the Jenkins jobs are created."))
    return CheckResult("jenkins", title, True, ", ".join(names))


def check_template(*, config: AutoscalingConfig, ctx: DiagnosticsContext) -> CheckResult:
    """The config's template exists in vCenter under its name (what the clone stage clones from)."""
    title = _("Template in vCenter")
    name = config.template.name
    try:
        vcenter = vcenter_client(timeout=ctx.vcenter_timeout) if ctx.vcenter_timeout else vcenter_client()
        found = vcenter.vm_find(name)
    except VCenterConfigError as exc:
        return _from_exception("template", title, None, exc, vcenter_setup_fix(), system="vCenter")
    except VCenterError as exc:
        return _from_exception("template", title, False, exc,
                               _("Check IXNODE_VCENTER_HOST, the credentials and that vCenter answers from this host."),
                               system="vCenter")
    if found is None:
        return CheckResult(
            "template", title, False, _("vCenter has no VM or template named '%(name)s'.") % {"name": name},
            _("Create the template from a prepared VM (Templates page), or choose an existing template."),
        )
    if not found.is_template:
        return CheckResult("template", title, True,
                           _("'%(name)s' is a VM, not a template, at %(path)s; clones are taken from it as it is "
                             "now.") % {"name": name, "path": found.path})
    return CheckResult("template", title, True, _("Template '%(name)s' at %(path)s.")
                       % {"name": name, "path": found.path})


def check_ssh_key(*, config: AutoscalingConfig, ctx: DiagnosticsContext) -> CheckResult:
    """The SSH private key the network stage logs in with: set, a regular file of ours, mode 600/400, loadable."""
    title = _("SSH key readable (mode 600)")
    needed = config.network_mode == NetworkMode.SSH_NETPLAN
    if not config.ssh_key_path and not needed:
        return CheckResult("ssh_key", title, True,
                           _("Not needed: vSphere guest customization sets the new VMs' network."))
    fix = (_("Put the private key the VMs' %(user)s account accepts on this host, owned by the user the pipelines "
             "run as, with chmod 600, and enter its absolute path in the config's SSH section.")
           % {"user": config.ssh_user})
    if not config.ssh_key_path:
        return CheckResult("ssh_key", title, False,
                           _("No SSH key is set: the network stage logs in to each new VM with it."), fix)
    try:
        ssh_client(host="", user=config.ssh_user, key_path=config.ssh_key_path).check_key()
    except SSHError as exc:
        return CheckResult("ssh_key", title, False, exc.message, fix)
    return CheckResult("ssh_key", title, True, _("%(path)s is readable by this process only and loads.")
                       % {"path": config.ssh_key_path})


def check_prometheus_ready(*, config: AutoscalingConfig, ctx: DiagnosticsContext) -> CheckResult:
    """Prometheus answers, and the service's job — when it is loaded already — has targets, all up. A job that is
    not loaded yet is fine before the first publication (enabling publishes it)."""
    title = _("Prometheus job reachable")
    job = check_prometheus_job(config=config, ctx=ctx)
    if job.ok is None:  # Prometheus itself did not answer: every decision would block on an unknown count
        return replace(job, key="prometheus_ready", title=title, ok=False)
    if job.ok is False:
        if config.artifacts_status == ArtifactStatus.ACTIVE:
            return replace(job, key="prometheus_ready", title=title)
        return CheckResult(
            "prometheus_ready", title, True,
            _("Prometheus answers; the job '%(job)s' is loaded once enabling publishes its scrape config.")
            % {"job": config.prometheus_job_name},
        )
    return replace(check_targets_up(config=config, ctx=ctx), key="prometheus_ready", title=title)


SERVICE_CHECKS: list[Callable[..., CheckResult]] = [
    check_artifacts,
    check_rules_loaded,
    check_alertmanager_route,
    check_webhook,
    check_prometheus_job,
    check_targets_up,
    check_count_bounds,
    check_cooldown,
    check_free_ips,
    check_jenkins_jobs,
    check_f5_pool,
    check_template,
    check_ssh_key,
]


def _run_checks(checks: list[Callable[..., CheckResult]], *, config: AutoscalingConfig,
                ctx: DiagnosticsContext) -> list[CheckResult]:
    """Run ``checks`` in order; a check that crashes reports red with the error."""
    results = []
    for check in checks:
        try:
            results.append(check(config=config, ctx=ctx))
        except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
            name = getattr(check, "__name__", "check").removeprefix("check_")
            results.append(CheckResult(name, name, False, _("The check itself failed."),
                                       _("Report this error: the check itself failed."),
                                       technical=f"{exc.__class__.__name__}: {exc}"))
    return results


def service_diagnostics(*, config: AutoscalingConfig, ctx: DiagnosticsContext | None = None) -> list[CheckResult]:
    """Every check of one service (the diagnostics page)."""
    return _run_checks(SERVICE_CHECKS, config=config, ctx=ctx or DiagnosticsContext())


def webhook_url(config: AutoscalingConfig) -> str:
    return f"{settings.IXNODE_PUBLIC_URL}/api/webhook/autoscale/{config.service_name}"


# --- setup checks (settings an operator turns on once; `make run`'s summary) --------------------------------

def check_webhook_token() -> CheckResult:
    title = _("Webhook token")
    if settings.IXNODE_WEBHOOK_TOKEN:
        return CheckResult("webhook_token", title, True, _("Set: Alertmanager's receivers send it as a bearer token."))
    return CheckResult(
        "webhook_token", title, False,
        _("IXNODE_WEBHOOK_TOKEN is not set: the webhook refuses every Alertmanager call (HTTP 503)."),
        _("Set IXNODE_WEBHOOK_TOKEN to a long random value (python3 -c 'import secrets; "
          "print(secrets.token_urlsafe(32))'), in the environment or in .env."),
    )


def check_publishing() -> CheckResult:
    title = _("Publishing to Prometheus and Alertmanager")
    mode = settings.IXNODE_PLG_MODE
    if mode == "local":
        return CheckResult("publishing", title, True, _("Local files: %(config)s and %(am)s.") % {
            "config": settings.IXNODE_PROMETHEUS_CONFIG, "am": settings.IXNODE_ALERTMANAGER_CONFIG})
    if mode == "ssh":
        if not settings.IXNODE_PLG_SSH_HOST:
            return CheckResult("publishing", title, False, _("IXNODE_PLG_MODE=ssh but IXNODE_PLG_SSH_HOST is empty."),
                               _("Set IXNODE_PLG_SSH_HOST, IXNODE_PLG_SSH_USER and IXNODE_PLG_SSH_KEY."))
        return CheckResult("publishing", title, True,
                           _("Over SSH on %(host)s.") % {"host": settings.IXNODE_PLG_SSH_HOST})
    return CheckResult(
        "publishing", title, False,
        _("IXNODE_PLG_MODE=off: scrape jobs, rules and routes are rendered but not published, so no alert will "
          "ever reach the webhook."),
        _("Set IXNODE_PLG_MODE=local (Prometheus and Alertmanager on this machine) or ssh (a PLG host), and the "
          "IXNODE_PROMETHEUS_* / IXNODE_ALERTMANAGER_* paths."),
    )


def check_public_url() -> CheckResult:
    """IXNODE_PUBLIC_URL reaches this app (the URL written into Alertmanager's receivers and Jenkins' jobs)."""
    title = _("Public URL")
    url = settings.IXNODE_PUBLIC_URL
    try:
        response = requests.get(f"{url}/healthz", timeout=3, allow_redirects=False)
    except requests.RequestException as exc:
        return _from_exception("public_url", title, False, exc,
                               _("Set IXNODE_PUBLIC_URL to the URL at which Alertmanager reaches this server."),
                               system=_("This server"), where=url)
    if response.status_code != 200:
        return CheckResult("public_url", title, False, _("%(url)s/healthz answered HTTP %(code)d.")
                           % {"url": url, "code": response.status_code},
                           _("Set IXNODE_PUBLIC_URL to the URL at which Alertmanager reaches this server."))
    return CheckResult("public_url", title, True, _("%(url)s answers.") % {"url": url})


SETUP_CHECKS: list[Callable[[], CheckResult]] = [check_webhook_token, check_public_url, check_publishing]


SETUP_CACHE_KEY = "ixnode:setup-checks"


def setup_checklist(*, use_cache: bool = False) -> list[CheckResult]:
    """What a first run needs: the setup checks, then every integration's health (fresh unless ``use_cache``: the
    overview shows it on every visit and keeps it as briefly as the integrations' health)."""
    setup = cache.get(_cache_key(SETUP_CACHE_KEY)) if use_cache else None
    if setup is None:
        setup = [check() for check in SETUP_CHECKS]
        cache.set(_cache_key(SETUP_CACHE_KEY), setup, HEALTH_CACHE_SECONDS)
    return setup + integration_health(use_cache=use_cache)


def _setup_check(check: Callable[[], CheckResult]) -> Callable[..., CheckResult]:
    def run(*, config: AutoscalingConfig, ctx: DiagnosticsContext) -> CheckResult:
        return check()

    run.__name__ = check.__name__
    return run


# What "Enable" checks first (the service page's pre-flight): what a first scale-out needs, in the order an
# operator fixes it. ``check_free_ips`` reads the targets ``check_prometheus_ready`` found.
PREFLIGHT_VCENTER_TIMEOUT = 10.0
ENABLE_CHECKS: list[Callable[..., CheckResult]] = [
    check_template,
    check_ssh_key,
    check_prometheus_ready,
    check_free_ips,
    _setup_check(check_publishing),
    _setup_check(check_webhook_token),
]


def config_preflight(*, config: AutoscalingConfig, ctx: DiagnosticsContext | None = None) -> list[CheckResult]:
    """The pre-flight of enabling ``config``: one result per check; ``ok`` not True means enabling now would leave
    something that a scale-out or the alerts need broken (False) or unverified (None)."""
    ctx = ctx or DiagnosticsContext(vcenter_timeout=PREFLIGHT_VCENTER_TIMEOUT)
    return _run_checks(ENABLE_CHECKS, config=config, ctx=ctx)
