"""Issue 12, points 2 and 3: all or nothing per notification, and stored bad keys still render.

The hostile payloads are fixtures (``tests/fixtures/hostile/*.json``, written with JSON escapes: NUL, lone
surrogates, control characters, lengths): a good first alert and a hostile second one. Before the fix, on
PostgreSQL the first alert's ALLOW was committed (its run queued) and the notification answered 503 "database busy"
(retried forever by Alertmanager); on SQLite a surrogate key was stored (200) and broke every page showing the
event. Now the whole notification is validated first: a 400 naming the field (``alerts[1].labels``), nothing
decided, on both databases.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import DataError, connection, transaction
from django_q.models import OrmQ

from autoscaling.api.webhook import AlertmanagerPayloadSerializer, payload_fast_validate
from autoscaling.models import CooldownState
from events.models import ScaleEvent

pytest_plugins = ["tests.fixtures.webhook"]

URL = "/api/webhook/autoscale/auto-vm-test"
HOSTILE = Path(__file__).resolve().parent.parent / "fixtures" / "hostile"

CASES = {
    "label-key-nul": "alerts[1].labels",
    "label-key-lone-surrogate": "alerts[1].labels",
    "label-key-escape": "alerts[1].labels",
    "label-key-c1-control": "alerts[1].labels",
    "label-key-too-long": "alerts[1].labels",
    "label-key-empty": "alerts[1].labels",
    "label-value-bell": "alerts[1].labels",
    "labels-too-many": "alerts[1].labels",
    "label-value-number": "alerts[1].labels",
    "annotation-key-lone-surrogate": "alerts[1].annotations",
    "group-label-key-nul": "groupLabels",
}


@pytest.fixture(scope="module")
def counts(prometheus_server):
    prometheus_server.ensure_counts([2])
    return prometheus_server


@pytest.fixture
def service(counts, webhook_service):
    return webhook_service(2)


@pytest.fixture
def api(webhook_api):
    return webhook_api


def test_every_fixture_is_listed():
    assert sorted(p.stem for p in HOSTILE.glob("*.json")) == sorted(CASES)


@pytest.mark.parametrize(("name", "field"), sorted(CASES.items()))
def test_hostile_second_alert_is_400_with_the_field_and_nothing_is_decided(service, api, name, field):
    body = (HOSTILE / f"{name}.json").read_bytes()
    response = api.post(URL, data=body, content_type="application/json")

    assert response.status_code == 400, (response.status_code, response.content[:500])
    answer = json.loads(response.content)  # valid UTF-8 JSON: a hostile name is echoed escaped
    assert field in answer["fields"], answer
    assert answer["detail"].startswith(f"Invalid notification, nothing was decided: {field}"), answer["detail"]
    # All or nothing: the good first alert was not decided either, no run queued, no cooldown started.
    assert not ScaleEvent.objects.exists()
    assert not OrmQ.objects.exists()
    assert not CooldownState.objects.filter(last_scale_out_at__isnull=False).exists()


@pytest.mark.parametrize("name", sorted(CASES))
def test_fast_path_and_serializer_refuse_the_same(name):
    data = json.loads((HOSTILE / f"{name}.json").read_text())
    assert payload_fast_validate(data) is None
    assert not AlertmanagerPayloadSerializer(data=data).is_valid()


def test_the_hostile_name_is_shown_escaped(service, api):
    response = api.post(URL, data=(HOSTILE / "label-key-lone-surrogate.json").read_bytes(),
                        content_type="application/json")
    message = json.loads(response.content)["fields"]["alerts[1].labels"][0]
    assert "team\\ud800" in message and "U+D800" in message


def test_printable_unicode_labels_are_accepted(service, api):
    """What is refused is only what cannot be stored or shown: Korean, emoji, tabs in values are fine."""
    body = json.loads((HOSTILE / "label-key-nul.json").read_text())
    body["alerts"][1]["labels"] = {"alertname": "높은CPU", "autoscale": "scale-out", "팀": "운영 🚀", "note": "a\tb"}
    response = api.post(URL, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    labels = [event.alert_labels for event in ScaleEvent.objects.order_by("id")]
    assert len(labels) == 2 and labels[1]["팀"] == "운영 🚀" and labels[1]["note"] == "a\tb"


def test_a_database_error_is_logged_with_its_cause(service, api, monkeypatch, caplog, settings):
    """A transient database error is still a 503 for a retry, and the log says what it was."""
    from django.db import OperationalError

    import autoscaling.api.webhook as webhook

    def busy(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(webhook, "alertmanager_notification_handle", busy)
    settings.IXNODE_HTTP_RETRY_AFTER_SECONDS = 7  # the same Retry-After as every other 503
    body = json.loads((HOSTILE / "label-key-nul.json").read_text())
    body["alerts"] = body["alerts"][:1]
    response = api.post(URL, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 503 and response["Retry-After"] == "7"
    assert any("OperationalError: database is locked" in r.getMessage() for r in caplog.records)


# --- point 3: a bad key already stored ------------------------------------------------------------------------


BAD_LABELS = {"alertname": "X", "autoscale": "scale-out", "team\ud800": "x", "nul\u0000": "y"}


@pytest.fixture
def stored_bad_event(config):
    """A row as SQLite stored it before the fix (JSONField writes the keys as \\u escapes; SQLite keeps them)."""
    return ScaleEvent.objects.create(config=config, service_name=config.service_name, action="scale-out",
                                     decision="BLOCK_MAX", status="blocked", alert_name="X", alert_labels=BAD_LABELS)


@pytest.mark.skipif(__import__("os").environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="SQLite stores the bad key; PostgreSQL refuses it (test below)")
def test_stored_bad_key_renders_everywhere(stored_bad_event, operator_client, admin_client):
    pk = stored_bad_event.pk
    for client, url in ((operator_client, "/api/events/"), (operator_client, f"/api/events/{pk}/"),
                        (operator_client, f"/events/{pk}/"), (admin_client, f"/admin/events/scaleevent/{pk}/change/"),
                        (admin_client, "/admin/events/scaleevent/"), (operator_client, "/events/")):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        text = response.content.decode("utf-8")
        if url.endswith(f"{pk}/") or url.endswith("change/"):
            assert "team\\ud800" in text or "team\\\\ud800" in text, url
    labels = ScaleEvent.objects.get(pk=pk).alert_labels
    assert labels == {"alertname": "X", "autoscale": "scale-out", "team\\ud800": "x", "nul\\u0000": "y"}


@pytest.mark.postgres
@pytest.mark.skipif(not __import__("os").environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="PostgreSQL only")
def test_postgresql_cannot_store_the_bad_key(config):
    """Why the webhook must refuse it before any decision: PostgreSQL refuses the row (and SQLite keeps it)."""
    assert connection.vendor == "postgresql"
    with pytest.raises(DataError), transaction.atomic():
        ScaleEvent.objects.create(config=config, service_name=config.service_name, action="scale-out",
                                  decision="BLOCK_MAX", status="blocked", alert_labels=BAD_LABELS)
