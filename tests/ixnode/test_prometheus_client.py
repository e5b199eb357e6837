"""The Prometheus client against a real Prometheus, and against broken answers from a scripted server."""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest

from ixnode.integrations.prometheus.client import (
    PrometheusBadResponse,
    PrometheusClient,
    PrometheusCountUnsettled,
    PrometheusError,
    PrometheusJobUnknown,
    PrometheusQueryError,
    PrometheusUnavailable,
    prometheus_client,
)

pytest_plugins = ["tests.fixtures.prometheus", "tests.fixtures.scripted_http"]


@pytest.fixture(scope="module")
def jobs(prometheus_server):
    # One reload and one wait for all jobs of this module (Prometheus applies target changes every ~5 s).
    prometheus_server.add_jobs(
        {
            # Nothing listens on these ports: the targets are down but still the job's registered VMs.
            "pc-count": ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"],
            "pc-other": ["127.0.0.1:9"],
            "pc-self": [f"127.0.0.1:{prometheus_server.port}"],  # Prometheus scrapes itself: really up
            "pc-empty": [],
        },
        wait=True,
    )
    return prometheus_server


@pytest.fixture
def client(jobs) -> PrometheusClient:
    return PrometheusClient(jobs.url, timeout=5)


def test_target_count_counts_active_targets_of_the_job_whatever_their_health(prometheus_server, client):

    counted = client.target_count("pc-count")
    assert counted.job == "pc-count"
    assert counted.total == 3
    assert counted.up + counted.down + counted.unknown == 3
    assert {t.instance for t in counted.targets} == {"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"}
    assert all(t.scrape_pool == "pc-count" for t in counted.targets)

    prometheus_server.set_targets("pc-count", ["127.0.0.1:1"])
    assert client.target_count("pc-count").total == 1


def test_target_count_reports_up_targets(prometheus_server, client):
    deadline = time.monotonic() + 15
    while client.target_count("pc-self").up != 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    counted = client.target_count("pc-self")
    assert (counted.total, counted.up, counted.down) == (1, 1, 0)


def test_empty_job_counts_zero_once_settled(prometheus_server, client):
    # The module's jobs were loaded moments ago: an empty job is not yet known to be empty...
    with pytest.raises(PrometheusCountUnsettled, match="not finished discovering job 'pc-empty'") as raised:
        client.target_count("pc-empty", settle_seconds=3600)
    assert (raised.value.seen, raised.value.unscraped, raised.value.settle_seconds) == (0, 0, 3600)
    # ...and is once the configuration load is older than the settle time.
    assert client.target_count("pc-empty", settle_seconds=0).total == 0


def test_unknown_job_is_an_error_not_zero(prometheus_server, client):
    with pytest.raises(PrometheusJobUnknown, match="no scrape job 'pc-never-configured'"):
        client.target_count("pc-never-configured")


def test_query_and_query_range(prometheus_server, client):
    deadline = time.monotonic() + 15
    result = client.query('up{job="pc-self"}')
    while not result.samples and time.monotonic() < deadline:
        time.sleep(0.2)
        result = client.query('up{job="pc-self"}')
    assert result.result_type == "vector"
    assert result.samples[0].labels["job"] == "pc-self"
    assert result.samples[0].value in (0.0, 1.0)

    scalar = client.query("1 + 2")
    assert scalar.result_type == "scalar"
    assert scalar.samples[0].value == 3.0

    now = datetime.now(UTC)
    ranged = client.query_range('up{job="pc-self"}', start=now - timedelta(seconds=30), end=now, step_seconds=1)
    assert ranged.result_type == "matrix"
    assert ranged.samples and len(ranged.samples[0].points) >= 1


def test_bad_promql_is_a_query_error(client):
    with pytest.raises(PrometheusQueryError, match="parse error"):
        client.query("up(")


def test_unreachable_prometheus():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = PrometheusClient(f"http://127.0.0.1:{port}", timeout=1)
    with pytest.raises(PrometheusUnavailable, match="unreachable.*IXNODE_PROMETHEUS_URL"):
        client.target_count("any")


def test_timeout(scripted_http_server):
    scripted_http_server.answer("/api/v1/targets", body='{"status":"success","data":{"activeTargets":[]}}', delay=2)
    client = PrometheusClient(scripted_http_server.url, timeout=0.3)
    with pytest.raises(PrometheusUnavailable, match="did not answer within 0.3 s"):
        client.target_count("any")


