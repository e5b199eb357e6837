"""The Enable pre-flight: template in vCenter (vcsim), SSH key file and mode, Prometheus (real), free addresses,
publishing, webhook token — refused with what fails, enabled when it passes or when the operator acknowledged
exactly the failing checks (recorded in the change history)."""

from __future__ import annotations

import subprocess

import pytest
from django.urls import reverse

from autoscaling.models import AutoscalingConfig
from provisioning.diagnostics import config_preflight
from provisioning.services import config_enable

pytest_plugins = ["tests.fixtures.vcsim", "tests.fixtures.prometheus", "tests.fixtures.config_pages"]
pytestmark = pytest.mark.django_db


def by_key(results):
    return {r.key: r for r in results}


@pytest.fixture
def ssh_key(tmp_path):
    path = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    path.chmod(0o600)
    return path


@pytest.fixture
def disabled(config):
    config.enabled = False
    config.save()
    return config


@pytest.fixture
def ready(disabled, ssh_key, vcenter_settings, prometheus_url, settings, tmp_path):
    """Everything a first scale-out needs: vcsim has the template, the key is 600, Prometheus answers, publishing
    is local, the webhook token is set."""
    settings.IXNODE_PLG_MODE = "local"
    settings.IXNODE_WEBHOOK_TOKEN = "preflight-token"
    disabled.ssh_key_path = str(ssh_key)
    disabled.prometheus_job_name = "preflight-job-not-published-yet"
    disabled.save()
    return disabled


def test_preflight_passes_when_everything_is_there(ready):
    results = by_key(config_preflight(config=ready))
    assert list(results) == ["template", "ssh_key", "prometheus_ready", "free_ips", "publishing", "webhook_token"]
    assert all(r.ok is True for r in results.values()), {k: r.detail for k, r in results.items() if not r.ok}
    assert "ubuntu-22.04-golden" in results["template"].detail
    assert "loaded once enabling publishes" in results["prometheus_ready"].detail
    outcome = config_enable(config=ready)
    assert outcome.enabled and not outcome.failed
    ready.refresh_from_db()
    assert ready.enabled is True
    assert not ready.history.first().history_change_reason


def test_preflight_says_what_fails(disabled, settings, ssh_key, vcenter_settings, tmp_path):
    from tests.fixtures.prometheus import free_port

    settings.IXNODE_PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    settings.IXNODE_PLG_MODE = "off"
    settings.IXNODE_WEBHOOK_TOKEN = ""
    ssh_key.chmod(0o644)
    disabled.ssh_key_path = str(ssh_key)
    disabled.template.name = "no-such-template"
    disabled.template.save()
    results = by_key(config_preflight(config=disabled))
    assert results["template"].ok is False and "no-such-template" in results["template"].detail
    assert results["ssh_key"].ok is False and "chmod 600" in results["ssh_key"].detail
    assert results["prometheus_ready"].ok is False and "not reachable" in results["prometheus_ready"].detail
    assert results["publishing"].ok is False and "IXNODE_PLG_MODE" in results["publishing"].fix
    assert results["webhook_token"].ok is False
    assert all(results[k].fix for k in ("template", "ssh_key", "prometheus_ready", "publishing", "webhook_token"))
    outcome = config_enable(config=disabled)
    assert not outcome.enabled
    disabled.refresh_from_db()
    assert disabled.enabled is False


def test_unconfigured_vcenter_and_missing_key(disabled, settings):
    settings.IXNODE_VCENTER_HOST = ""
    disabled.ssh_key_path = ""
    results = by_key(config_preflight(config=disabled))
    assert results["template"].ok is None
    # the settings by their names (not the old VCENTER_* ones, renamed IXNODE_VCENTER_*)
    assert results["template"].fix == ("Set IXNODE_VCENTER_HOST, IXNODE_VCENTER_USER and IXNODE_VCENTER_PASSWORD (and "
                                       "IXNODE_VCENTER_DATACENTER when vCenter has several).")
    assert results["ssh_key"].ok is False and "No SSH key is set" in results["ssh_key"].detail
    disabled.network_mode = "guest_customization"
    assert by_key(config_preflight(config=disabled))["ssh_key"].ok is True  # not needed then


def test_acknowledging_exactly_the_failures_enables_and_is_recorded(disabled, settings):
    settings.IXNODE_VCENTER_HOST = ""
    settings.IXNODE_PLG_MODE = "off"
    disabled.ssh_key_path = ""
    failing = {r.key for r in config_preflight(config=disabled) if r.ok is not True}
    assert {"template", "ssh_key", "publishing"} <= failing
    partial = config_enable(config=disabled, acknowledged=sorted(failing - {"ssh_key"}))
    assert not partial.enabled
    outcome = config_enable(config=disabled, acknowledged=sorted(failing))
    assert outcome.enabled
    disabled.refresh_from_db()
    assert disabled.enabled is True
    reason = disabled.history.first().history_change_reason
    assert reason.startswith("enabled despite pre-flight: ") and "ssh_key" in reason and "template" in reason


def test_an_invalid_config_is_never_enabled(disabled, settings):
    AutoscalingConfig.objects.filter(pk=disabled.pk).update(gateway="127.0.48.225")  # inside the pool
    disabled.refresh_from_db()
    settings.IXNODE_VCENTER_HOST = ""
    failing = [r.key for r in config_preflight(config=disabled) if r.ok is not True]
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        config_enable(config=disabled, acknowledged=failing)
    disabled.refresh_from_db()
    assert disabled.enabled is False


def test_enable_page_refuses_then_enables_on_confirmation(engineer_client, operator_client, disabled, settings):
    settings.IXNODE_VCENTER_HOST = ""
    settings.IXNODE_PLG_MODE = "off"
    disabled.ssh_key_path = ""
    disabled.save()
    url = reverse("autoscaling:config-enable", args=[disabled.service_name])
    assert operator_client.get(url).status_code == 200  # the view permission may look
    assert operator_client.post(url).status_code == 403  # but not enable
    preview = engineer_client.get(url)
    assert preview.status_code == 200
    refused = engineer_client.post(url)
    assert refused.status_code == 409
    body = refused.content.decode()
    assert 'data-verdict="fail"' in body and 'data-check="ssh_key" data-state="bad"' in body
    assert 'id="confirm-failures"' in body and "Fix:" in body
    disabled.refresh_from_db()
    assert disabled.enabled is False
    keys = [r.key for r in refused.context["failed"]]
    without_confirm = engineer_client.post(url, {"acknowledge": keys})
    assert without_confirm.status_code == 409  # the box must be ticked
    enabled = engineer_client.post(url, {"acknowledge": keys, "confirm": "1"}, follow=True)
    assert enabled.redirect_chain[-1][0] == reverse("autoscaling:service", args=[disabled.service_name])
    assert "enabled despite" in enabled.content.decode()
    disabled.refresh_from_db()
    assert disabled.enabled is True


def test_disable(engineer_client, config):
    response = engineer_client.post(reverse("autoscaling:config-disable", args=[config.service_name]))
    assert response.status_code == 302
    config.refresh_from_db()
    assert config.enabled is False
