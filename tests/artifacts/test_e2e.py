"""End to end with real Prometheus and Alertmanager whose configs only the product's publisher changes.

Saving an enabled config publishes its job, rules, route and receiver; a test exporter's CPU load above the
threshold makes Prometheus fire, Alertmanager call the app's webhook (live server) and the app record a
scale-out ScaleEvent; low CPU and memory give a scale-in decision; disabling the config removes its rules from
Prometheus' /api/v1/rules and its route from Alertmanager's /api/v2/status. Operator files written in flow style
take the items the same way, and deleting the config gives them back byte for byte.
"""

from __future__ import annotations

import pytest
import requests
import yaml

from artifacts.targets import target_add
from autoscaling.choices import ArtifactStatus
from autoscaling.models import AutoscalingConfig
from tests.fixtures.waiting import wait_for

pytest_plugins = ["tests.fixtures.plg", "tests.fixtures.plg_stack"]

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def e2e_config(config_values) -> AutoscalingConfig:
    return AutoscalingConfig.objects.create(
        **{
            **config_values,
            "min_vms": 1,
            "max_vms": 4,
            "cooldown_seconds": 0,
            "scale_out_duration_minutes": 0,
            "scale_in_duration_minutes": 0,
            "scale_out_cpu_threshold": 80,
            "scale_out_memory_threshold": 90,
            "scale_in_cpu_threshold": 30,
            "scale_in_memory_threshold": 30,
        }
    )


def test_publish_into_live_prometheus_and_alertmanager(plg_stack, config_values, settings):
    settings.IXNODE_ARTIFACTS_SYNC = True
    config = e2e_config(config_values)
    config.refresh_from_db()
    assert config.artifacts_status == ArtifactStatus.ACTIVE, config.artifacts_error
    assert "ixnode-auto-vm-test" in plg_stack.rule_groups()
    assert "receiver: ixnode-auto-vm-test" in plg_stack.alertmanager_config()
    wait_for(lambda: plg_stack.active_targets("prometheus"), 15, "the operator's own job to keep scraping")

    config.enabled = False
    config.save()
    config.refresh_from_db()
    assert config.artifacts_status == ArtifactStatus.REMOVED, config.artifacts_error
    assert "ixnode-auto-vm-test" not in plg_stack.rule_groups()
    assert "ixnode-auto-vm-test" not in plg_stack.alertmanager_config()


def test_load_drives_webhook_decisions_and_disable_removes(plg_stack, load_exporters, live_server, config_values,
                                                          settings):
    from events.models import ScaleEvent

    settings.IXNODE_ARTIFACTS_SYNC = True
    settings.IXNODE_PUBLIC_URL = live_server.url
    for exporter in load_exporters:
        exporter.set_load(cpu=50, memory=50)
    config = e2e_config(config_values)
    config.refresh_from_db()
    assert config.artifacts_status == ArtifactStatus.ACTIVE, config.artifacts_error
    for exporter in load_exporters:
        target_add(config=config, target=exporter.target)  # file_sd: no reload
    job = config.prometheus_job_name
    wait_for(lambda: len([t for t in plg_stack.active_targets(job) if t["health"] == "up"]) == 2, 30,
             "both exporters to be scraped")
    assert {t["labels"]["service"] for t in plg_stack.active_targets(job)} == {"auto-vm-test"}

    # Scale-out: one VM's CPU above 80 % (max over instances).
    load_exporters[0].set_load(cpu=97, memory=50)
    event = wait_for(lambda: ScaleEvent.objects.filter(service_name="auto-vm-test", action="scale-out").first(),
                     60, "the scale-out webhook call")
    assert event.decision == "ALLOW", (event.decision, event.reason)
    assert event.current_vm_count == 2
    assert event.alert_labels.get("autoscale") == "scale-out"

    # The run is not what this test is about: end it so the service is free again (cooldown is 0).
    from autoscaling.services.runs import scale_event_finish

    scale_event_finish(event=event, status="failed", error="ended by the end-to-end test")

    # Scale-in: every VM below 30 % CPU and memory.
    for exporter in load_exporters:
        exporter.set_load(cpu=3, memory=10)
    scale_in = wait_for(lambda: ScaleEvent.objects.filter(service_name="auto-vm-test", action="scale-in").first(),
                        60, "the scale-in webhook call")
    assert scale_in.decision == "ALLOW", (scale_in.decision, scale_in.reason)

    # Disable: rules and route disappear from the running Prometheus and Alertmanager.
    config.enabled = False
    config.save()
    config.refresh_from_db()
    assert config.artifacts_status == ArtifactStatus.REMOVED, config.artifacts_error
    groups = requests.get(f"{plg_stack.prometheus_url}/api/v1/rules", timeout=5).json()["data"]["groups"]
    assert "ixnode-auto-vm-test" not in [g["name"] for g in groups]
    assert "ixnode-auto-vm-test" not in plg_stack.alertmanager_config()
    assert plg_stack.files.alertmanager_yml.read_text().startswith("# Operator's Alertmanager config.")


