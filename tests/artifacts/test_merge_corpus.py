"""The merge on every example and test config that Prometheus 2.42 and Alertmanager 0.25 ship (as Debian packages
them, see :mod:`tests.fixtures.upstream_configs`): each file the real tool accepts takes the product's items, still
passes the tool, and comes back byte for byte when they are removed; every other file (the projects' ``*.bad.yml``,
rule files, configs of discovery mechanisms Debian's build lacks) is either merged the same way or refused with a
:class:`MergeError`, never anything else.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from artifacts.merge import MergeError, merge_alertmanager_config, merge_prometheus_config, owned_jobs
from artifacts.renderers import naming
from artifacts.renderers.alertmanager import alertmanager_receiver_data, alertmanager_route_data
from artifacts.renderers.context import RenderContext
from artifacts.renderers.prometheus import prometheus_job_data, render_alert_rules, render_targets_file
from autoscaling.models import AutoscalingConfig
from tests.fixtures.upstream_configs import (
    ALERTMANAGER_SOURCE,
    Corpus,
    amtool_verdicts,
    candidate_files,
    missing_sources,
    prometheus_source_dir,
    promtool_verdicts,
)

CANDIDATES = candidate_files()
SERVICES = ("corpus-a", "corpus-b")


def corpus_config(service: str) -> AutoscalingConfig:
    return AutoscalingConfig(
        service_name=service, prometheus_job_name=f"ixnode-{service}-service", vm_prefix=service, min_vms=1,
        max_vms=3, scale_out_cpu_threshold=80, scale_out_memory_threshold=85, scale_out_duration_minutes=1,
        scale_in_cpu_threshold=20, scale_in_memory_threshold=30, scale_in_duration_minutes=5,
        alert_repeat_interval_seconds=300,
    )


def context(folder: Path) -> RenderContext:
    return RenderContext(
        public_url="http://127.0.0.1:8000", webhook_token="corpus-token",
        targets_dir=str(folder / "ixnode-targets"), rules_dir=str(folder / "ixnode-rules"),
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    missing = missing_sources()
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run scripts/install-test-deps.sh", pytrace=False)
    return Corpus.build(tmp_path_factory.mktemp("corpus"))


def test_the_corpus_is_what_the_packages_ship(corpus):
    """A shrunken or empty corpus would make the round trips below prove nothing."""
    accepted_prometheus = {original for original, copy in corpus.copies.items() if not corpus.prometheus[copy]}
    accepted_alertmanager = {original for original, copy in corpus.copies.items() if not corpus.alertmanager[copy]}
    assert len(CANDIDATES) >= 200
    assert len(accepted_prometheus) >= 30, sorted(accepted_prometheus)
    assert len(accepted_alertmanager) >= 15, sorted(accepted_alertmanager)
    assert {
        Path("/usr/share/doc/prometheus/examples/prometheus.yml"),
        prometheus_source_dir() / "config/testdata/conf.good.yml",
        prometheus_source_dir() / "config/testdata/roundtrip.good.yml",
        prometheus_source_dir() / "documentation/examples/prometheus.yml",
    } <= accepted_prometheus
    assert {
        Path("/usr/share/doc/prometheus-alertmanager/examples/simple.yml"),
        ALERTMANAGER_SOURCE / "config/testdata/conf.good.yml",
        ALERTMANAGER_SOURCE / "cli/testdata/conf.routing.yml",
    } <= accepted_alertmanager


def _prometheus_items(folder: Path) -> tuple[RenderContext, dict[str, dict]]:
    """The two services' scrape jobs, their rules and targets files written under ``folder``."""
    ctx = context(folder)
    configs = [corpus_config(service) for service in SERVICES]
    for directory in (ctx.rules_dir, ctx.targets_dir):
        Path(directory).mkdir(exist_ok=True)
    for config in configs:
        Path(ctx.rules_path(config.service_name)).write_text(render_alert_rules(config, ctx))
        Path(ctx.targets_path(config.service_name)).write_text(render_targets_file(config, ["127.0.0.1:9100"]))
    return ctx, {config.service_name: prometheus_job_data(config, ctx) for config in configs}


def _alertmanager_items(folder: Path) -> dict[str, tuple[dict, dict]]:
    ctx = context(folder)
    configs = [corpus_config(service) for service in SERVICES]
    return {c.service_name: (alertmanager_route_data(c, ctx), alertmanager_receiver_data(c, ctx)) for c in configs}


def _merge_prometheus(copy: Path, text: str) -> tuple[str, str]:
    """(merged, what removing the items again gives)."""
    ctx, jobs = _prometheus_items(copy.parent)
    merged = merge_prometheus_config(text, jobs=jobs, rules_glob=ctx.rules_glob, label=str(copy))
    restored = merge_prometheus_config(merged, jobs=dict.fromkeys(jobs), rules_glob=ctx.rules_glob, label=str(copy))
    return merged, restored


def _merge_alertmanager(copy: Path, text: str) -> tuple[str, str]:
    pairs = _alertmanager_items(copy.parent)
    merged = merge_alertmanager_config(text, services=pairs, label=str(copy))
    return merged, merge_alertmanager_config(merged, services=dict.fromkeys(pairs), label=str(copy))


@pytest.mark.parametrize(
    ("folder", "path"), CANDIDATES, ids=[f"{f.name}/{p.relative_to(f.path)}" for f, p in CANDIDATES]
)
def test_shipped_config(corpus, folder, path):
    copy = corpus.copies[path]
    text = copy.read_bytes().decode("utf-8")
    back = "removing the product's items must give the operator's file back byte for byte"
    if not corpus.prometheus[copy]:
        merged, restored = _merge_prometheus(copy, text)
        assert restored == text, back
        ctx, jobs = _prometheus_items(copy.parent)
        data = yaml.safe_load(merged)
        assert owned_jobs(data) == jobs and data["rule_files"].count(ctx.rules_glob) == 1
        assert merge_prometheus_config(merged, jobs=jobs, rules_glob=ctx.rules_glob) is merged, "no change: same text"
        merged_path = copy.with_name(f"{copy.stem}.ixnode-prometheus{copy.suffix}")  # next to it: relative paths
        merged_path.write_bytes(merged.encode())
        verdict = promtool_verdicts([merged_path])[merged_path]
        assert verdict == "", f"promtool accepts {path} but not the merged file:\n{verdict}"
    if not corpus.alertmanager[copy]:
        merged, restored = _merge_alertmanager(copy, text)
        assert restored == text, back
        data = yaml.safe_load(merged)
        owned = [naming.receiver_name(s) for s in SERVICES]
        assert [r["receiver"] for r in data["route"]["routes"][: len(SERVICES)]] == owned, "owned routes go first"
        assert [r["name"] for r in data["receivers"]][-len(SERVICES) :] == owned
        assert merge_alertmanager_config(merged, services=_alertmanager_items(copy.parent)) is merged
        merged_path = copy.with_name(f"{copy.stem}.ixnode-alertmanager{copy.suffix}")
        merged_path.write_bytes(merged.encode())
        verdict = amtool_verdicts([merged_path])[merged_path]
        assert verdict == "", f"amtool accepts {path} but not the merged file:\n{verdict}"
    if corpus.prometheus[copy] and corpus.alertmanager[copy]:
        # Neither tool takes it. The merge still either edits it cleanly (the file comes back whole) or refuses it
        # with a MergeError; any other exception fails the test.
        for merge in (_merge_prometheus, _merge_alertmanager):
            try:
                _merged, restored = merge(copy, text)
            except MergeError:
                continue
            assert restored == text, back