@pytest.mark.parametrize(
    ("status", "body", "content_type", "error", "fragment"),
    [
        (200, "<html>login</html>", "text/html", PrometheusBadResponse, "not a Prometheus API response"),
        (200, "not json at all", "application/json", PrometheusBadResponse, "not a Prometheus API response"),
        (200, "[1, 2, 3]", "application/json", PrometheusBadResponse, "not a Prometheus API response"),
        (200, '{"status":"success"}', "application/json", PrometheusBadResponse, "not a Prometheus API response"),
        (200, '{"status":"success","data":{}}', "application/json", PrometheusBadResponse, "activeTargets"),
        (200, '{"status":"success","data":{"activeTargets":"x"}}', "application/json", PrometheusBadResponse,
         "activeTargets"),
        (200, '{"status":"success","data":{"activeTargets":[42]}}', "application/json", PrometheusBadResponse,
         "malformed target"),
        (500, "internal error", "text/plain", PrometheusUnavailable, "HTTP 500"),
        (503, '{"status":"error","errorType":"unavailable","error":"starting"}', "application/json",
         PrometheusUnavailable, "starting"),
        (302, "", "text/html", PrometheusBadResponse, "HTTP 302"),
        (404, "not found", "text/plain", PrometheusBadResponse, "HTTP 404"),
    ],
)
def test_malformed_answers(scripted_http_server, status, body, content_type, error, fragment):
    scripted_http_server.answer("/api/v1/targets", status=status, body=body, content_type=content_type)
    client = PrometheusClient(scripted_http_server.url, timeout=2)
    with pytest.raises(error, match=fragment) as caught:
        client.target_count("svc")
    assert isinstance(caught.value, PrometheusError)


def test_status_config_garbage(scripted_http_server):
    scripted_http_server.answer("/api/v1/targets", body='{"status":"success","data":{"activeTargets":[]}}')
    scripted_http_server.answer("/api/v1/status/config", body='{"status":"success","data":{"yaml":"a: [unclosed"}}')
    client = PrometheusClient(scripted_http_server.url, timeout=2)
    with pytest.raises(PrometheusBadResponse, match="not valid YAML"):
        client.target_count("svc")


SCRAPED = "2026-01-01T00:00:01.123456789Z"
NEVER = "0001-01-01T00:00:00Z"


def test_counts_by_scrape_pool_or_job_label(scripted_http_server):
    targets = [
        {"labels": {"job": "svc", "instance": "a"}, "scrapePool": "svc", "health": "up", "lastScrape": SCRAPED},
        {"labels": {"job": "svc", "instance": "b"}, "scrapePool": "file-sd-all", "health": "down",
         "lastScrape": SCRAPED},
        {"labels": {"job": "other", "instance": "c"}, "scrapePool": "other", "health": "up", "lastScrape": SCRAPED},
    ]
    body = json.dumps({"status": "success", "data": {"activeTargets": targets, "droppedTargets": []}})
    scripted_http_server.answer("/api/v1/targets", body=body)
    counted = PrometheusClient(scripted_http_server.url).target_count("svc")
    assert (counted.total, counted.up, counted.down) == (2, 1, 1)
    # A count > 0 proves the job exists: no configuration lookup.
    assert ("GET", "/api/v1/status/config") not in scripted_http_server.requests


def _discovery(server, *, scraped: list[str], loaded_ago: float, date: datetime | None = None,
               start_ago: float | None = None) -> None:
    """A Prometheus whose job 'svc' lists ``scraped`` lastScrape values, loaded ``loaded_ago`` s before its clock."""
    date = date or datetime.now(UTC)
    targets = [{"labels": {"job": "svc", "instance": f"10.0.0.{i}:9100"}, "scrapePool": "svc", "health": "unknown",
                "lastScrape": last} for i, last in enumerate(scraped)]
    server.answer("/api/v1/targets", body=json.dumps({"status": "success", "data": {"activeTargets": targets}}))
    server.answer("/api/v1/status/config", body=json.dumps(
        {"status": "success", "data": {"yaml": "scrape_configs:\n- job_name: svc\n"}}))
    started = date - timedelta(seconds=start_ago if start_ago is not None else loaded_ago)
    loaded = date - timedelta(seconds=loaded_ago)
    server.answer("/api/v1/status/runtimeinfo", body=json.dumps({"status": "success", "data": {
        "startTime": started.isoformat().replace("+00:00", "Z"), "reloadConfigSuccess": True,
        "lastConfigTime": loaded.strftime("%Y-%m-%dT%H:%M:%SZ")}}),
        headers={"Date": date.strftime("%a, %d %b %Y %H:%M:%S GMT")})


