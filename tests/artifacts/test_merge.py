"""Merging owned items into the operator's files, in any YAML style: everything not owned stays byte for byte, the
merged file passes the real promtool/amtool, and removing the items gives the operator's file back."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from artifacts import merge
from artifacts.merge import ADDED_MARKER, MergeError, merge_alertmanager_config, merge_prometheus_config
from tests.fixtures.plg import OPERATOR_ALERTMANAGER_YML, OPERATOR_PROMETHEUS_YML

GLOB = "/r/ixnode-*.rules.yml"


def job(service: str, name: str | None = None) -> dict:
    return {"job_name": name or f"{service}-job", "file_sd_configs": [{"files": [f"/t/ixnode-{service}.json"]}]}


def pair(service: str) -> tuple[dict, dict]:
    return (
        {"receiver": f"ixnode-{service}", "matchers": [f'service="{service}"'], "group_by": ["service", "autoscale"]},
        {"name": f"ixnode-{service}", "webhook_configs": [{"url": f"http://127.0.0.1:8000/hook/{service}"}]},
    )


def prometheus_round_trip(text: str, services=("a", "b")) -> str:
    """Merge, check the operator's lines are all still there, remove again: must give ``text`` back exactly."""
    merged = merge_prometheus_config(text, jobs={s: job(s) for s in services}, rules_glob=GLOB)
    data = yaml.safe_load(merged)
    assert [j["job_name"] for j in data["scrape_configs"]][-len(services) :] == [f"{s}-job" for s in services]
    assert data["rule_files"][-1] == GLOB
    assert merge_prometheus_config(merged, jobs={s: job(s) for s in services}, rules_glob=GLOB) is merged
    assert merge_prometheus_config(merged, jobs=dict.fromkeys(services), rules_glob=GLOB) == text
    return merged


def alertmanager_round_trip(text: str, services=("a", "b")) -> str:
    merged = merge_alertmanager_config(text, services={s: pair(s) for s in services})
    data = yaml.safe_load(merged)
    assert [r["receiver"] for r in data["route"]["routes"][: len(services)]] == [f"ixnode-{s}" for s in services]
    assert [r["name"] for r in data["receivers"]][-len(services) :] == [f"ixnode-{s}" for s in services]
    assert merge_alertmanager_config(merged, services=dict.fromkeys(services)) == text
    return merged