# The operator's own files in flow style, as the issue reported them: `rule_files` a flow list whose glob also covers
# the product's rules dir, `scrape_configs` flow items, flow `routes` (one with nested routes) and `receivers`.
FLOW_PROMETHEUS_YML = """\
# Operator's Prometheus config, written in flow style.
global: {{scrape_interval: {interval}, evaluation_interval: {interval}}}  # test intervals
alerting:
  alertmanagers: [{{static_configs: [{{targets: ['127.0.0.1:{am_port}']}}]}}]
rule_files: ['rules/*.yml']  # the operator's rules dir
scrape_configs: [
  # Prometheus itself
  {{job_name: prometheus, static_configs: [{{targets: ['127.0.0.1:{prom_port}']}}]}},
]
"""

FLOW_ALERTMANAGER_YML = """\
# Operator's Alertmanager config: flow routes and receivers, nested routes.
route:
  receiver: ops-null   # everything else
  group_by: [alertname]
  routes: [
    {{matchers: ['team="db"'], receiver: ops-null, routes: [{{matchers: ['severity="page"'], receiver: ops-pager}}]}},
  ]
receivers: [{{name: ops-null}}, {{name: ops-pager}}]  # no real paging in tests
"""

OPERATOR_RULES = """\
groups:
  - name: operator-rules
    rules:
      - alert: OperatorTargetDown
        expr: up == 0
"""


def _comments(text: str) -> list[str]:
    return [line[line.index("#") :] for line in text.splitlines() if "#" in line]


def test_publish_into_flow_style_operator_files_and_give_them_back(tmp_path, config_values, settings):
    from tests.fixtures.plg_stack import point_settings_at_stack, start_plg_stack  # also this module's plugin

    with start_plg_stack(
        tmp_path / "plg", prometheus_yml=FLOW_PROMETHEUS_YML, alertmanager_yml=FLOW_ALERTMANAGER_YML
    ) as stack:
        point_settings_at_stack(settings, stack, tmp_path / "var")
        settings.IXNODE_ARTIFACTS_SYNC = True
        files = stack.files
        files.rules_dir.mkdir()
        (files.rules_dir / "operator.yml").write_text(OPERATOR_RULES)
        requests.post(f"{stack.prometheus_url}/-/reload", timeout=30).raise_for_status()
        wait_for(lambda: "operator-rules" in stack.rule_groups(), 15, "the operator's rules to load")
        prometheus_before = files.prometheus_yml.read_bytes()
        alertmanager_before = files.alertmanager_yml.read_bytes()

        config = e2e_config(config_values)
        config.refresh_from_db()
        assert config.artifacts_status == ArtifactStatus.ACTIVE, config.artifacts_error

        # Rules loaded (once, though the operator's glob matches the product's file too), the operator's kept.
        groups = stack.rule_groups()
        assert groups.count("ixnode-auto-vm-test") == 1 and "operator-rules" in groups, groups
        # The route is live, first, and the operator's nested routes are still under theirs.
        live = yaml.safe_load(stack.alertmanager_config())
        assert [r["receiver"] for r in live["route"]["routes"]] == ["ixnode-auto-vm-test", "ops-null"]
        assert live["route"]["routes"][1]["routes"][0]["receiver"] == "ops-pager"
        assert {r["name"] for r in live["receivers"]} == {"ops-null", "ops-pager", "ixnode-auto-vm-test"}
        # The files keep the operator's comments and flow style.
        prometheus_text, alertmanager_text = files.prometheus_yml.read_text(), files.alertmanager_yml.read_text()
        for comment in _comments(prometheus_before.decode()):
            assert comment in prometheus_text, comment
        for comment in _comments(alertmanager_before.decode()):
            assert comment in alertmanager_text, comment
        assert "rule_files: ['rules/*.yml', " in prometheus_text
        assert "receivers: [{name: ops-null}, {name: ops-pager}, " in alertmanager_text
        wait_for(lambda: stack.active_targets("prometheus"), 15, "the operator's own job to keep scraping")
        assert stack.active_targets(config.prometheus_job_name) == []  # its file_sd file is empty until targets come

        # Deleting the config gives the operator's files back byte for byte, and the running processes agree.
        config.delete()
        assert files.prometheus_yml.read_bytes() == prometheus_before
        assert files.alertmanager_yml.read_bytes() == alertmanager_before
        groups = stack.rule_groups()
        assert "ixnode-auto-vm-test" not in groups and "operator-rules" in groups, groups
        assert "ixnode-auto-vm-test" not in stack.alertmanager_config()
