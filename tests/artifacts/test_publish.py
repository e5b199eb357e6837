"""Publishing to the PLG host, locally and over SSH/SFTP (real sshd), validated by the real promtool/amtool."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from artifacts.services import artifacts_deployed, artifacts_regenerate
from autoscaling.choices import ArtifactStatus
from autoscaling.models import AutoscalingConfig
from tests.fixtures.plg import OPERATOR_ALERTMANAGER_YML, OPERATOR_PROMETHEUS_YML, make_plg_files, point_settings_at

pytest_plugins = ["tests.fixtures.plg", "tests.fixtures.sshd"]


def publish(config) -> AutoscalingConfig:
    outcome = artifacts_regenerate(service_name=config.service_name, config_id=config.pk)
    config.refresh_from_db()
    config.outcome = outcome
    return config


def live_state(files):
    return {name: data for name, data in files.read().items() if not name.endswith(".ixnode-bak")}


def test_publish_update_disable_delete(db, plg_files, config):
    config = publish(config)
    assert config.artifacts_status == ArtifactStatus.ACTIVE, config.artifacts_error
    assert config.artifacts_error == "" and len(config.artifacts_hash) == 64 and config.artifacts_published_at
    assert "Jenkins" not in config.outcome.error and config.outcome.jenkins.startswith("skipped")
    prom = yaml.safe_load(plg_files.prometheus_yml.read_text())
    assert prom["scrape_configs"][-1] == {
        "job_name": "auto-vm-test-service",
        "file_sd_configs": [{"files": [str(plg_files.targets_dir / "ixnode-auto-vm-test.json")]}],
    }
    assert str(plg_files.rules_dir / "ixnode-*.rules.yml") in prom["rule_files"]
    am = yaml.safe_load(plg_files.alertmanager_yml.read_text())
    assert am["route"]["routes"][0]["receiver"] == "ixnode-auto-vm-test"
    assert am["receivers"][-1]["webhook_configs"][0]["http_config"]["authorization"]["credentials"] == (
        "test-webhook-token"
    )
    assert (plg_files.rules_dir / "ixnode-auto-vm-test.rules.yml").exists()
    assert (plg_files.targets_dir / "ixnode-auto-vm-test.json").read_text().startswith("[")
    assert (plg_files.root / "prometheus.yml.ixnode-bak").read_text() == OPERATOR_PROMETHEUS_YML
    assert (plg_files.root / "alertmanager.yml.ixnode-bak").read_text() == OPERATOR_ALERTMANAGER_YML

    before = live_state(plg_files)
    again = publish(config)
    assert again.outcome.plg == "up to date" and again.outcome.changed_files == []
    assert live_state(plg_files) == before

    config.scale_out_cpu_threshold = 91
    config.save()
    config = publish(config)
    assert config.outcome.changed_files == [str(plg_files.rules_dir / "ixnode-auto-vm-test.rules.yml")]
    assert "> 91" in (plg_files.rules_dir / "ixnode-auto-vm-test.rules.yml").read_text()

    config.enabled = False
    config.save()
    config = publish(config)
    assert config.artifacts_status == ArtifactStatus.REMOVED and config.artifacts_hash == ""
    assert not (plg_files.rules_dir / "ixnode-auto-vm-test.rules.yml").exists()
    assert "ixnode-auto-vm-test" not in plg_files.alertmanager_yml.read_text()
    assert plg_files.alertmanager_yml.read_text() == OPERATOR_ALERTMANAGER_YML
    assert "auto-vm-test-service" not in plg_files.prometheus_yml.read_text()
    assert plg_files.prometheus_yml.read_text() == OPERATOR_PROMETHEUS_YML, "the rule_files entry goes with the job"
    assert (plg_files.targets_dir / "ixnode-auto-vm-test.json").exists(), "a disabled service keeps its targets"

    service, pk = config.service_name, config.pk
    config.delete()
    outcome = artifacts_regenerate(service_name=service, config_id=pk)
    assert outcome.status == ArtifactStatus.REMOVED and not outcome.errors
    assert not (plg_files.targets_dir / "ixnode-auto-vm-test.json").exists()


def test_rename_removes_the_old_names_items(db, plg_files, config):
    publish(config)
    config.service_name = "auto-vm-renamed"
    config.save()
    config = publish(config)
    assert config.artifacts_status == ArtifactStatus.ACTIVE, config.artifacts_error
    assert not (plg_files.rules_dir / "ixnode-auto-vm-test.rules.yml").exists()
    assert (plg_files.rules_dir / "ixnode-auto-vm-renamed.rules.yml").exists()
    text = plg_files.alertmanager_yml.read_text()
    assert "ixnode-auto-vm-test" not in text and "ixnode-auto-vm-renamed" in text


def test_broken_live_prometheus_yml_is_left_byte_for_byte(db, plg_files, config):
    plg_files.prometheus_yml.write_text(OPERATOR_PROMETHEUS_YML + "scrape_configs: [\n")
    before = plg_files.read()
    config = publish(config)
    assert config.artifacts_status == ArtifactStatus.ERROR
    assert "not valid YAML" in config.artifacts_error
    assert plg_files.read() == before


FLOW_PROMETHEUS_YML = """\
global: {scrape_interval: 15s}  # flow style, as some operators write it
rule_files: ['operator-rules/*.yml']
scrape_configs: [{job_name: prometheus, static_configs: [{targets: ['127.0.0.1:9090']}]}]
"""
FLOW_ALERTMANAGER_YML = """\
route: {receiver: ops, routes: [{matchers: ['team="db"'], receiver: ops}]}  # flow routes
receivers: [{name: ops}]
"""


def test_flow_style_live_files_are_published_and_given_back(db, tmp_path, settings, config):
    files = make_plg_files(tmp_path / "flow", FLOW_PROMETHEUS_YML, FLOW_ALERTMANAGER_YML)
    point_settings_at(settings, files)
    settings.VAR_DIR = tmp_path / "var"
    config = publish(config)
    assert config.artifacts_status == ArtifactStatus.ACTIVE, config.artifacts_error  # promtool/amtool passed
    prom = yaml.safe_load(files.prometheus_yml.read_text())
    assert prom["rule_files"] == ["operator-rules/*.yml", str(files.rules_dir / "ixnode-*.rules.yml")]
    assert [j["job_name"] for j in prom["scrape_configs"]] == ["prometheus", "auto-vm-test-service"]
    am = yaml.safe_load(files.alertmanager_yml.read_text())
    assert [r["receiver"] for r in am["route"]["routes"]] == ["ixnode-auto-vm-test", "ops"]
    assert "# flow routes" in files.alertmanager_yml.read_text()

    config.enabled = False
    config.save()
    config = publish(config)
    assert config.artifacts_status == ArtifactStatus.REMOVED, config.artifacts_error
    assert files.prometheus_yml.read_text() == FLOW_PROMETHEUS_YML
    assert files.alertmanager_yml.read_text() == FLOW_ALERTMANAGER_YML


@pytest.mark.parametrize(
    ("prometheus_yml", "message"),
    [
        (OPERATOR_PROMETHEUS_YML + "global: {}\n", "the key 'global' is set twice"),
        ("- a\n- b\n", "mapping at the top level"),
        ("scrape_configs: {job_name: x}\n", "'scrape_configs' must be a list"),
    ],
    ids=["duplicate-key", "not-a-mapping", "not-a-list"],
)
def test_hostile_live_prometheus_yml_is_left_byte_for_byte(db, plg_files, config, prometheus_yml, message):
    plg_files.prometheus_yml.write_text(prometheus_yml)
    before = plg_files.read()
    config = publish(config)
    assert config.artifacts_status == ArtifactStatus.ERROR
    assert message in config.artifacts_error
    assert plg_files.read() == before


def test_live_alertmanager_yml_failing_amtool_is_left_byte_for_byte(db, plg_files, config):
    # Valid YAML, but the route names a receiver that does not exist: amtool refuses the merged file.
    plg_files.alertmanager_yml.write_text(OPERATOR_ALERTMANAGER_YML.replace("receiver: dba", "receiver: nobody"))
    before = plg_files.read()
    config = publish(config)
    assert config.artifacts_status == ArtifactStatus.ERROR
    assert "amtool check-config rejected" in config.artifacts_error and "nobody" in config.artifacts_error
    assert plg_files.read() == before, "nothing may be replaced when any file fails validation"


def test_rendered_rules_failing_promtool_change_nothing(db, plg_files, config, settings):
    settings.IXNODE_PROMETHEUS_RATE_WINDOW = "5x"  # not a Prometheus duration: promtool check rules fails
    before = plg_files.read()
    config = publish(config)
    assert config.artifacts_status == ArtifactStatus.ERROR
    assert "promtool check rules rejected" in config.artifacts_error
    assert plg_files.read() == before


def test_failed_reload_restores_previous_files(db, plg_files, config, settings):
    publish(config)
    before = live_state(plg_files)
    settings.IXNODE_ALERTMANAGER_RELOAD_COMMAND = "sh -c 'echo reload-broke >&2; exit 3'"
    config.alert_repeat_interval_seconds = 600
    config.scale_in_cpu_threshold = 20
    config.save()
    config = publish(config)
    assert config.artifacts_status == ArtifactStatus.ERROR
    assert "reload-broke" in config.artifacts_error and "restored" in config.artifacts_error
    assert live_state(plg_files) == before


def test_reload_over_http_reports_unreachable(db, plg_files, config, settings):
    settings.IXNODE_PROMETHEUS_RELOAD_COMMAND = ""
    settings.IXNODE_PROMETHEUS_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    config = publish(config)
    assert config.artifacts_status == ArtifactStatus.ERROR
    assert "not reachable for reload" in config.artifacts_error
    assert plg_files.prometheus_yml.read_text() == OPERATOR_PROMETHEUS_YML


def test_missing_live_file_is_an_error(db, plg_files, config):
    plg_files.prometheus_yml.unlink()
    config = publish(config)
    assert config.artifacts_status == ArtifactStatus.ERROR
    assert "IXNODE_PROMETHEUS_CONFIG" in config.artifacts_error


def test_plg_mode_off_renders_but_does_not_publish(db, plg_files, config, settings):
    settings.IXNODE_PLG_MODE = "off"
    before = plg_files.read()
    config = publish(config)
    assert config.artifacts_status == ArtifactStatus.PENDING and config.outcome.plg.startswith("skipped")
    assert plg_files.read() == before


def test_plg_mode_off_is_shown_as_publishing_off(db, plg_files, config, settings, admin_client):
    from django.urls import reverse

    from provisioning.diagnostics import DiagnosticsContext, check_artifacts

    settings.IXNODE_PLG_MODE = "off"
    config = publish(config)
    assert config.artifacts_status == ArtifactStatus.PENDING
    shown = "Not published – publishing is off"
    assert config.artifacts_status_text == shown
    # One wording everywhere: the service page, the overview, the admin list and the diagnostics.
    assert shown in admin_client.get(reverse("autoscaling:service", args=[config.service_name])).content.decode()
    assert shown in admin_client.get(reverse("autoscaling:overview")).content.decode()
    assert shown in admin_client.get(reverse("admin:autoscaling_autoscalingconfig_changelist")).content.decode()
    check = check_artifacts(config=config, ctx=DiagnosticsContext())
    assert not check.ok and "Publishing is off" in check.detail and "IXNODE_PLG_MODE=local" in check.fix


    settings.IXNODE_PLG_MODE = "local"  # the same pending status while publishing is on reads plainly
    assert config.artifacts_status_text == "Pending"

    settings.IXNODE_PLG_MODE = "off"
    config.enabled = False  # disabled: "removed", though publishing off never touched the PLG host: same words
    config.save()
    config = publish(config)
    assert config.artifacts_status == ArtifactStatus.REMOVED and config.artifacts_status_text == shown
    assert shown in admin_client.get(reverse("admin:autoscaling_autoscalingconfig_changelist")).content.decode()


def test_plg_mode_defaults_to_off_so_a_local_instance_never_writes_system_files(tmp_path):
    """`make run` without IXNODE_PLG_MODE must not publish into /etc/prometheus (Debian's packaged paths)."""
    import os
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items() if not key.startswith("IXNODE_PLG_")}
    env.update(DJANGO_SETTINGS_MODULE="ixnode.settings", SECRET_KEY="x", IXNODE_WEBHOOK_TOKEN="x")
    code = "import django; django.setup(); from django.conf import settings; print(settings.IXNODE_PLG_MODE)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                         check=True, cwd=str(Path(__file__).resolve().parents[2]))
    assert out.stdout.strip() == "off"
    env["IXNODE_PLG_MODE"] = "local"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                         check=True, cwd=str(Path(__file__).resolve().parents[2]))
    assert out.stdout.strip() == "local"


