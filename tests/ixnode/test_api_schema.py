"""OpenAPI schema (drf-spectacular) and a schemathesis run against it: no operation answers 5xx, and every answer
conforms to the schema (status codes, content types, headers, bodies)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from rest_framework.authtoken.models import Token

pytest_plugins = ["tests.fixtures.prometheus", "tests.fixtures.prometheus_history"]

WEBHOOK_TOKEN = "schema-test-webhook-token"
CONFORMANCE = [
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
]


@pytest.fixture
def keep_test_connection():
    """Calling the WSGI app directly fires request_finished, whose close_old_connections would close the test's
    database connection (and its transaction); Django's own test client disconnects it the same way."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_world(db, keep_test_connection, config, prometheus_server, prometheus_url, settings, django_user_model,
              make_event, make_run):
    """A superuser token, a config whose count Prometheus answers, the webhook token, and events as runs leave
    them (a finished one with no Jenkins build, a run in flight whose later stages have not started)."""
    settings.IXNODE_WEBHOOK_TOKEN = WEBHOOK_TOKEN
    config.prometheus_job_name = prometheus_server.job_with_count(2)
    config.save()
    make_event(config, jenkins_build_url="", minutes_ago=30)
    make_run(config)
    user = django_user_model.objects.create_superuser("schema", "schema@example.invalid", "pw-schema-123456")
    return {"token": Token.objects.create(user=user).key, "config": config}


def _load_schema():
    # Loaded at collection through the WSGI app (serving the schema touches no database; opened for the loading
    # only, since there is no user to sign in yet). schemathesis' lazy ``from_fixture`` does not work with pytest 9
    # (it reads a removed private attribute).
    from django.test import override_settings

    from ixnode.wsgi import application

    with override_settings(IXNODE_API_SCHEMA_PUBLIC=True):
        return schemathesis.openapi.from_wsgi("/api/schema/", application)


schema = _load_schema()


@schema.parametrize()
@hsettings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_server_error(case, api_world):
    if case.operation.path.startswith("/api/webhook/"):
        headers = {"Authorization": f"Bearer {WEBHOOK_TOKEN}"}
    else:
        headers = {"Authorization": f"Token {api_world['token']}"}
    response = case.call(headers=headers)
    # 502/503 with a JSON reason are deliberate answers (vCenter unreachable in this test, database busy), not
    # crashes; every other 5xx is a server error.
    deliberate = response.status_code in (502, 503) and "detail" in (response.json() or {})
    assert response.status_code < 500 or deliberate, (
        case.method, case.formatted_path, response.status_code, response.text[:500])
    # Every answer is one the schema documents, in its documented shape.
    case.validate_response(response, checks=CONFORMANCE, headers=headers)


def test_schema_lists_the_endpoints(admin_client):
    response = admin_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    document = response.json()
    paths = document["paths"]
    for path in ("/api/autoscaling/configs/", "/api/autoscaling/configs/{service_name}/", "/api/events/",
                 "/api/events/{id}/", "/api/webhook/autoscale/{service_name}",
                 "/api/policies/{service_name}/whatif-runs/", "/api/policies/{service_name}/whatif-runs/{run_id}/",
                 "/api/policies/{service_name}/whatif-runs/{run_id}/plot"):
        assert path in paths, sorted(paths)
    config_schema = document["components"]["schemas"]["AutoscalingConfig"]["properties"]
    assert {"serviceName", "templateId", "monitoring", "network", "f5"} <= set(config_schema)
    assert document["components"]["securitySchemes"]["webhookBearer"] == {
        "type": "http", "scheme": "bearer", "description": "IXNODE_WEBHOOK_TOKEN"}