@pytest.mark.parametrize(("scraped", "loaded_ago", "settled"), [
    ([], 4, False),  # just started: the job is loaded, its targets not listed yet (~5 s on Prometheus 2.42)
    ([NEVER, NEVER], 6, False),  # listed, never scraped
    ([SCRAPED, NEVER], 6, False),  # half scraped
    ([], 31, True),  # empty for longer than the settle time: really empty
    ([NEVER], 31, True),  # a target added long after the load (a new VM): counted
])
def test_count_only_once_discovery_settled(scripted_http_server, scraped, loaded_ago, settled):
    _discovery(scripted_http_server, scraped=scraped, loaded_ago=loaded_ago)
    client = PrometheusClient(scripted_http_server.url)
    if settled:
        assert client.target_count("svc", settle_seconds=30).total == len(scraped)
        return
    with pytest.raises(PrometheusCountUnsettled, match=r"\(re\)loaded its configuration \d+ s ago.*job 'svc'") as e:
        client.target_count("svc", settle_seconds=30)
    assert (e.value.job, e.value.seen, e.value.unscraped) == ("svc", len(scraped), scraped.count(NEVER))
    assert 3 <= e.value.loaded_ago <= loaded_ago + 1


def test_every_target_scraped_is_settled_without_asking_the_runtime(scripted_http_server):
    _discovery(scripted_http_server, scraped=[SCRAPED, SCRAPED], loaded_ago=1)
    assert PrometheusClient(scripted_http_server.url).target_count("svc", settle_seconds=30).total == 2
    assert ("GET", "/api/v1/status/runtimeinfo") not in scripted_http_server.requests


def test_settle_time_is_measured_on_prometheus_clock(scripted_http_server):
    # Prometheus' clock is an hour behind this machine's: loaded 5 s ago on its clock is still unsettled.
    _discovery(scripted_http_server, scraped=[], loaded_ago=5, date=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(PrometheusCountUnsettled):
        PrometheusClient(scripted_http_server.url).target_count("svc", settle_seconds=30)
    # A reload after the start counts from the reload.
    _discovery(scripted_http_server, scraped=[], loaded_ago=5, start_ago=3600)
    with pytest.raises(PrometheusCountUnsettled):
        PrometheusClient(scripted_http_server.url).target_count("svc", settle_seconds=30)


def test_settle_default_is_the_setting(scripted_http_server, settings):
    _discovery(scripted_http_server, scraped=[], loaded_ago=10)
    settings.IXNODE_PROMETHEUS_DISCOVERY_SETTLE_SECONDS = 5
    assert PrometheusClient(scripted_http_server.url).target_count("svc").total == 0
    settings.IXNODE_PROMETHEUS_DISCOVERY_SETTLE_SECONDS = 30
    with pytest.raises(PrometheusCountUnsettled, match="after 30 s"):
        PrometheusClient(scripted_http_server.url).target_count("svc")


def test_runtime_info_against_the_real_prometheus(client):
    info = client.runtime_info()
    assert info.reload_success and info.start_time <= info.last_config_time + timedelta(seconds=1)
    assert 0 <= info.loaded_ago < 3600


def test_malformed_query_result(scripted_http_server):
    scripted_http_server.answer(
        "/api/v1/query", body='{"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}}'
    )
    with pytest.raises(PrometheusBadResponse, match="vector query result is malformed"):
        PrometheusClient(scripted_http_server.url).query("up")


def test_prometheus_client_follows_settings(settings, scripted_http_server):
    settings.IXNODE_PROMETHEUS_URL = scripted_http_server.url
    settings.IXNODE_PROMETHEUS_TIMEOUT = 1.5
    first = prometheus_client()
    assert first.base_url == scripted_http_server.url and first.timeout == 1.5
    assert prometheus_client() is first
    settings.IXNODE_PROMETHEUS_URL = "http://127.0.0.1:1"
    assert prometheus_client().base_url == "http://127.0.0.1:1"
