"""The examples the docs give in prose (not as ``sh`` blocks, which tests/docs/test_readme_commands.py runs) work as
written: a command a reader copies must not stop at its first key."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_the_nasa_config_of_docs_policies_md_is_a_valid_simulator_config(tmp_path):
    """docs/policies.md reproduces its NASA table with ``--config nasa.json`` and gives the file inline."""
    from policies.management.config_file import config_from_file

    text = (ROOT / "docs" / "policies.md").read_text()
    found = re.search(r"with `nasa\.json` = `(\{.*?\})`", text)
    assert found, "docs/policies.md no longer gives nasa.json inline: update this test"
    path = tmp_path / "nasa.json"
    path.write_text(json.dumps(json.loads(found.group(1))))
    config, policy, simulation = config_from_file(path)
    assert (config.min_vms, config.max_vms, config.scale_out_cpu_threshold) == (2, 10, 80)
    assert policy is not None and policy.target == 65 and simulation == {"capacity": 150}


def test_the_notification_of_docs_decisions_md_is_decided(config, settings):
    """docs/decisions.md posts docs/examples/alertmanager-notification.json to the webhook of the README's
    auto-vm-test: a full notification of the rule the product renders; without Prometheus, BLOCK_UNKNOWN_COUNT,
    and a second delivery is decided afresh (as the page says), not ignored."""
    from rest_framework.test import APIClient

    from artifacts.renderers.context import RenderContext
    from artifacts.renderers.prometheus import render_alert_rules

    settings.IXNODE_WEBHOOK_TOKEN = "doc-token"
    settings.IXNODE_PROMETHEUS_URL = "http://127.0.0.1:1"  # no Prometheus, as on a first `make run`
    text = (ROOT / "docs" / "decisions.md").read_text()
    assert "-d @docs/examples/alertmanager-notification.json" in text
    body = (ROOT / "docs" / "examples" / "alertmanager-notification.json").read_bytes()
    alert = json.loads(body)["alerts"][0]
    rules = render_alert_rules(config, RenderContext.from_settings())
    assert f"alert: {alert['labels']['alertname']}" in rules  # the rule the product renders for the service
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer doc-token")
    url = "/api/webhook/autoscale/auto-vm-test"
    first = client.post(url, body, content_type="application/json")
    assert first.status_code == 200, first.content
    [decision] = first.json()["decisions"]
    assert (decision["action"], decision["decision"], decision["alert_name"]) == (
        "scale-out", "BLOCK_UNKNOWN_COUNT", "IxnodeScaleOutCpu")
    assert decision["reason"].startswith("The current VM count could not be read from Prometheus")
    again = client.post(url, body, content_type="application/json").json()
    assert [d["decision"] for d in again["decisions"]] == ["BLOCK_UNKNOWN_COUNT"] and again["ignored"] == []