def test_schema_documents_the_routine_answers_and_json_bodies_only(admin_client):
    """Every operation documents the answers any request can get (auth, not found, limits, database down), the
    webhook states its label requirement and takes JSON only, and the served-as-empty fields are typed so."""
    document = admin_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    webhook = document["paths"]["/api/webhook/autoscale/{service_name}"]["post"]
    assert list(webhook["requestBody"]["content"]) == ["application/json"]
    assert "`autoscale`" in webhook["description"] and "`scale-out`" in webhook["description"]
    assert {"400", "401", "404", "413", "415", "503"} <= set(webhook["responses"])
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "503" in responses and "Retry-After" in responses["503"]["headers"], (method, path)
            if "requestBody" in operation:
                assert list(operation["requestBody"]["content"]) == ["application/json"], (method, path)
                assert {"400", "413", "415"} <= set(responses), (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            for status, answer in responses.items():
                if int(status) >= 400:
                    assert "content" in answer, (method, path, status)
    schemas = document["components"]["schemas"]
    assert "format" not in schemas["ScaleEvent"]["properties"]["jenkinsBuildUrl"]
    stage = schemas["ScaleEventStage"]["properties"]
    assert stage["startedAt"].get("nullable") and stage["finishedAt"].get("nullable")


def test_a_real_notification_and_its_decisions_conform(api_world):
    """The webhook's 200 (decisions and ignored alerts) as the schema describes it — random bodies rarely get one."""
    alert = {"status": "firing", "labels": {"alertname": "AutoVmTestHighCpu", "autoscale": "scale-out"},
             "annotations": {}, "startsAt": "2025-01-01T00:06:00Z", "endsAt": "0001-01-01T00:00:00Z",
             "generatorURL": "", "fingerprint": "c0ffee"}
    resolved = {**alert, "status": "resolved", "fingerprint": "dec0de"}
    body = {"version": "4", "groupKey": "g", "truncatedAlerts": 0, "status": "firing", "receiver": "r",
            "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "",
            "alerts": [alert, resolved]}
    headers = {"Authorization": f"Bearer {WEBHOOK_TOKEN}"}
    case = schema["/api/webhook/autoscale/{service_name}"]["POST"].Case(
        path_parameters={"service_name": api_world["config"].service_name}, body=body, media_type="application/json")
    response = case.call(headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["decisions"] and response.json()["ignored"]
    case.validate_response(response, checks=CONFORMANCE, headers=headers)
    events = schema["/api/events/"]["GET"].Case(query={"service": api_world["config"].service_name})
    token = {"Authorization": f"Token {api_world['token']}"}
    listed = events.call(headers=token)
    assert listed.status_code == 200 and listed.json()["count"] >= 3
    events.validate_response(listed, checks=CONFORMANCE, headers=token)


def test_a_whatif_run_its_figures_and_its_plot_conform(api_world, prometheus_history_gap, settings):
    """The what-if API's answers as the schema describes them — a start (202), a start while one is pending (200),
    the run before and after it ran, the list, the plot (PNG) — against the what-if tests' backfilled Prometheus."""
    from policies.whatif import whatif_run

    settings.IXNODE_PROMETHEUS_URL = prometheus_history_gap.url
    config = api_world["config"]
    config.prometheus_job_name = prometheus_history_gap.job
    config.save()
    token = {"Authorization": f"Token {api_world['token']}"}
    service = {"service_name": config.service_name}
    runs = "/api/policies/{service_name}/whatif-runs/"

    def call(path, method="GET", expected=200, ids=None, **kwargs):
        case = schema[path][method].Case(path_parameters=service | (ids or {}), **kwargs)
        response = case.call(headers=token)
        assert response.status_code == expected, (path, response.status_code, response.text[:500])
        case.validate_response(response, checks=CONFORMANCE, headers=token)
        return response

    started = call(runs, "POST", 202, body={"days": 1}, media_type="application/json").json()
    again = call(runs, "POST", 200, body={"days": 2}, media_type="application/json").json()
    assert again["id"] == started["id"] and again["created"] is False
    run = {"run_id": started["id"]}
    assert call(runs + "{run_id}/", ids=run).json()["status"] == "pending"
    assert call(runs + "{run_id}/plot", expected=404, ids=run).json()["code"] == "no_plot"
    whatif_run(run_id=started["id"])
    done = call(runs + "{run_id}/", ids=run).json()
    assert done["status"] == "succeeded", done["error"]
    assert done["result"]["rows"] and done["plotUrl"].endswith(f"/whatif-runs/{started['id']}/plot")
    assert call(runs + "{run_id}/plot", ids=run).content.startswith(b"\x89PNG")
    assert call(runs).json()["count"] == 1
