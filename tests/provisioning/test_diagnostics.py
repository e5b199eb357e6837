"""Diagnostics per service (the troubleshooting checklist) against real Prometheus and the F5 double; the page
renders them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from provisioning.diagnostics import integration_health, service_diagnostics

pytest_plugins = ["tests.fixtures.prometheus", "tests.fixtures.f5"]
pytestmark = pytest.mark.django_db


def by_key(results):
    return {r.key: r for r in results}


def test_healthy_service_is_green(config, prometheus_server, prometheus_url, f5_settings, f5_double):
    prometheus_server.ensure_counts([3])
    config.prometheus_job_name = prometheus_server.job_with_count(3)
    config.artifacts_status = "active"
    config.save()
    f5_double.add_member("auto-vm-test-pool", "127.0.48.10", 80)
    results = by_key(service_diagnostics(config=config))
    assert results["prometheus_job"].ok is True
    assert results["count_bounds"].ok is True and "3 VMs" in results["count_bounds"].detail
    assert results["cooldown"].ok is True
    assert results["free_ips"].ok is True and "9 free of 9" in results["free_ips"].detail
    assert results["f5_pool"].ok is True and "127.0.48.10" in results["f5_pool"].detail
    # The job's targets are addresses where nothing listens: they are down, and the fix says what to check.
    assert results["targets_up"].ok is False and "port 9100" in results["targets_up"].fix


def test_broken_service_is_red_with_fixes(config, prometheus_url, f5_settings, f5_double):
    from autoscaling.models import CooldownState, IPLease

    config.prometheus_job_name = "job-prometheus-never-loaded"
    config.f5_pool_name = "missing-pool"
    config.save()
    CooldownState.objects.create(config=config, last_scale_out_at=timezone.now() - dt.timedelta(seconds=10))
    for i in range(220, 229):
        IPLease.objects.create(config=config, ip_address=f"127.0.48.{i}")
    results = by_key(service_diagnostics(config=config))
    assert results["artifacts"].ok is False
    assert results["prometheus_job"].ok is False and "reload Prometheus" in results["prometheus_job"].fix
    assert results["cooldown"].ok is False and "scale-out 29" in results["cooldown"].detail
    assert results["free_ips"].ok is False and "Widen the IP pool" in results["free_ips"].fix
    assert results["f5_pool"].ok is False and "missing-pool" in results["f5_pool"].detail


def test_unconfigured_and_unreachable_systems(config, settings):
    from tests.fixtures.prometheus import free_port

    settings.IXNODE_PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    settings.IXNODE_F5_HOST = ""
    results = by_key(service_diagnostics(config=config))
    assert results["prometheus_job"].ok is None and "is not reachable" in results["prometheus_job"].detail
    assert results["count_bounds"].ok is None
    assert results["f5_pool"].ok is None and "IXNODE_F5_HOST" in results["f5_pool"].fix  # the setting to change
    assert results["f5_pool"].detail == "F5 BIG-IP is not configured."
    assert "IXNODE_F5_HOST" in results["f5_pool"].technical
    health = by_key(integration_health(use_cache=False))
    assert health["prometheus"].ok is False and health["f5"].ok is None


@pytest.mark.parametrize(("host", "password", "english", "korean"), [
    ("https://192.0.2.10", "pw", "IXNODE_F5_HOST is not configured correctly (it starts with a scheme)",
     "IXNODE_F5_HOST 설정이 올바르지 않습니다(스킴(scheme)으로 시작합니다)"),
    ("[bad", "pw", "IXNODE_F5_HOST is not configured correctly (InvalidURL", "IXNODE_F5_HOST 설정이 올바르지 않습니다"),
    ("127.0.0.1:1", "비밀번호", "IXNODE_F5_USER or IXNODE_F5_PASSWORD is not configured correctly",
     "IXNODE_F5_USER 또는 IXNODE_F5_PASSWORD 설정이 올바르지 않습니다"),
])
def test_f5_settings_set_but_unusable_fail(config, settings, operator_client, host, password, english, korean):
    """Settings that are set, to something the client cannot use, are a failure to fix (red), not a check that could
    not run for want of settings (grey, as when they are unset); the page says why, in the reader's language."""
    from tests.fixtures.prometheus import free_port

    settings.IXNODE_PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    settings.IXNODE_F5_HOST, settings.IXNODE_F5_USER, settings.IXNODE_F5_PASSWORD = host, "admin", password
    results = by_key(service_diagnostics(config=config))
    assert results["f5_pool"].ok is False and english in results["f5_pool"].detail
    assert "IXNODE_F5_HOST" in results["f5_pool"].fix
    health = by_key(integration_health(use_cache=False))
    assert health["f5"].ok is False and english in health["f5"].detail
    cache.clear()
    body = operator_client.get(reverse("autoscaling:service-diagnostics", args=[config.service_name]),
                               HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert 'data-check="f5_pool" data-state="bad"' in body and 'data-integration="f5" data-state="bad"' in body
    check = body.split('data-check="f5_pool"')[1].split("</li>")[0]
    assert korean in check and english in check.split('class="technical"')[1], check


def test_diagnostics_page(operator_client, config, prometheus_url, f5_settings):
    cache.clear()
    response = operator_client.get(reverse("autoscaling:service-diagnostics", args=[config.service_name]))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-check="prometheus_job" data-state="bad"' in body
    assert 'data-check="cooldown" data-state="ok"' in body
    assert "Fix:" in body


@pytest.fixture
def jenkins(settings):
    from tests.doubles.jenkins import JenkinsDouble

    double = JenkinsDouble().start()
    settings.IXNODE_JENKINS_URL = double.url.rstrip("/")
    settings.IXNODE_JENKINS_USER = double.user
    settings.IXNODE_JENKINS_TOKEN = double.token
    yield double
    double.stop()


def test_jenkins_health_and_jobs(config, jenkins, settings):
    from artifacts.renderers.jenkins import jenkins_job_names
    from ixnode.integrations.jenkins.client import jenkins_client
    from provisioning.diagnostics import DiagnosticsContext, check_jenkins_jobs, health_jenkins

    assert health_jenkins().ok is True
    missing = check_jenkins_jobs(config=config, ctx=DiagnosticsContext())
    assert missing.ok is False and "ixnode-auto-vm-test-scale-out" in missing.detail
    client = jenkins_client()
    for name in jenkins_job_names(config.service_name).values():
        client.job_upsert(name=name, config_xml="<project><description>x</description></project>")
    assert check_jenkins_jobs(config=config, ctx=DiagnosticsContext()).ok is True
    settings.IXNODE_JENKINS_TOKEN = "wrong"
    assert health_jenkins().ok is False


def test_free_ips_counts_like_allocation_and_credits_the_warm_pool(config, settings):
    """A pool address the job already scrapes (a VM someone added by hand) is not free, as allocation sees it;
    warm-pool VMs bring their own addresses, so they lower the headroom the check asks for."""
    from autoscaling.models import IPLease, ManagedVM
    from ixnode.integrations.prometheus.client import Target
    from provisioning.diagnostics import DiagnosticsContext, check_free_ips

    settings.IXNODE_VCENTER_HOST = ""
    job = config.prometheus_job_name
    targets = [Target(instance=f"127.0.48.{n}:9100", job=job, scrape_pool=job, health="up") for n in (10, 220)]
    for n in range(221, 227):
        IPLease.objects.create(config=config, ip_address=f"127.0.48.{n}")
    ctx = DiagnosticsContext(targets=targets)
    result = check_free_ips(config=config, ctx=ctx)  # 9 − 6 leased − 1 scraped = 2 free; max 4 − 2 VMs = 2 needed
    assert result.ok is True and result.detail.startswith("2 free of 9"), result.detail

    IPLease.objects.create(config=config, ip_address="127.0.48.227")
    result = check_free_ips(config=config, ctx=ctx)
    assert result.ok is False and "1 free of 9, fewer than the 2 VMs" in result.detail

    ManagedVM.objects.create(config=config, name=f"{config.vm_prefix}-20250101000000", ip_address="127.0.48.226",
                             state="warm")
    assert check_free_ips(config=config, ctx=ctx).ok is True  # the warm VM covers one of the two


def test_the_summary_counts_checks_that_could_not_run():
    from provisioning.diagnostics import CheckResult, checks_summary

    results = [CheckResult("a", "A", True, ""), CheckResult("b", "B", False, ""), CheckResult("c", "C", None, ""),
               CheckResult("d", "D", None, "")]
    assert checks_summary(results) == {"ok": 1, "failed": 1, "not_run": 2, "total": 4}


def test_the_setup_checks_are_cached_per_language(settings):
    from django.core.cache import cache
    from django.utils import translation

    from provisioning.diagnostics import setup_checklist

    settings.IXNODE_WEBHOOK_TOKEN = ""
    settings.IXNODE_PROMETHEUS_URL = settings.IXNODE_ALERTMANAGER_URL = "http://127.0.0.1:9"
    settings.IXNODE_VCENTER_HOST = settings.IXNODE_F5_HOST = settings.IXNODE_JENKINS_URL = ""
    cache.clear()
    with translation.override("en"):
        english = {r.key: r.detail for r in setup_checklist(use_cache=True)}
    with translation.override("ko"):
        korean = {r.key: r.detail for r in setup_checklist(use_cache=True)}
    assert "is not set" in english["webhook_token"] and "IXNODE_WEBHOOK_TOKEN" in korean["webhook_token"]
    assert english["prometheus"] != korean["prometheus"] and "연결할 수 없습니다" in korean["prometheus"]