def tool_check(tmp_path: Path, name: str, text: str, *command: str) -> None:
    path = tmp_path / name
    path.write_bytes(text.encode())
    done = subprocess.run([*command, str(path)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"{' '.join(command)} refused the merged file:\n{done.stdout}{done.stderr}\n{text}"


def promtool(tmp_path: Path, text: str) -> None:
    tool_check(tmp_path, "prometheus.yml", text, shutil.which("promtool") or "promtool", "check", "config")


def amtool(tmp_path: Path, text: str) -> None:
    tool_check(tmp_path, "alertmanager.yml", text, shutil.which("amtool") or "amtool", "check-config")


# --- block style (the fixtures' operator files) ---------------------------------------------------------


def test_add_then_remove_restores_operator_file_exactly():
    added = merge_prometheus_config(OPERATOR_PROMETHEUS_YML, jobs={"a": job("a"), "b": job("b")})
    data = yaml.safe_load(added)
    assert [j["job_name"] for j in data["scrape_configs"]] == ["prometheus", "node-base", "a-job", "b-job"]
    for line in OPERATOR_PROMETHEUS_YML.splitlines():
        assert line in added
    assert merge_prometheus_config(added, jobs={"a": None, "b": None}) == OPERATOR_PROMETHEUS_YML


def test_unchanged_owned_items_return_the_same_text():
    once = merge_prometheus_config(OPERATOR_PROMETHEUS_YML, jobs={"a": job("a")}, rules_glob=GLOB)
    assert merge_prometheus_config(once, jobs={"a": job("a")}, rules_glob=GLOB) is once


def test_update_replaces_only_the_service_item():
    both = merge_prometheus_config(OPERATOR_PROMETHEUS_YML, jobs={"a": job("a"), "b": job("b")})
    updated = merge_prometheus_config(both, jobs={"a": job("a", "renamed-job")})
    names = [j["job_name"] for j in yaml.safe_load(updated)["scrape_configs"]]
    assert names == ["prometheus", "node-base", "b-job", "renamed-job"]


def test_orphans_of_unknown_services_are_removed():
    both = merge_prometheus_config(OPERATOR_PROMETHEUS_YML, jobs={"a": job("a"), "b": job("b")})
    pruned = merge_prometheus_config(both, jobs={"a": job("a")}, keep_services={"a"})
    assert [j["job_name"] for j in yaml.safe_load(pruned)["scrape_configs"]][-1] == "a-job"
    assert "b-job" not in pruned


def test_rule_glob_is_there_while_any_owned_job_is():
    text = merge_prometheus_config(OPERATOR_PROMETHEUS_YML, jobs={"a": job("a")}, rules_glob=GLOB)
    assert yaml.safe_load(text)["rule_files"] == ["operator-rules/*.yml", GLOB]
    assert merge_prometheus_config(text, jobs={"b": job("b")}, rules_glob=GLOB).count(GLOB) == 1
    assert merge_prometheus_config(OPERATOR_PROMETHEUS_YML, jobs={}, rules_glob=GLOB) is OPERATOR_PROMETHEUS_YML
    assert merge_prometheus_config(text, jobs={"a": None}, rules_glob=GLOB) == OPERATOR_PROMETHEUS_YML


def test_rule_glob_of_an_old_rules_dir_is_replaced():
    text = merge_prometheus_config(OPERATOR_PROMETHEUS_YML, jobs={"a": job("a")}, rules_glob="/old/ixnode-*.rules.yml")
    moved = merge_prometheus_config(text, jobs={"a": job("a")}, rules_glob=GLOB)
    assert yaml.safe_load(moved)["rule_files"] == ["operator-rules/*.yml", GLOB]


def test_operator_job_with_the_same_name_is_a_conflict():
    with pytest.raises(MergeError, match="node-base.*does not own"):
        merge_prometheus_config(OPERATOR_PROMETHEUS_YML, jobs={"a": job("a", "node-base")})


def test_two_services_with_one_job_name_are_a_conflict():
    with pytest.raises(MergeError, match="'a' and 'b' both use Prometheus job 'same'"):
        merge_prometheus_config(OPERATOR_PROMETHEUS_YML, jobs={"a": job("a", "same"), "b": job("b", "same")})


def test_alertmanager_routes_go_first_and_receivers_last():
    merged = merge_alertmanager_config(OPERATOR_ALERTMANAGER_YML, services={"a": pair("a")})
    data = yaml.safe_load(merged)
    assert data["route"]["routes"][0]["receiver"] == "ixnode-a"
    assert data["route"]["routes"][1]["receiver"] == "dba"
    assert [r["name"] for r in data["receivers"]] == ["ops-default", "dba", "ixnode-a"]
    assert merge_alertmanager_config(merged, services={"a": None}) == OPERATOR_ALERTMANAGER_YML


def test_alertmanager_without_routes_gets_a_marked_routes_key_that_goes_with_its_last_route(tmp_path):
    text = "route:\n  receiver: default\nreceivers:\n  - name: default\n"
    merged = merge_alertmanager_config(text, services={"a": pair("a")})
    assert yaml.safe_load(merged)["route"]["routes"][0]["receiver"] == "ixnode-a"
    assert merged.startswith(f"route:\n  receiver: default\n  routes:  {ADDED_MARKER}\n    - receiver: ixnode-a\n")
    amtool(tmp_path, merged)
    assert merge_alertmanager_config(merged, services={"a": None}) == text


def test_alertmanager_without_route_is_refused():
    with pytest.raises(MergeError, match="route"):
        merge_alertmanager_config("receivers: []\n", services={"a": pair("a")})
    with pytest.raises(MergeError, match="route"):
        merge_alertmanager_config("route: [a]\nreceivers: []\n", services={"a": pair("a")})


# --- flow style: the case and the acceptance files ----------------------------------------------

FLOW_PROMETHEUS_YML = """\
# Operator's Prometheus config, flow lists everywhere.
global: {scrape_interval: 15s, evaluation_interval: 15s}  # defaults
rule_files: ['/etc/prometheus/rules/*.yml']  # the operator's rules
scrape_configs: [
  # Prometheus itself
  {job_name: prometheus, static_configs: [{targets: ['127.0.0.1:9090']}]},
  {job_name: node-base, static_configs: [{targets: ["127.0.0.1:9100"], labels: {team: web}}]},  # fixed VMs
]
"""

FLOW_ALERTMANAGER_YML = """\
# Operator's Alertmanager config, flow lists and nested routes.
global: {resolve_timeout: 5m}
route:
  receiver: ops-default   # everything else
  group_by: [alertname]
  routes: [
    {matchers: ['team="db"'], receiver: dba, routes: [{matchers: ['severity="critical"'], receiver: dba-pager}]},
    {matchers: ['team="web"'], receiver: ops-default, continue: true},
  ]
receivers: [{name: ops-default}, {name: dba}, {name: dba-pager, webhook_configs: [{url: 'http://127.0.0.1:9/page'}]}]
inhibit_rules: []
"""


def test_flow_style_rule_files_and_scrape_configs_are_merged_validated_and_given_back(tmp_path):
    merged = prometheus_round_trip(FLOW_PROMETHEUS_YML)
    assert "rule_files: ['/etc/prometheus/rules/*.yml', \"/r/ixnode-*.rules.yml\"]  # the operator's rules\n" in merged
    for line in FLOW_PROMETHEUS_YML.splitlines():
        if not line.startswith("rule_files") and "node-base" not in line:
            assert line in merged, line
    data = yaml.safe_load(merged)
    assert [j["job_name"] for j in data["scrape_configs"]] == ["prometheus", "node-base", "a-job", "b-job"]
    promtool(tmp_path, merged)


def test_flow_style_routes_and_receivers_are_merged_validated_and_given_back(tmp_path):
    merged = alertmanager_round_trip(FLOW_ALERTMANAGER_YML)
    data = yaml.safe_load(merged)
    assert [r["receiver"] for r in data["route"]["routes"]] == ["ixnode-a", "ixnode-b", "dba", "ops-default"]
    assert data["route"]["routes"][2]["routes"] == [{"matchers": ['severity="critical"'], "receiver": "dba-pager"}]
    assert "# Operator's Alertmanager config, flow lists and nested routes." in merged
    assert "receiver: ops-default   # everything else" in merged
    amtool(tmp_path, merged)


def test_flow_list_update_and_removal_of_a_middle_item():
    merged = merge_prometheus_config(FLOW_PROMETHEUS_YML, jobs={"a": job("a"), "b": job("b"), "c": job("c")})
    updated = merge_prometheus_config(merged, jobs={"b": job("b", "b-renamed")})
    names = [j["job_name"] for j in yaml.safe_load(updated)["scrape_configs"]]
    assert names == ["prometheus", "node-base", "a-job", "c-job", "b-renamed"]
    assert merge_prometheus_config(updated, jobs=dict.fromkeys("abc")) == FLOW_PROMETHEUS_YML


def test_json_prometheus_config_stays_json(tmp_path):
    text = '{"global": {"scrape_interval": "15s"}, "scrape_configs": [{"job_name": "p", "static_configs": []}]}\n'
    merged = prometheus_round_trip(text)
    import json

    assert json.loads(merged)["rule_files"] == [GLOB]
    promtool(tmp_path, merged)


def test_key_added_to_a_flow_mapping_goes_with_its_last_item(tmp_path):
    text = "route: {receiver: d, group_by: [alertname]}\nreceivers: [{name: d}]\n"
    merged = alertmanager_round_trip(text)
    assert merged.startswith('route: {receiver: d, group_by: [alertname], "routes": [{"receiver": "ixnode-a"')
    amtool(tmp_path, merged)


def test_aliases_next_to_owned_items():
    text = (
        "global: {scrape_interval: &every 15s}\n"
        "scrape_configs:\n"
        "  - &base {job_name: base, scrape_interval: *every, static_configs: [{targets: ['127.0.0.1:1']}]}\n"
        "  - <<: *base\n"
        "    job_name: copy\n"
        "rule_files: [&r 'a/*.yml', *r]\n"
    )
    prometheus_round_trip(text)
    flow_aliases = "x: &j {job_name: x}\nscrape_configs: [*j, {job_name: y}, *j]\n"
    merged = merge_prometheus_config(flow_aliases, jobs={"a": job("a")})
    assert merged == 'x: &j {job_name: x}\nscrape_configs: [*j, {job_name: y}, *j, {"job_name": "a-job", ' \
        '"file_sd_configs": [{"files": ["/t/ixnode-a.json"]}]}]\n'
    assert merge_prometheus_config(merged, jobs={"a": None}) == flow_aliases


# --- comments, nesting and layouts -----------------------------------------------------------------------

COMMENTED_ALERTMANAGER_YML = """\
# 운영자 주석: IXNode must leave this file alone.
route:
  receiver: ops   # default
  # The child routes.
  routes:
  # Databases first.
  - matchers:
      - team="db"   # db team
    receiver: dba
    routes:
    - matchers: [severity="critical"]
      receiver: dba-pager
      # deeper trailing comment of the nested route

  # Web last.
  - matchers: ['team="web"']
    receiver: ops
    continue: true
      # a comment indented deeper than the route it trails
# between the sections
receivers:
- name: ops
- name: dba      # trailing
  webhook_configs: [{url: 'http://127.0.0.1:9/dba'}]
- name: dba-pager
# the end
"""


def test_comments_everywhere_and_nested_routes(tmp_path):
    merged = alertmanager_round_trip(COMMENTED_ALERTMANAGER_YML)
    for line in COMMENTED_ALERTMANAGER_YML.splitlines():
        assert line in merged, line
    assert merged.index("receiver: ixnode-a") < merged.index("# Databases first.")
    assert merged.index("- name: ixnode-a") > merged.index("- name: dba-pager")
    assert merged.index("- name: ixnode-a") < merged.index("# the end")
    amtool(tmp_path, merged)


def test_debian_style_empty_rule_files_with_comments_under_it(tmp_path):
    text = (
        "global:\n  scrape_interval:     15s # spaced like Debian's sample\n"
        "rule_files:\n  # - \"first_rules.yml\"\n  # - \"second_rules.yml\"\n\n"
        "scrape_configs:\n  - job_name: 'prometheus'\n    static_configs:\n      - targets: ['localhost:9090']\n"
    )
    merged = prometheus_round_trip(text)
    assert f'rule_files:\n  - {GLOB}\n  # - "first_rules.yml"\n' in merged
    promtool(tmp_path, merged)


@pytest.mark.parametrize(
    ("text", "restored"),
    [
        ("", ""),
        ("# nothing yet\n", "# nothing yet\n"),
        ("---\n", "---\n"),
        ("global: {}\nscrape_configs: []\nrule_files: []\n", "global: {}\nscrape_configs: []\nrule_files: []\n"),
        ("scrape_configs:\nrule_files:\n", "scrape_configs:\nrule_files:\n"),
        ("scrape_configs:   # none yet\n", "scrape_configs:   # none yet\n"),
        ("global:\n  scrape_interval: 15s", "global:\n  scrape_interval: 15s"),  # no final line break
        ("a: 1\r\nscrape_configs:\r\n  - job_name: x\r\n", "a: 1\r\nscrape_configs:\r\n  - job_name: x\r\n"),
        ("\ufeffglobal: {}\n", "\ufeffglobal: {}\n"),
        # Documented exception: an explicit null comes back as the empty value (same meaning).
        ("scrape_configs: ~\nrule_files: null  # none\n", "scrape_configs:\nrule_files:  # none\n"),
    ],
    ids=["empty", "comments-only", "document-start", "flow-empty", "null", "null-comment", "no-final-break", "crlf",
         "bom", "explicit-null"],
)
def test_empty_null_and_minimal_files(text, restored):
    merged = merge_prometheus_config(text, jobs={"a": job("a")}, rules_glob=GLOB)
    data = yaml.safe_load(merged.lstrip("\ufeff"))
    assert data["scrape_configs"][-1] == job("a") and data["rule_files"] == [GLOB]
    if "\r\n" in text:
        assert merged.count("\r\n") == merged.count("\n"), "a CRLF file gets CRLF lines"
    assert merged.startswith("\ufeff") == text.startswith("\ufeff")
    assert merge_prometheus_config(merged, jobs={"a": None}, rules_glob=GLOB) == restored


def test_crlf_file_passes_promtool(tmp_path):
    text = OPERATOR_PROMETHEUS_YML.replace("\n", "\r\n")
    merged = prometheus_round_trip(text)
    assert "\n" not in merged.replace("\r\n", "")
    (tmp_path / "operator-rules").mkdir()
    promtool(tmp_path, merged)


def test_indentless_and_four_space_layouts():
    text = (
        "scrape_configs:\n"
        "- job_name: a1\n"
        "  static_configs:\n"
        "  - targets: [x:1]\n"
        "rule_files:\n"
        "    -   'x/*.yml'\n"
    )
    merged = prometheus_round_trip(text)
    assert "- job_name: a-job\n  file_sd_configs:\n" in merged  # at the operator's dash column
    assert f"    - {GLOB}\n" in merged


# --- hostile files: a clear error, never a traceback or a half-written file -------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("global: {scrape_interval: 15s\n", "not valid YAML"),
        ("scrape_configs:\n  - job_name: a\n   bad: indent\n", "not valid YAML"),
        ("scrape_configs:\n\t- job_name: a\n", "not valid YAML"),
        ("- just\n- a list\n", "mapping at the top level"),
        ("just a string\n", "mapping at the top level"),
        ("a: 1\n---\nb: 2\n", "not valid YAML"),
        ("scrape_configs: []\nglobal: {}\nscrape_configs: []\n", "line 3: the key 'scrape_configs' is set twice"),
        ("global:\n  scrape_interval: 1s\n  scrape_interval: 2s\n", "line 3: the key 'scrape_interval' is set twice"),
        ("scrape_configs: [{job_name: a, job_name: b}]\n", "the key 'job_name' is set twice"),
        ("scrape_configs: {job_name: a}\n", "'scrape_configs' must be a list"),
        ("scrape_configs: 5\n", "'scrape_configs' must be a list"),
        ("rule_files: 'x.yml'\n", "'rule_files' must be a list"),
        ("x: &jobs [{job_name: a}]\nscrape_configs: *jobs\n", "'scrape_configs' is an alias"),
        ("a: 1\rscrape_configs: []\r", "CR \\(old Mac\\) line break"),
        ("a: 1\u2028scrape_configs: []\n", "U\\+2028 line break"),
        ("a: " + "[" * 5000 + "]" * 5000 + "\n", "not valid YAML"),
        ("a: &a [*a]\n", "recursive alias"),
    ],
    ids=["unterminated-flow", "bad-indent", "tab-indent", "list", "string", "two-documents", "duplicate-top-key",
         "duplicate-nested-key", "duplicate-flow-key", "mapping-not-list", "number-not-list", "string-not-list",
         "aliased-list", "cr-breaks", "unicode-breaks", "deep-nesting", "recursive-alias"],
)
def test_hostile_prometheus_files_are_refused_clearly(text, message):
    with pytest.raises(MergeError, match=message):
        merge_prometheus_config(text, jobs={"a": job("a")}, rules_glob=GLOB)


