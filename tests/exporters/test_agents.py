"""The agent scripts, run for real: a real sshd on loopback and Debian's prometheus-node-exporter (no systemd)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
import yaml

from exporters import agents
from tests.fixtures.sshd import free_port

pytest_plugins = ["tests.fixtures.sshd"]


def run_script(sshd, script: str) -> tuple[int, str, str]:
    client = sshd.connect()
    try:
        stdin, stdout, stderr = client.exec_command("sh -s", timeout=120)
        stdin.write(script)
        stdin.channel.shutdown_write()
        out, err = stdout.read().decode(), stderr.read().decode()
        return stdout.channel.recv_exit_status(), out, err
    finally:
        client.close()


def wait_metrics(url: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            response = requests.get(url, timeout=2)
            if response.status_code == 200:
                return response.text
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


@pytest.fixture
def node_exporter_plan(sshd, tmp_path):
    port = free_port()
    plan = agents.AgentPlan(agents.NODE_EXPORTER, str(tmp_path / "agents"),
                            agents.node_exporter_args(listen_host="127.0.0.1", port=port))
    yield plan, port
    run_script(sshd, agents.uninstall_script(plan))


def test_node_exporter_install_is_idempotent_and_uninstall_stops_it(sshd, node_exporter_plan):
    plan, port = node_exporter_plan
    status, out, err = run_script(sshd, agents.install_script(plan))
    assert status == 0, err
    assert any("started node_exporter" in c for c in agents.changes_in(out)), out
    assert "SERVICE: process" in out
    text = wait_metrics(f"http://127.0.0.1:{port}/metrics")
    assert "node_exporter_build_info" in text and "node_cpu_seconds_total" in text
    pidfile = Path(plan.base_dir) / "run" / "node_exporter.pid"
    first_pid = pidfile.read_text().strip()

    status, out, err = run_script(sshd, agents.install_script(plan))
    assert status == 0, err
    assert agents.changes_in(out) == []
    assert pidfile.read_text().strip() == first_pid

    status, out, _err = run_script(sshd, agents.uninstall_script(plan))
    assert status == 0
    assert any("stopped node_exporter" in c for c in agents.changes_in(out))
    with pytest.raises(requests.RequestException):
        requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
    status, out, _err = run_script(sshd, agents.uninstall_script(plan))
    assert status == 0 and agents.changes_in(out) == []


def test_changed_arguments_restart_the_exporter(sshd, node_exporter_plan):
    plan, port = node_exporter_plan
    assert run_script(sshd, agents.install_script(plan))[0] == 0
    wait_metrics(f"http://127.0.0.1:{port}/metrics")
    new_port = free_port()
    moved = agents.AgentPlan(plan.agent, plan.base_dir, agents.node_exporter_args(listen_host="127.0.0.1",
                                                                                 port=new_port))
    status, out, err = run_script(sshd, agents.install_script(moved))
    assert status == 0, err
    assert agents.changes_in(out)
    wait_metrics(f"http://127.0.0.1:{new_port}/metrics")
    with pytest.raises(requests.RequestException):
        requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_promtail_without_binary_fails_clearly(sshd, tmp_path):
    plan = agents.AgentPlan(agents.PROMTAIL, str(tmp_path / "agents"), agents.promtail_args(config_path="/x.yaml"),
                            source="upload", config_path="/x.yaml")
    status, _out, err = run_script(sshd, agents.install_script(plan))
    assert status == 3 and "IXNODE_PROMTAIL_BINARY" in err


def test_promtail_config_points_at_loki_with_labels():
    text = agents.promtail_config(loki_url="http://loki.example:3100/", service="shop-web", host="shop-web-01",
                                  base_dir="/opt/ixnode-exporters")
    config = yaml.safe_load(text)
    assert config["clients"] == [{"url": "http://loki.example:3100/loki/api/v1/push"}]
    labels = config["scrape_configs"][0]["static_configs"][0]["labels"]
    assert labels["service"] == "shop-web" and labels["host"] == "shop-web-01" and labels["__path__"]
    assert config["positions"]["filename"] == "/opt/ixnode-exporters/promtail-positions.yaml"
    assert config["server"]["http_listen_port"] == agents.PROMTAIL_PORT
