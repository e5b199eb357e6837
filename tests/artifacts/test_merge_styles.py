"""The merge on generated operator files in every style YAML allows for them: each section block (indented or
indentless, 2 or 4 spaces) or flow, keys in any order, managed lists absent, empty or full, comment lines at any
indentation and trailing comments anywhere, LF or CRLF, with or without a final line break or a byte-order mark.

For each: the operator's data is unchanged, the owned items are exactly the wanted ones, every comment is kept,
merging the same items again changes nothing, and removing them gives the file back byte for byte.
"""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from artifacts.merge import merge_alertmanager_config, merge_prometheus_config, owned_jobs

GLOB = "/r/ixnode-*.rules.yml"


class _IndentedDumper(yaml.SafeDumper):
    """Block sequences indented under their key (``key:\\n  - a``) instead of PyYAML's ``key:\\n- a``."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
        return super().increase_indent(flow, False)


def _dump(data: Any, *, flow: bool, indented: bool, indent: int) -> str:
    return yaml.dump(data, Dumper=_IndentedDumper if indented else yaml.SafeDumper, default_flow_style=flow,
                     indent=indent, width=10**6, sort_keys=False, allow_unicode=True)


def _pad(text: str, spaces: int) -> str:
    return "".join(" " * spaces + line for line in text.splitlines(keepends=True))


styles = st.fixed_dictionaries({"flow": st.booleans(), "indented": st.booleans(), "indent": st.sampled_from([2, 4])})
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=12)
label_values = st.one_of(words, st.sampled_from(["웹 서버", "it's", 'say "hi"', "a: b", "x#y", "", "yes", "010"]))


@st.composite
def section(draw, key: str, value: Any) -> str:
    """``key: value`` at the top level, in a drawn style; ``None`` is the empty value (``key:``)."""
    if value is None:
        return f"{key}:\n"
    style = draw(styles)
    if style["flow"]:
        return f"{key}: {_dump(value, flow=True, indented=False, indent=2)}"
    return _dump({key: value}, flow=False, indented=style["indented"], indent=style["indent"])


@st.composite
def managed(draw, key: str, items: Any) -> str | None:
    """A managed list: absent (None), empty value, ``[]`` or its items."""
    shape = draw(st.sampled_from(["absent", "empty-value", "empty-list", "items"]))
    if shape == "absent":
        return None
    if shape == "empty-value":
        return draw(section(key, None))
    return draw(section(key, [] if shape == "empty-list" else draw(items)))


@st.composite
def decorated(draw, sections: list[str]) -> str:
    """Join the sections in a drawn order, sprinkle comments, pick line breaks, final break and BOM."""
    order = draw(st.permutations(sections))
    lines = "".join(order).splitlines()
    out: list[str] = []
    for number, line in enumerate(lines):
        if draw(st.integers(0, 5)) == 0:
            out.append(" " * draw(st.integers(0, 8)) + f"# comment {number} before")
        if draw(st.integers(0, 4)) == 0:
            out.append("")
        out.append(line + (f"  # trailing {number}" if draw(st.integers(0, 4)) == 0 else ""))
    if draw(st.booleans()):
        out.append(" " * draw(st.integers(0, 4)) + "# the end")
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(out) + (newline if draw(st.integers(0, 4)) else "")
    return ("\ufeff" if draw(st.integers(0, 9)) == 0 else "") + text


operator_jobs = st.lists(
    st.builds(
        lambda name, targets, labels: {
            "job_name": name, "static_configs": [{"targets": targets, **({"labels": labels} if labels else {})}]
        },
        words.map(lambda w: f"op-{w}"),
        st.lists(st.sampled_from(["127.0.0.1:9100", "[::1]:9100", "db.example:9187"]), min_size=1, max_size=2),
        st.dictionaries(st.sampled_from(["team", "env"]), label_values, max_size=2),
    ),
    min_size=1, max_size=4, unique_by=lambda job: job["job_name"],
)
rule_globs = st.lists(st.sampled_from(["rules/*.yml", "/etc/prometheus/rules/*.yml", "a b/*.rules"]), min_size=1,
                      max_size=3, unique=True)


@st.composite
def prometheus_files(draw) -> str:
    sections = [draw(section("global", {"scrape_interval": "15s", "external_labels": {"site": draw(label_values)}}))]
    sections += [s for s in (draw(managed("scrape_configs", operator_jobs)), draw(managed("rule_files", rule_globs)))
                 if s is not None]
    return draw(decorated(sections))


def owned_job(service: str) -> dict:
    return {"job_name": f"ixnode-{service}-job", "file_sd_configs": [{"files": [f"/t/ixnode-{service}.json"]}]}


def _load(text: str) -> dict:
    return yaml.safe_load(text.lstrip("\ufeff")) or {}


def _comments(text: str) -> list[str]:
    """The generated comments (``# comment 3 before``, ``# trailing 5``, ``# the end``)."""
    return [line[line.index("# ") :].strip() for line in text.replace("\r\n", "\n").split("\n") if "# " in line]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=prometheus_files(), services=st.lists(st.sampled_from(["a", "b", "c"]), max_size=3, unique=True))
