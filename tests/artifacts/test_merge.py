"""Merging owned items into the operator's files: everything not owned stays byte for byte."""

from __future__ import annotations

import pytest
import yaml

from artifacts.merge import MergeError, merge_alertmanager_config, merge_prometheus_config
from tests.fixtures.plg import OPERATOR_ALERTMANAGER_YML, OPERATOR_PROMETHEUS_YML


def job(service: str, name: str | None = None) -> dict:
    return {"job_name": name or f"{service}-job", "file_sd_configs": [{"files": [f"/t/ixnode-{service}.json"]}]}


def pair(service: str) -> tuple[dict, dict]:
    return (
        {"receiver": f"ixnode-{service}", "matchers": [f'service="{service}"'], "group_by": ["service", "autoscale"]},
        {"name": f"ixnode-{service}", "webhook_configs": [{"url": f"http://127.0.0.1:8000/hook/{service}"}]},
    )


def test_add_then_remove_restores_operator_file_exactly():
    added = merge_prometheus_config(OPERATOR_PROMETHEUS_YML, jobs={"a": job("a"), "b": job("b")})
    data = yaml.safe_load(added)
    assert [j["job_name"] for j in data["scrape_configs"]] == ["prometheus", "node-base", "a-job", "b-job"]
    for line in OPERATOR_PROMETHEUS_YML.splitlines():
        assert line in added
    assert merge_prometheus_config(added, jobs={"a": None, "b": None}) == OPERATOR_PROMETHEUS_YML


def test_unchanged_owned_items_return_the_same_text():
    once = merge_prometheus_config(OPERATOR_PROMETHEUS_YML, jobs={"a": job("a")}, rules_glob="/r/ixnode-*.rules.yml")
    assert merge_prometheus_config(once, jobs={"a": job("a")}, rules_glob="/r/ixnode-*.rules.yml") is once


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


def test_rule_glob_added_once_next_to_operator_rules():
    text = merge_prometheus_config(OPERATOR_PROMETHEUS_YML, jobs={}, rules_glob="/r/ixnode-*.rules.yml")
    assert yaml.safe_load(text)["rule_files"] == ["operator-rules/*.yml", "/r/ixnode-*.rules.yml"]
    assert merge_prometheus_config(text, jobs={}, rules_glob="/r/ixnode-*.rules.yml") == text


def test_operator_job_with_the_same_name_is_a_conflict():
    with pytest.raises(MergeError, match="node-base.*does not own"):
        merge_prometheus_config(OPERATOR_PROMETHEUS_YML, jobs={"a": job("a", "node-base")})


@pytest.mark.parametrize(
    "text",
    [
        "global: {scrape_interval: 15s\n",  # unterminated flow mapping
        "scrape_configs:\n  - job_name: a\n   bad: indent\n",
        "- just\n- a list\n",
    ],
)
def test_broken_files_are_refused(text):
    with pytest.raises(MergeError):
        merge_prometheus_config(text, jobs={"a": job("a")})


def test_empty_and_minimal_files():
    assert yaml.safe_load(merge_prometheus_config("", jobs={"a": job("a")}))["scrape_configs"][0]["job_name"] == "a-job"
    flow_empty = merge_prometheus_config("global: {}\nscrape_configs: []\n", jobs={"a": job("a")})
    assert yaml.safe_load(flow_empty)["scrape_configs"] == [job("a")]
    assert merge_prometheus_config(flow_empty, jobs={"a": None}) == "global: {}\nscrape_configs: []\n"


def test_flow_style_list_with_items_is_refused():
    with pytest.raises(MergeError, match="flow-style"):
        merge_prometheus_config('scrape_configs: [{job_name: x, static_configs: [{targets: ["a:1"]}]}]\n',
                                jobs={"a": job("a")})


def test_alertmanager_routes_go_first_and_receivers_last():
    merged = merge_alertmanager_config(OPERATOR_ALERTMANAGER_YML, services={"a": pair("a")})
    data = yaml.safe_load(merged)
    assert data["route"]["routes"][0]["receiver"] == "ixnode-a"
    assert data["route"]["routes"][1]["receiver"] == "dba"
    assert [r["name"] for r in data["receivers"]] == ["ops-default", "dba", "ixnode-a"]
    assert merge_alertmanager_config(merged, services={"a": None}) == OPERATOR_ALERTMANAGER_YML


def test_alertmanager_without_routes_gets_a_routes_key():
    text = "route:\n  receiver: default\nreceivers:\n  - name: default\n"
    merged = merge_alertmanager_config(text, services={"a": pair("a")})
    assert yaml.safe_load(merged)["route"]["routes"][0]["receiver"] == "ixnode-a"
    assert merged.startswith("route:\n  receiver: default\n")


def test_alertmanager_without_route_is_refused():
    with pytest.raises(MergeError, match="route"):
        merge_alertmanager_config("receivers: []\n", services={"a": pair("a")})
