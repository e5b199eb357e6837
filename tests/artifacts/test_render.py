"""Renderers: golden files for one config, and real promtool/amtool over a broad range of valid configs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from artifacts.merge import merge_alertmanager_config, merge_prometheus_config
from artifacts.renderers import naming
from artifacts.renderers.alertmanager import alertmanager_receiver_data, alertmanager_route_data
from artifacts.renderers.bundle import artifact_files, artifacts_hash
from artifacts.renderers.context import RenderContext
from artifacts.renderers.formatting import minutes, number, seconds
from artifacts.renderers.prometheus import prometheus_job_data, render_alert_rules, render_targets_file
from autoscaling.models import AutoscalingConfig
from tests.fixtures.plg import OPERATOR_ALERTMANAGER_YML, OPERATOR_PROMETHEUS_YML

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
PROMTOOL = shutil.which("promtool")
AMTOOL = shutil.which("amtool")
CTX = RenderContext(
    public_url="http://127.0.0.1:8000",
    webhook_token="golden-token",
    targets_dir="/etc/prometheus/targets",
    rules_dir="/etc/prometheus/rules",
)


def golden_config(**overrides) -> AutoscalingConfig:
    values = {
        "service_name": "auto-vm-test",
        "prometheus_job_name": "auto-vm-test-service",
        "vm_prefix": "auto-vm-test",
        "min_vms": 2,
        "max_vms": 4,
        "scale_out_cpu_threshold": 80,
        "scale_out_memory_threshold": 85.5,
        "scale_out_duration_minutes": 1,
        "scale_in_cpu_threshold": 30,
        "scale_in_memory_threshold": 40,
        "scale_in_duration_minutes": 5,
        "alert_repeat_interval_seconds": 300,
    }
    values.update(overrides)
    return AutoscalingConfig(**values)


def test_tools_are_installed():
    assert PROMTOOL and AMTOOL, "promtool and amtool are required: make test installs prometheus + alertmanager"


@pytest.mark.parametrize("name", sorted(artifact_files(golden_config(), CTX, targets=["127.0.0.1:9100"])))
def test_golden_files(name):
    rendered = artifact_files(golden_config(), CTX, targets=["127.0.0.1:9100", "127.0.0.2:9100"])[name]
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(rendered)
    assert path.exists(), f"missing golden file {path}; run with UPDATE_GOLDEN=1 once and review it"
    assert rendered == path.read_text()


def test_rules_carry_seed_promql_labels_and_durations():
    rules = yaml.safe_load(render_alert_rules(golden_config(scale_out_duration_minutes=0), CTX))["groups"][0]
    assert rules["name"] == "ixnode-auto-vm-test"
    by_name = {rule["alert"]: rule for rule in rules["rules"]}
    out_cpu, out_mem, scale_in = by_name["IxnodeScaleOutCpu"], by_name["IxnodeScaleOutMemory"], by_name["IxnodeScaleIn"]
    assert out_cpu["for"] == "0s" and scale_in["for"] == "5m"
    assert out_cpu["labels"] == {"service": "auto-vm-test", "autoscale": "scale-out"}
    assert scale_in["labels"] == {"service": "auto-vm-test", "autoscale": "scale-in"}
    assert 'rate(node_cpu_seconds_total{mode="idle",job="auto-vm-test-service"}[5m])' in out_cpu["expr"]
    assert out_cpu["expr"].startswith("max(") and out_cpu["expr"].endswith("> 80")
    assert out_mem["expr"].endswith("> 85.5") and "node_memory_MemAvailable_bytes" in out_mem["expr"]
    assert "\nand\n" in scale_in["expr"] and "< 30" in scale_in["expr"] and "< 40" in scale_in["expr"]


def test_route_and_receiver():
    route = alertmanager_route_data(golden_config(alert_repeat_interval_seconds=90), CTX)
    assert route["group_by"] == ["service", "autoscale"] and route["repeat_interval"] == "90s"
    assert route["matchers"][0] == 'service="auto-vm-test"' and route["receiver"] == "ixnode-auto-vm-test"
    receiver = alertmanager_receiver_data(golden_config(), CTX)
    hook = receiver["webhook_configs"][0]
    assert hook["url"] == "http://127.0.0.1:8000/api/webhook/autoscale/auto-vm-test"
    assert hook["send_resolved"] is True
    assert hook["http_config"]["authorization"] == {"type": "Bearer", "credentials": "golden-token"}
    masked = alertmanager_receiver_data(golden_config(), CTX, mask_secrets=True)
    assert "golden-token" not in str(masked)


def test_formatting_helpers():
    assert [number(80), number(80.0), number(72.5), number(33.333333333)] == ["80", "80", "72.5", "33.333333"]
    assert [minutes(0), minutes(1), minutes(90)] == ["0s", "1m", "90m"]
    assert [seconds(300), seconds(90), seconds(7200), seconds(1)] == ["5m", "90s", "2h", "1s"]


def test_hash_ignores_targets_but_not_config():
    config = golden_config()
    first = artifacts_hash(artifact_files(config, CTX, targets=["127.0.0.1:9100"]))
    assert first == artifacts_hash(artifact_files(config, CTX, targets=[]))
    assert first != artifacts_hash(artifact_files(golden_config(scale_out_cpu_threshold=81), CTX))


def test_grafana_uid_fits_grafana_limit():
    assert naming.grafana_uid("a" * 63) != naming.grafana_uid("a" * 62 + "b")
    assert len(naming.grafana_uid("a" * 63)) <= 40


# --- real promtool / amtool over generated configs --------------------------------------------------------

label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=20)
service_names = st.builds(
    lambda head, middle, tail: (head + middle + tail)[:63],
    st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789"),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", max_size=61),
    st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789"),
).filter(lambda s: naming.OWNED_RECEIVER_RE.match("ixnode-" + s) is not None)
job_names = st.builds(
    lambda head, rest: head + rest,
    st.sampled_from("ABCxyz019"),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", max_size=60),
)
percent = st.floats(min_value=0, max_value=100, allow_nan=False).map(lambda v: round(v, 3))


@st.composite
def config_strategy(draw, service: str, job: str) -> AutoscalingConfig:
    out_cpu = draw(percent.filter(lambda v: v > 0))
    out_mem = draw(percent.filter(lambda v: v > 0))
    return golden_config(
        service_name=service,
        prometheus_job_name=job,
        scale_out_cpu_threshold=out_cpu,
        scale_out_memory_threshold=out_mem,
        scale_in_cpu_threshold=draw(st.floats(min_value=0, max_value=out_cpu, exclude_max=True)),
        scale_in_memory_threshold=draw(st.floats(min_value=0, max_value=out_mem, exclude_max=True)),
        scale_out_duration_minutes=draw(st.integers(0, 1440)),
        scale_in_duration_minutes=draw(st.integers(0, 1440)),
        alert_repeat_interval_seconds=draw(st.integers(1, 86400)),
        node_exporter_port=draw(st.integers(1, 65535)),
    )


@st.composite
def config_sets(draw) -> list[AutoscalingConfig]:
    services = draw(st.lists(service_names, min_size=1, max_size=4, unique=True))
    jobs = draw(st.lists(job_names, min_size=len(services), max_size=len(services), unique=True))
    return [draw(config_strategy(s, j)) for s, j in zip(services, jobs, strict=True)]


contexts = st.builds(
    RenderContext,
    public_url=st.sampled_from(["http://127.0.0.1:8000", "https://127.0.0.1:8443/ixnode"]),
    webhook_token=st.sampled_from(["", "t0ken-with-chars_~.", "x" * 64]),
    rate_window=st.sampled_from(["5m", "30s", "1h"]),
    scrape_interval=st.sampled_from(["", "15s", "1m"]),
    group_wait=st.sampled_from(["30s", "1s"]),
    group_interval=st.sampled_from(["5m", "1s"]),
)


def run_tool(*argv: str) -> None:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(configs=config_sets(), ctx=contexts)
def test_rendered_artifacts_pass_promtool_and_amtool(tmp_path_factory, configs, ctx):
    root = tmp_path_factory.mktemp("tools")
    ctx = RenderContext(**{**ctx.__dict__, "targets_dir": str(root / "targets"), "rules_dir": str(root / "rules")})
    (root / "targets").mkdir()
    (root / "rules").mkdir()
    (root / "operator-rules").mkdir()
    prom = merge_prometheus_config(
        OPERATOR_PROMETHEUS_YML, jobs={c.service_name: prometheus_job_data(c, ctx) for c in configs},
        rules_glob=ctx.rules_glob,
    )
    am = merge_alertmanager_config(
        OPERATOR_ALERTMANAGER_YML,
        services={c.service_name: (alertmanager_route_data(c, ctx), alertmanager_receiver_data(c, ctx))
                  for c in configs},
    )
    for config in configs:
        (root / "rules" / naming.rules_file_name(config.service_name)).write_text(render_alert_rules(config, ctx))
        (root / "targets" / naming.targets_file_name(config.service_name)).write_text(
            render_targets_file(config, [f"127.0.0.1:{config.node_exporter_port}"])
        )
    (root / "prometheus.yml").write_text(prom)
    (root / "alertmanager.yml").write_text(am)
    rules = sorted(str(p) for p in (root / "rules").iterdir())
    run_tool(PROMTOOL, "check", "rules", *rules)
    run_tool(PROMTOOL, "check", "config", str(root / "prometheus.yml"))
    run_tool(AMTOOL, "check-config", str(root / "alertmanager.yml"))
    # The operator's items survive, byte for byte.
    for line in OPERATOR_PROMETHEUS_YML.splitlines():
        assert line in prom
    for line in OPERATOR_ALERTMANAGER_YML.splitlines():
        assert line in am