def test_any_prometheus_style(text, services):
    jobs = {s: owned_job(s) for s in services}
    merged = merge_prometheus_config(text, jobs=jobs, rules_glob=GLOB)
    before, after = _load(text), _load(merged)
    assert owned_jobs(after) == jobs
    operator_jobs_after = [j for j in after.get("scrape_configs") or [] if j not in jobs.values()]
    assert operator_jobs_after == (before.get("scrape_configs") or [])
    assert [r for r in after.get("rule_files") or [] if r != GLOB] == (before.get("rule_files") or [])
    assert (GLOB in (after.get("rule_files") or [])) == bool(services)
    assert after["global"] == before["global"]
    for comment in _comments(text):
        assert comment in merged
    if "\r\n" in text and services:
        assert "\n" not in merged.replace("\r\n", ""), "CRLF files get CRLF lines"
    assert merge_prometheus_config(merged, jobs=jobs, rules_glob=GLOB) is merged
    assert merge_prometheus_config(merged, jobs=dict.fromkeys(services), rules_glob=GLOB) == text


operator_receivers = ["ops", "dba", "web"]
operator_routes = st.lists(
    st.builds(
        lambda receiver, team, nested: {
            "matchers": [f'team="{team}"'], "receiver": receiver,
            **({"routes": [{"matchers": ['severity="critical"'], "receiver": "dba"}]} if nested else {}),
        },
        st.sampled_from(operator_receivers), words, st.booleans(),
    ),
    min_size=1, max_size=3,
)


@st.composite
def alertmanager_files(draw) -> str:
    route: dict[str, Any] = {"receiver": "ops"}
    if draw(st.booleans()):
        route["group_by"] = ["alertname"]
    routes_shape = draw(st.sampled_from(["absent", "empty-value", "empty-list", "items"]))
    routes = [] if routes_shape == "empty-list" else draw(operator_routes)
    how = draw(st.sampled_from(["one-style", "block-route-flow-routes"]))
    if routes_shape == "absent":
        route_text = draw(section("route", route))
    elif routes_shape == "empty-value":
        route_text = _dump({"route": route}, flow=False, indented=True, indent=2) + "  routes:\n"
    elif how == "one-style":
        route_text = draw(section("route", {**route, "routes": routes}))
    else:
        route_text = (_dump({"route": route}, flow=False, indented=True, indent=2)
                      + f"  routes: {_dump(routes, flow=True, indented=False, indent=2)}")
    receivers = draw(section("receivers", [{"name": name} for name in operator_receivers]))
    return draw(decorated([route_text, receivers]))


def owned_pair(service: str) -> tuple[dict, dict]:
    return (
        {"receiver": f"ixnode-{service}", "matchers": [f'service="{service}"'], "continue": False},
        {"name": f"ixnode-{service}", "webhook_configs": [{"url": f"http://127.0.0.1:8000/hook/{service}"}]},
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=alertmanager_files(), services=st.lists(st.sampled_from(["a", "b", "c"]), max_size=3, unique=True))
def test_any_alertmanager_style(text, services):
    pairs = {s: owned_pair(s) for s in services}
    merged = merge_alertmanager_config(text, services=pairs)
    before, after = _load(text), _load(merged)
    owned_routes = [pairs[s][0] for s in sorted(services)]
    assert (after["route"].get("routes") or [])[: len(services)] == owned_routes, "owned routes go first"
    assert (after["route"].get("routes") or [])[len(services) :] == (before["route"].get("routes") or [])
    assert after["receivers"] == before["receivers"] + [pairs[s][1] for s in sorted(services)]
    assert {k: v for k, v in after["route"].items() if k != "routes"} == {
        k: v for k, v in before["route"].items() if k != "routes"
    }
    for comment in _comments(text):
        assert comment in merged
    assert merge_alertmanager_config(merged, services=pairs) is merged
    assert merge_alertmanager_config(merged, services=dict.fromkeys(services)) == text
