"""``POST /api/webhook/autoscale/<serviceName>``: auth, validation, decisions, metrics, concurrency."""

from __future__ import annotations

import json
import threading

import pytest
import requests
from django.db import connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from events.choices import Decision, EventStatus
from events.models import ScaleEvent
from tests.fixtures.webhook import TOKEN

pytest_plugins = ["tests.fixtures.webhook"]



def alert(action="scale-out", status="firing", fingerprint="f00dfeed", **labels):
    return {
        "status": status,
        "labels": {"alertname": "AutoVmTestHighCpu", "autoscale": action, **labels},
        "annotations": {"summary": "CPU above 80 %"},
        "startsAt": "2025-01-01T00:06:00.000Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=up",
        "fingerprint": fingerprint,
    }


def payload(*alerts, status="firing"):
    return {
        "version": "4",
        "groupKey": '{}:{alertname="AutoVmTestHighCpu"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "ixnode-auto-vm-test",
        "groupLabels": {"alertname": "AutoVmTestHighCpu"},
        "commonLabels": {"alertname": "AutoVmTestHighCpu"},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "alerts": list(alerts) or [alert()],
    }


@pytest.fixture(scope="module")
def counts(prometheus_server):
    prometheus_server.ensure_counts([2, 4])
    return prometheus_server


@pytest.fixture
def service(counts, webhook_service):
    return webhook_service(2)


@pytest.fixture
def api(webhook_api):
    return webhook_api


URL = "/api/webhook/autoscale/auto-vm-test"


def post(api, body, url=URL):
    return api.post(url, data=json.dumps(body), content_type="application/json")


# --- authentication -----------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", "Token test-webhook-token", "Bearer", "Bearer a b",
                                    "Basic dGVzdDp0ZXN0"])
def test_missing_or_wrong_token_is_401(service, header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = post(client, payload())
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "detail" in response.json()
    assert not ScaleEvent.objects.exists()


def test_unset_token_refuses_everything_with_503(service, api, settings):
    settings.IXNODE_WEBHOOK_TOKEN = ""
    response = post(api, payload())
    assert response.status_code == 503
    assert "IXNODE_WEBHOOK_TOKEN is not set" in response.json()["detail"]
    assert not ScaleEvent.objects.exists()


def test_unknown_service_is_404_json(service, api):
    response = post(api, payload(), url="/api/webhook/autoscale/no-such-service")
    assert response.status_code == 404
    assert response.json() == {"detail": "No autoscaling config for service 'no-such-service'."}


def test_errors_speak_the_operators_language(config, webhook_api, settings):
    """Alertmanager sends no Accept-Language: a team that set LANGUAGE_CODE=ko reads the webhook's errors (in
    Alertmanager's log) in Korean; nothing of them is decided, so no Prometheus is needed."""
    settings.IXNODE_WEBHOOK_TOKEN = TOKEN
    settings.LANGUAGE_CODE, settings.IXNODE_LANGUAGE_FROM_BROWSER = "ko", False
    missing = post(webhook_api, payload(), url="/api/webhook/autoscale/no-such-service")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "서비스 'no-such-service'의 오토스케일링 설정이 없습니다."}
    unlabelled = post(webhook_api, payload(alert() | {"labels": {"alertname": "X"}}))
    assert unlabelled.status_code == 400
    assert unlabelled.json()["detail"] == ("잘못된 알림이라 아무것도 결정하지 않았습니다: alerts[0].labels: 알림에 "
                                           "'autoscale' 레이블이 없습니다. 이 레이블은 다음 중 하나여야 합니다: "
                                           "scale-out, scale-in.")
    sideways = post(webhook_api, payload(alert(action="scale-sideways")))
    assert "알 수 없는 'autoscale' 레이블 값 'scale-sideways'" in sideways.json()["alerts"]["0"]["labels"][0]
    hostile = post(webhook_api, payload(alert(**{"bad\x01name": "x"})))
    assert "레이블 이름 'bad\\u0001name'에 U+0001이(가) 있습니다" in hostile.json()["detail"], hostile.json()
    for header, korean in [("Bearer wrong-token", "웹훅 토큰이 올바르지 않습니다."),
                           ("Bearer a b", "잘못된 bearer 헤더입니다: 공백 없이 토큰 하나만 보내십시오."),
                           ("Basic dGVzdDp0ZXN0", "'Authorization: Bearer <IXNODE_WEBHOOK_TOKEN>' 헤더를 보내십시오.")]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        refused = post(client, payload())
        assert refused.status_code == 401 and refused.json() == {"detail": korean}
    settings.IXNODE_WEBHOOK_TOKEN = ""
    disabled = post(webhook_api, payload())
    assert disabled.status_code == 503 and disabled.json()["detail"].startswith("웹훅이 꺼져 있습니다")
    assert not ScaleEvent.objects.exists()