def test_preview_shows_deployed_items_without_secrets(db, plg_files, config):
    publish(config)
    deployed = artifacts_deployed(config=config)
    assert set(deployed) >= {"prometheus-scrape-job.yml", "alertmanager-route.yml", "alertmanager-receiver.yml",
                             "ixnode-auto-vm-test.rules.yml", "ixnode-auto-vm-test.json"}
    assert "test-webhook-token" not in "".join(deployed.values())


def ssh_settings(settings, sshd, tmp_path):
    files = make_plg_files(sshd.root / tmp_path.name)
    point_settings_at(settings, files)
    settings.VAR_DIR = tmp_path / "var"
    settings.IXNODE_PLG_MODE = "ssh"
    settings.IXNODE_PLG_SSH_HOST = sshd.host
    settings.IXNODE_PLG_SSH_PORT = sshd.port
    settings.IXNODE_PLG_SSH_USER = sshd.user
    settings.IXNODE_PLG_SSH_KEY = str(sshd.key_path)
    settings.IXNODE_PLG_SSH_KNOWN_HOSTS = str(sshd.write_known_hosts(tmp_path / "known_hosts"))
    return files


def test_publish_over_ssh(db, settings, sshd, tmp_path, config):
    files = ssh_settings(settings, sshd, tmp_path)
    config = publish(config)
    assert config.artifacts_status == ArtifactStatus.ACTIVE, config.artifacts_error
    assert (files.rules_dir / "ixnode-auto-vm-test.rules.yml").exists()
    assert "ixnode-auto-vm-test" in files.alertmanager_yml.read_text()
    assert "Accepted publickey" in sshd.log()

    settings.IXNODE_PROMETHEUS_RATE_WINDOW = "bogus"
    config.scale_out_cpu_threshold = 95
    config.save()
    before = files.read()
    config = publish(config)
    assert config.artifacts_status == ArtifactStatus.ERROR and "promtool check rules" in config.artifacts_error
    assert files.read() == before


