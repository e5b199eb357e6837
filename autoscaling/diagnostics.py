"""Diagnostics: the seed's troubleshooting list (§11.3) run automatically, and the integrations' health.

Each check is a function ``check_<what>(*, config, ctx) -> CheckResult`` that talks to the real system
through the project's integration client for it, and answers green/red with the fix an operator applies.
``ok=None`` means the check could not run (its prerequisite failed or the system is not configured).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from autoscaling.choices import ArtifactStatus
from autoscaling.models import AutoscalingConfig

HEALTH_CACHE_KEY = "ixnode:integration-health"
HEALTH_CACHE_SECONDS = 30


@dataclass(frozen=True)
class CheckResult:
    """One green/red line: what was checked, what was seen, and what to do when red."""

    key: str
    title: str
    ok: bool | None
    detail: str
    fix: str = ""

    @property
    def state(self) -> str:
        return {True: "ok", False: "bad", None: "unknown"}[self.ok]


@dataclass
class DiagnosticsContext:
    """Clients and facts shared by the checks of one run (each system is asked once)."""

    prometheus: Any = None
    facts: dict[str, Any] = field(default_factory=dict)


def _prometheus_client() -> Any:
    from ixnode.integrations.prometheus.client import get_client

    return get_client()


# --- integration health (overview row) -----------------------------------------------------------------

def health_prometheus() -> CheckResult:
    from ixnode.integrations.prometheus.client import PrometheusError

    title = "Prometheus"
    try:
        jobs = _prometheus_client().job_names()
    except PrometheusError as exc:
        return CheckResult("prometheus", title, False, str(exc), _("Check PROMETHEUS_URL and that Prometheus runs."))
    return CheckResult("prometheus", title, True, _("%(count)d scrape jobs loaded") % {"count": len(jobs)})


def health_vcenter() -> CheckResult:
    from ixnode.integrations.vcenter.client import vcenter_client
    from ixnode.integrations.vcenter.exceptions import VCenterConfigError, VCenterError

    title = "vCenter"
    try:
        about = vcenter_client().about()
    except VCenterConfigError as exc:
        return CheckResult("vcenter", title, None, str(exc), _("Set the VCENTER_* settings."))
    except VCenterError as exc:
        return CheckResult("vcenter", title, False, str(exc), _("Check VCENTER_HOST, the credentials and TLS pin."))
    return CheckResult("vcenter", title, True, f"{about['name']}")


def health_f5() -> CheckResult:
    from ixnode.integrations.f5.client import F5Client, F5ConfigurationError, F5Error, F5NotFound

    title = "F5 BIG-IP"
    try:
        client = F5Client.from_settings()
        pool = AutoscalingConfig.objects.values_list("f5_pool_name", flat=True).first() or "ixnode-health-probe"
        client.check_pool(pool=pool)
    except F5ConfigurationError as exc:
        return CheckResult("f5", title, None, str(exc), _("Set F5_HOST, F5_USER and F5_PASSWORD."))
    except F5NotFound:
        return CheckResult("f5", title, True, _("Logged in (a pool is missing: see the service's diagnostics)."))
    except F5Error as exc:
        return CheckResult("f5", title, False, str(exc), _("Check F5_HOST, the credentials and F5_VERIFY_TLS."))
    return CheckResult("f5", title, True, _("Logged in, pool readable."))


HEALTH_PROBES: list[Callable[[], CheckResult]] = [health_prometheus, health_vcenter, health_f5]


def integration_health(*, use_cache: bool = True) -> list[CheckResult]:
    """Reachability of every external system (cached briefly: the overview is opened all day)."""
    if use_cache:
        cached = cache.get(HEALTH_CACHE_KEY)
        if cached is not None:
            return cached
    results = [probe() for probe in HEALTH_PROBES]
    cache.set(HEALTH_CACHE_KEY, results, HEALTH_CACHE_SECONDS)
    down = [r for r in results if r.ok is False]
    if down:
        from django_q.tasks import async_task

        for result in down:  # de-duplicated by the notification service (one per system and window)
            async_task("notifications.tasks.notification_send_integration_down", result.key,
                       f"{result.title}: {result.detail}", group="notifications")
    return results


# --- per-service checks (seed §11.3) --------------------------------------------------------------------

def check_artifacts(*, config: AutoscalingConfig, ctx: DiagnosticsContext) -> CheckResult:
    title = _("Generated artifacts published")
    if config.artifacts_status == ArtifactStatus.ACTIVE:
        when = timezone.localtime(config.artifacts_published_at) if config.artifacts_published_at else None
        return CheckResult("artifacts", title, True, _("Active since %(when)s") % {"when": when or "–"})
    if not config.enabled:
        return CheckResult(
            "artifacts", title, False, _("The config is disabled: no scrape job, rules or route are published."),
            _("Enable the config in the admin to publish its Prometheus, Alertmanager and Jenkins artifacts."),
        )
    return CheckResult(
        "artifacts", title, False,
        _("Status %(status)s. %(error)s") % {"status": config.get_artifacts_status_display(),
                                             "error": config.artifacts_error},
        _("Fix the error shown, then save the config again to regenerate its artifacts."),
    )


def check_prometheus_job(*, config: AutoscalingConfig, ctx: DiagnosticsContext) -> CheckResult:
    from ixnode.integrations.prometheus.client import PrometheusError

    title = _("Scrape job loaded in Prometheus")
    job = config.prometheus_job_name
    try:
        jobs = ctx.prometheus.job_names()
    except PrometheusError as exc:
        return CheckResult("prometheus_job", title, None, str(exc), _("Check PROMETHEUS_URL and that Prometheus runs."))
    ctx.facts["prometheus_jobs"] = jobs
    if job in jobs:
        return CheckResult("prometheus_job", title, True, _("Job '%(job)s' is loaded.") % {"job": job})
    return CheckResult(
        "prometheus_job", title, False, _("Prometheus has no job '%(job)s'.") % {"job": job},
        _("Check the Prometheus job name, that the generated scrape config is included in prometheus.yml, "
          "and reload Prometheus (POST /-/reload)."),
    )


def check_targets_up(*, config: AutoscalingConfig, ctx: DiagnosticsContext) -> CheckResult:
    from ixnode.integrations.prometheus.client import PrometheusError

    title = _("Targets up")
    try:
        targets = ctx.prometheus.targets(config.prometheus_job_name)
    except PrometheusError as exc:
        return CheckResult("targets_up", title, None, str(exc), _("Check PROMETHEUS_URL and that Prometheus runs."))
    ctx.facts["targets"] = targets
    down = [t for t in targets if t.health != "up"]
    if not targets:
        return CheckResult(
            "targets_up", title, False, _("The job has no targets."),
            _("Install Node Exporter on the service's VMs (Exporters page) so they are registered."),
        )
    if down:
        names = ", ".join(f"{t.instance} ({t.last_error or t.health})" for t in down)
        return CheckResult(
            "targets_up", title, False, _("%(down)d of %(total)d targets are down: %(names)s")
            % {"down": len(down), "total": len(targets), "names": names},
            _("Check the VM is running, that node_exporter listens on port %(port)d and the firewall allows it.")
            % {"port": config.node_exporter_port},
        )
    return CheckResult("targets_up", title, True, _("All %(total)d targets are up.") % {"total": len(targets)})


def check_count_bounds(*, config: AutoscalingConfig, ctx: DiagnosticsContext) -> CheckResult:
    title = _("VM count within min/max")
    targets = ctx.facts.get("targets")
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
    from autoscaling.views.selectors import cooldown_remaining

    title = _("Cooldown")
    state = getattr(config, "cooldown", None)
    now = timezone.now()
    out_left = cooldown_remaining(last_at=state and state.last_scale_out_at, cooldown_seconds=config.cooldown_seconds,
                                  now=now)
    in_left = cooldown_remaining(last_at=state and state.last_scale_in_at, cooldown_seconds=config.cooldown_seconds,
                                 now=now)
    if out_left or in_left:
        return CheckResult(
            "cooldown", title, False,
            _("In cooldown: scale-out %(out)d s, scale-in %(in)d s left.") % {"out": out_left, "in": in_left},
            _("Wait for the cooldown to end, or shorten the cooldown (seconds) in the config."),
        )
    return CheckResult("cooldown", title, True, _("No cooldown running (%(s)d s after each run).")
                       % {"s": config.cooldown_seconds})


def check_free_ips(*, config: AutoscalingConfig, ctx: DiagnosticsContext) -> CheckResult:
    title = _("Free IP addresses in the pool")
    from autoscaling.selectors import ip_pool_free_count

    start, end = ipaddress.ip_address(config.ip_pool_start), ipaddress.ip_address(config.ip_pool_end)
    size = int(end) - int(start) + 1
    free = ip_pool_free_count(config=config)
    targets = ctx.facts.get("targets")
    headroom = max(0, config.max_vms - len(targets)) if targets is not None else config.max_vms - config.min_vms
    values = {"free": free, "size": size, "need": headroom}
    if free == 0:
        return CheckResult("free_ips", title, False, _("No free address left (%(size)d in the pool).") % values,
                           _("Widen the IP pool range or release leases of deleted VMs."))
    if free < headroom:
        return CheckResult("free_ips", title, False,
                           _("%(free)d free of %(size)d, fewer than the %(need)d VMs scale-out may add.") % values,
                           _("Widen the IP pool range so it covers max − current VMs."))
    return CheckResult("free_ips", title, True, _("%(free)d free of %(size)d.") % values)


def check_f5_pool(*, config: AutoscalingConfig, ctx: DiagnosticsContext) -> CheckResult:
    from ixnode.integrations.f5.client import F5Client, F5ConfigurationError, F5Error

    title = _("F5 pool reachable with its members")
    try:
        members = F5Client.from_settings().list_members(pool=config.f5_pool_name)
    except F5ConfigurationError as exc:
        return CheckResult("f5_pool", title, None, str(exc), _("Set F5_HOST, F5_USER and F5_PASSWORD."))
    except F5Error as exc:
        return CheckResult("f5_pool", title, False, str(exc),
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


SERVICE_CHECKS: list[Callable[..., CheckResult]] = [
    check_artifacts,
    check_prometheus_job,
    check_targets_up,
    check_count_bounds,
    check_cooldown,
    check_free_ips,
    check_f5_pool,
]


def service_diagnostics(*, config: AutoscalingConfig, ctx: DiagnosticsContext | None = None) -> list[CheckResult]:
    """Run every check, in order, for one service; a check that crashes reports red with the error."""
    ctx = ctx or DiagnosticsContext(prometheus=_prometheus_client())
    results = []
    for check in SERVICE_CHECKS:
        try:
            results.append(check(config=config, ctx=ctx))
        except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
            name = getattr(check, "__name__", "check").removeprefix("check_")
            results.append(CheckResult(name, name, False, f"{exc.__class__.__name__}: {exc}",
                                       str(gettext_lazy("Report this error: the check itself failed."))))
    return results


def webhook_url(config: AutoscalingConfig) -> str:
    return f"{settings.IXNODE_PUBLIC_URL}/api/webhook/autoscale/{config.service_name}"