def test_token_checked_before_service_lookup(service):
    response = post(APIClient(), payload(), url="/api/webhook/autoscale/no-such-service")
    assert response.status_code == 401


# --- validation ---------------------------------------------------------------------------------------


def test_malformed_json_is_400(service, api):
    response = api.post(URL, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda p: p.pop("version"), ("version",)),
        (lambda p: p.update(version="3"), ("version",)),
        (lambda p: p.pop("alerts"), ("alerts",)),
        (lambda p: p.update(alerts="many"), ("alerts",)),
        (lambda p: p.update(alerts=[42]), ("alerts", 0, "non_field_errors")),
        (lambda p: p.update(status="exploding"), ("status",)),
        (lambda p: p.update(truncatedAlerts="some"), ("truncatedAlerts",)),
        (lambda p: p.update(commonLabels=["a"]), ("commonLabels",)),
        (lambda p: p["alerts"][0].update(status=None), ("alerts", 0, "status")),
        (lambda p: p["alerts"][0].update(labels="autoscale=scale-out"), ("alerts", 0, "labels")),
        (lambda p: p["alerts"][0].update(labels={"alertname": "X"}), ("alerts", 0, "labels")),
        (lambda p: p["alerts"][0]["labels"].update(autoscale="scale-up"), ("alerts", 0, "labels")),
        (lambda p: p["alerts"][0]["labels"].update(autoscale=["scale-out"]), ("alerts", 0, "labels")),
        (lambda p: p["alerts"][0].update(startsAt="yesterday"), ("alerts", 0, "startsAt")),
        (lambda p: p["alerts"][0].update(fingerprint={"a": 1}), ("alerts", 0, "fingerprint")),
    ],
)
def test_bad_payload_is_400_with_field_errors(service, api, mutate, path):
    body = payload()
    mutate(body)
    response = post(api, body)
    assert response.status_code == 400, response.content
    errors = response.json()
    for key in path:  # DRF reports list items keyed by their index
        errors = errors[str(key)] if isinstance(errors, dict) else errors[key]
    assert errors, response.json()
    assert not ScaleEvent.objects.exists()


def test_unknown_autoscale_value_message(service, api):
    body = payload(alert(action="scale-sideways"))
    response = post(api, body)
    assert response.status_code == 400
    message = response.json()["alerts"]["0"]["labels"][0]
    assert "scale-sideways" in message and "scale-out, scale-in" in message


@pytest.mark.parametrize("body", ["[]", "null", '"text"', "42", "{}"])
def test_non_object_bodies_are_400(service, api, body):
    response = api.post(URL, data=body, content_type="application/json")
    assert response.status_code == 400


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
        max_leaves=20,
    )
)
def test_fuzzed_bodies_never_500(service, api, body):
    response = post(api, body)
    assert response.status_code in (200, 400), response.content


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(["status", "labels", "fingerprint", "startsAt", "endsAt", "annotations"]),
                       st.none() | st.integers() | st.text(max_size=10) | st.dictionaries(st.text(max_size=5),
                                                                                           st.text(max_size=5))))
def test_fuzzed_alerts_never_500(service, api, overrides):
    item = alert()
    item.update(overrides)
    response = post(api, payload(item))
    assert response.status_code in (200, 400), response.content


# --- decisions ----------------------------------------------------------------------------------------


def test_firing_alert_is_decided_and_recorded(service, api):
    response = post(api, payload(alert(fingerprint="abc123")))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["service"] == "auto-vm-test"
    assert body["ignored"] == []
    [decision] = body["decisions"]
    assert decision["action"] == "scale-out"
    assert decision["decision"] == Decision.ALLOW
    assert decision["count"] == 1 and decision["current_vm_count"] == 2
    assert decision["status"] == EventStatus.QUEUED
    event = ScaleEvent.objects.get(pk=decision["event_id"])
    assert (event.alert_fingerprint, event.alert_name) == ("abc123", "AutoVmTestHighCpu")
    assert event.alert_labels["autoscale"] == "scale-out"
    assert event.triggered_by == "alertmanager:ixnode-auto-vm-test"
    assert event.alert_starts_at.isoformat().startswith("2025-01-01T00:06")


def test_trailing_slash_accepted(service, api):
    assert post(api, payload(), url=URL + "/").status_code == 200


def test_resolved_alerts_start_nothing(service, api):
    response = post(api, payload(alert(status="resolved"), status="resolved"))
    assert response.status_code == 200
    body = response.json()
    assert body["decisions"] == []
    assert body["ignored"][0]["status"] == "resolved"
    assert body["ignored"][0]["reason"] == "Resolved alerts start nothing."
    assert not ScaleEvent.objects.exists()