def test_ssh_rejects_unknown_host_key(db, settings, sshd, tmp_path, config):
    ssh_settings(settings, sshd, tmp_path)
    (tmp_path / "known_hosts").write_text("")
    config = publish(config)
    assert config.artifacts_status == ArtifactStatus.ERROR
    assert "host key unknown" in config.artifacts_error


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604], ids=oct)
def test_ssh_refuses_a_key_readable_by_others(db, settings, sshd, tmp_path, config, mode):
    import shutil

    from ixnode.integrations.plg.client import PlgConnectionError, plg_client

    files = ssh_settings(settings, sshd, tmp_path)
    loose = tmp_path / "loose_key"
    shutil.copyfile(sshd.key_path, loose)
    loose.chmod(mode)
    settings.IXNODE_PLG_SSH_KEY = str(loose)
    expected = rf"IXNODE_PLG_SSH_KEY: .*mode {mode:03o}.*chmod 600 {loose}"
    with pytest.raises(PlgConnectionError, match=expected), plg_client():
        pass
    config = publish(config)
    assert config.artifacts_status == ArtifactStatus.ERROR and "chmod 600" in config.artifacts_error
    assert not files.rules_dir.exists() or not (files.rules_dir / "ixnode-auto-vm-test.rules.yml").exists()

    loose.chmod(0o600)  # the same key with the right mode is accepted
    assert publish(config).artifacts_status == ArtifactStatus.ACTIVE


def test_preview_with_publishing_off_says_so_instead_of_an_error(db, config, settings, admin_client):
    from django.urls import reverse

    settings.IXNODE_PLG_MODE = "off"
    response = admin_client.post(reverse("admin:autoscaling_autoscalingconfig_changelist"),
                                 {"action": "preview_artifacts", "_selected_action": [config.pk]})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Publishing is off (IXNODE_PLG_MODE=off): the rendered files are shown" in html
    assert "must be &#x27;local&#x27;" not in html and "must be 'local'" not in html
    assert "rendered only (publishing is off)" in html and "ixnode-auto-vm-test.rules.yml" in html