def test_alias_bomb_is_refused_quickly():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    started = time.perf_counter()
    with pytest.raises(MergeError, match="alias bomb"):
        merge_prometheus_config("\n".join(lines) + "\n", jobs={"a": job("a")})
    assert time.perf_counter() - started < 5


def test_huge_file_is_refused_before_parsing():
    huge = "# " + "x" * (merge.MAX_BYTES + 1) + "\n"
    started = time.perf_counter()
    with pytest.raises(MergeError, match="IXNode edits files up to 16 MiB"):
        merge_prometheus_config(huge, jobs={"a": job("a")})
    assert time.perf_counter() - started < 5


def test_hostile_alertmanager_files_are_refused_clearly():
    with pytest.raises(MergeError, match="the key 'receiver' is set twice"):
        merge_alertmanager_config("route:\n  receiver: a\n  receiver: b\nreceivers: []\n", services={"a": pair("a")})
    with pytest.raises(MergeError, match="'route.routes' must be a list"):
        merge_alertmanager_config("route: {receiver: a, routes: {x: 1}}\nreceivers: []\n", services={"a": pair("a")})
    with pytest.raises(MergeError, match="'receivers' must be a list"):
        merge_alertmanager_config("route: {receiver: a}\nreceivers: a\n", services={"a": pair("a")})


def test_a_layout_the_splices_cannot_fit_is_refused_not_written():
    # A merge key brings 'routes' in from an anchor: adding a 'routes' key would hide the operator's routes.
    text = "base: &b {routes: [{receiver: x}]}\nroute: {<<: *b, receiver: x}\nreceivers: [{name: x}]\n"
    with pytest.raises(MergeError, match="would not match the intended content"):
        merge_alertmanager_config(text, services={"a": pair("a")})