def test_each_firing_alert_gets_one_decision(service, api):
    body = payload(alert(fingerprint="a1"), alert(status="resolved", fingerprint="a2"),
                   alert(action="scale-in", fingerprint="a3"))
    response = post(api, body)
    decisions = response.json()["decisions"]
    assert [(d["action"], d["decision"]) for d in decisions] == [
        ("scale-out", Decision.ALLOW),
        ("scale-in", Decision.BLOCK_IN_PROGRESS),
    ]
    assert [i["fingerprint"] for i in response.json()["ignored"]] == ["a2"]
    assert ScaleEvent.objects.count() == 2


def test_at_maximum_is_block_max(service, api, counts):
    service.prometheus_job_name = counts.job_with_count(4)
    service.save()
    decision = post(api, payload()).json()["decisions"][0]
    assert decision["decision"] == Decision.BLOCK_MAX
    assert decision["count"] == 0


def _metric_samples(client) -> dict[tuple[str, frozenset], float]:
    """Every sample ``/metrics`` serves, by name and labels (absent = never counted in this process)."""
    text = client.get("/metrics").content.decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_count_decisions_and_latency(service, api, client):
    # The counters live for the whole test process: compare before and after, so what is asserted is what this
    # test's two calls produced, not what an earlier test left behind.
    def decided(decision):
        return ("ixnode_decisions_total",
                frozenset({"service": "auto-vm-test", "action": "scale-out", "decision": decision}.items()))

    answered = ("ixnode_webhook_duration_seconds_count", frozenset({"service": "auto-vm-test"}.items()))
    before = _metric_samples(client)
    first = post(api, payload(alert(fingerprint="metrics-1"))).json()
    # Another alert instance (not a repeat delivery of the first, which would be answered, not decided again).
    second = post(api, payload(alert(fingerprint="metrics-2"))).json()
    assert [d["decision"] for d in first["decisions"] + second["decisions"]] == [
        Decision.ALLOW, Decision.BLOCK_IN_PROGRESS]
    after = _metric_samples(client)
    assert after.get(decided(Decision.ALLOW), 0) - before.get(decided(Decision.ALLOW), 0) == 1
    assert after.get(decided(Decision.BLOCK_IN_PROGRESS), 0) - before.get(decided(Decision.BLOCK_IN_PROGRESS), 0) == 1
    assert after.get(answered, 0) - before.get(answered, 0) == 2


# --- concurrency --------------------------------------------------------------------------------------


def _fire_concurrently(url: str, n: int) -> list[requests.Response]:
    barrier = threading.Barrier(n)
    responses: list[requests.Response | Exception] = [None] * n  # type: ignore[list-item]
    body = json.dumps(payload(alert(fingerprint="same-alert")))

    def worker(i: int) -> None:
        session = requests.Session()
        barrier.wait()
        try:
            responses[i] = session.post(
                url, data=body, timeout=60,
                headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
            )
        except Exception as exc:  # reported below
            responses[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    failures = [r for r in responses if not isinstance(r, requests.Response)]
    assert not failures, failures
    return responses  # type: ignore[return-value]


def _assert_exactly_one_allow(live_server, service, caplog):
    responses = _fire_concurrently(f"{live_server.url}{URL}", 20)
    # The lock decided it, not the unique index behind it (the last line of defence).
    assert not [r for r in caplog.records if "unique index rejected" in r.getMessage()]
    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses if r.status_code != 200]
    decisions = [d["decision"] for r in responses for d in r.json()["decisions"]]
    assert decisions == [Decision.ALLOW], decisions
    # The other 19 deliveries of the same alert instance are answered with that decision, not decided again.
    event = ScaleEvent.objects.get(config=service)
    repeats = [i for r in responses for i in r.json()["ignored"]]
    assert len(repeats) == 19 and {i["event_id"] for i in repeats} == {event.pk}, repeats
    assert event.status == EventStatus.QUEUED and event.deliveries == 20


@pytest.mark.postgres
@pytest.mark.skipif(
    not __import__("os").environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="PostgreSQL-only (row locks): runs when DATABASE_URL points at PostgreSQL",
)
def test_twenty_concurrent_identical_webhooks_one_allow_postgresql(live_server, service, caplog):
    assert connection.vendor == "postgresql"
    _assert_exactly_one_allow(live_server, service, caplog)


@pytest.mark.skipif(
    __import__("os").environ.get("DATABASE_URL", "").startswith("postgres"), reason="SQLite variant"
)
def test_twenty_concurrent_identical_webhooks_one_allow_sqlite(live_server, service, caplog):
    assert connection.vendor == "sqlite"
    _assert_exactly_one_allow(live_server, service, caplog)
