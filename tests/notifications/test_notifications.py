"""Notifications reach a local webhook receiver and the locmem outbox once per distinct event."""

from __future__ import annotations

import pytest
from django.core import mail

from notifications.models import SentNotification
from notifications.services import notification_send

pytest_plugins = ["tests.fixtures.http_receiver"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def channels(settings, http_receiver):
    settings.IXNODE_NOTIFY_WEBHOOK_URLS = [http_receiver.url + "/services/T000/B000/secret"]
    settings.IXNODE_NOTIFY_EMAILS = ["ops@example.test"]
    settings.IXNODE_NOTIFY_DEDUP_SECONDS = 3600
    return http_receiver


@pytest.fixture
def q_sync(monkeypatch):
    """Run django-q2 tasks in-process as they are enqueued (the receiver only enqueues)."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)


def test_send_delivers_once_per_window(channels):
    first = notification_send(kind="max_reached", service="shop", key="max", text="shop is at its maximum")
    again = notification_send(kind="max_reached", service="shop", key="max", text="shop is at its maximum")
    other = notification_send(kind="max_reached", service="cart", key="max", text="cart is at its maximum")
    assert first.sent and not again.sent and other.sent
    assert len(channels.requests) == 2
    payload = channels.requests[0].json()
    assert payload["text"].startswith(":warning: *[shop]* shop is at its maximum")
    assert payload["ixnode"]["kind"] == "max_reached"
    assert channels.requests[0].headers["Content-Type"] == "application/json"
    assert len(mail.outbox) == 2
    assert mail.outbox[0].to == ["ops@example.test"]
    assert "shop" in mail.outbox[0].subject
    row = SentNotification.objects.get(service_name="shop")
    assert (row.sent_count, row.suppressed_count) == (1, 1)
    assert "email" in row.channels and "secret" not in str(row.channels)


def test_send_again_after_the_window(channels):
    assert notification_send(kind="integration_down", key="prometheus", text="down", window_seconds=0).sent
    assert notification_send(kind="integration_down", key="prometheus", text="down", window_seconds=0).sent
    assert len(channels.requests) == 2


def test_delivery_errors_are_recorded_not_raised(channels):
    channels.status = 500
    result = notification_send(kind="run_failed", service="shop", key="event-1", text="boom")
    assert result.sent and result.errors and len(mail.outbox) == 1
    row = SentNotification.objects.get()
    assert "HTTPError" in row.last_error and "secret" not in row.last_error


SECRET = "XoXbSeCrEt0123456789"


def _assert_secret_nowhere(caplog, result):
    row = SentNotification.objects.get()
    stored = " ".join([row.last_error, str(row.channels), row.text])
    assert SECRET not in stored and "/services/" not in stored
    assert SECRET not in caplog.text and "/services/" not in caplog.text
    assert not any(SECRET in str(error) for error in result.errors)
    return row


def test_refused_webhook_leaks_no_secret_to_logs_or_db(settings, caplog):
    import logging

    from tests.fixtures.prometheus import free_port

    caplog.set_level(logging.DEBUG)  # even with IXNODE_LOG_LEVEL=DEBUG (urllib3 logs request paths at DEBUG)
    settings.IXNODE_NOTIFY_EMAILS = []
    port = free_port()  # nothing listens there: connection refused
    settings.IXNODE_NOTIFY_WEBHOOK_URLS = [f"http://user:pw@127.0.0.1:{port}/services/T000/B000/{SECRET}?token={SECRET}"]
    result = notification_send(kind="run_failed", service="shop", key="event-1", text="boom")
    assert result.sent and not result.delivered
    row = _assert_secret_nowhere(caplog, result)
    assert row.last_error == f"webhook http://127.0.0.1:{port}/…: ConnectionError"
    assert "pw" not in row.last_error and "pw@" not in caplog.text
    assert "ConnectionError" in caplog.text


def test_failing_webhook_answer_leaks_no_secret_to_logs_or_db(settings, http_receiver, caplog):
    import logging

    caplog.set_level(logging.DEBUG)  # even with IXNODE_LOG_LEVEL=DEBUG (urllib3 logs request paths at DEBUG)
    settings.IXNODE_NOTIFY_EMAILS = []
    http_receiver.status = 500
    settings.IXNODE_NOTIFY_WEBHOOK_URLS = [f"{http_receiver.url}/services/T000/B000/{SECRET}"]
    result = notification_send(kind="run_failed", service="shop", key="event-1", text="boom")
    assert len(http_receiver.requests) == 1 and not result.delivered
    row = _assert_secret_nowhere(caplog, result)
    assert row.last_error == f"webhook {http_receiver.url}/…: HTTPError: answered HTTP 500"


def test_unknown_kind_is_rejected():
    with pytest.raises(ValueError, match="unknown notification kind"):
        notification_send(kind="nope", text="x")


def test_scale_event_status_changes_notify_once(channels, q_sync, config, make_event,
                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = make_event(config, status="running", after_count=None)
    assert channels.requests == []  # a run in flight is nothing to notify
    for _ in range(2):  # the runner saves the finished event more than once
        with django_capture_on_commit_callbacks(execute=True):
            run.status, run.after_count = "succeeded", 3
            run.save()
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):  # Alertmanager repeats: three blocks at max, one notification
            make_event(config, decision="BLOCK_MAX", status="blocked", reason="4 >= max 4")
    with django_capture_on_commit_callbacks(execute=True):
        make_event(config, status="rolled_back", error="clone failed", rollback_summary="released 127.0.48.221")
    with django_capture_on_commit_callbacks(execute=True):
        make_event(config, action="scale-out", decision="BLOCK_IP_POOL", status="blocked", reason="no free IP")
    kinds = [r.json()["ixnode"]["kind"] for r in channels.requests]
    assert kinds == ["scale_out_done", "max_reached", "run_rolled_back", "ip_pool_exhausted"]
    assert len(mail.outbox) == 4
    assert "/events/" in channels.requests[0].json()["ixnode"]["url"]
    assert "released 127.0.48.221" in channels.requests[2].json()["text"]


def test_rolled_back_save_sends_nothing(channels, q_sync, config, make_event, django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        sid = transaction.savepoint()
        make_event(config, status="failed", error="x")
        transaction.savepoint_rollback(sid)
        transaction.set_rollback(True)
    assert channels.requests == []


def test_integration_down_is_notified_once(channels, q_sync, settings):
    from provisioning.diagnostics import integration_health
    from tests.fixtures.prometheus import free_port

    settings.IXNODE_PROMETHEUS_URL = f"http://127.0.0.1:{free_port()}"
    integration_health(use_cache=False)
    integration_health(use_cache=False)
    payloads = [r.json()["ixnode"] for r in channels.requests if r.json()["ixnode"]["key"] == "prometheus"]
    assert [(p["kind"], p["key"]) for p in payloads] == [("integration_down", "prometheus")]
    assert "unreachable" in payloads[0]["text"]


def test_run_reaching_max_notifies_max_reached_once(channels, q_sync, config, make_event,
                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        make_event(config, before_count=3, after_count=4)  # max_vms is 4
    with django_capture_on_commit_callbacks(execute=True):
        make_event(config, decision="BLOCK_MAX", status="blocked", reason="4 >= max 4")
    kinds = [r.json()["ixnode"]["kind"] for r in channels.requests]
    assert kinds == ["scale_out_done", "max_reached"]  # the later block at max is the same (service, max) key
    assert "maximum (4) is reached" in channels.requests[1].json()["text"]


def test_a_block_repeat_already_notified_enqueues_no_task(channels, config, make_event,
                                                          django_capture_on_commit_callbacks):
    """Alertmanager repeats an alert while the service is at its maximum: the first BLOCK_MAX enqueues the task
    that notifies; each repeat inside the de-duplication window is only counted on the notification's row, as the
    task would have counted it, and enqueues nothing. Past the window a repeat is notified again."""
    import datetime as dt

    from django_q.models import OrmQ

    from notifications.tasks import notification_send_for_event

    def enqueued() -> list[tuple]:
        return [q.task["args"] for q in OrmQ.objects.order_by("id")
                if q.task["func"] == "notifications.tasks.notification_send_for_event"]

    def block(decision="BLOCK_MAX"):
        with django_capture_on_commit_callbacks(execute=True):
            return make_event(config, decision=decision, status="blocked", reason="4 >= max 4")

    first = block()
    assert enqueued() == [(first.pk,)]
    notification_send_for_event(first.pk)  # the worker runs it
    assert len(channels.requests) == 1
    for _ in range(3):
        block()
    assert enqueued() == [(first.pk,)]  # three repeats, no task
    row = SentNotification.objects.get(service_name=config.service_name, kind="max_reached", key="max")
    assert (row.sent_count, row.suppressed_count) == (1, 3) and len(channels.requests) == 1

    at_min = block("BLOCK_MIN")  # another notification: its own task
    assert enqueued() == [(first.pk,), (at_min.pk,)]
    SentNotification.objects.filter(pk=row.pk).update(last_sent_at=row.last_sent_at - dt.timedelta(hours=2))
    later = block()  # the window has passed: notified again
    assert enqueued()[-1] == (later.pk,)
    notification_send_for_event(later.pk)
    row.refresh_from_db()
    assert (row.sent_count, row.suppressed_count) == (2, 3) and len(channels.requests) == 2

    # a run's outcome still goes to its task on every save (the task also tells whether it reached max or min)
    with django_capture_on_commit_callbacks(execute=True):
        run = make_event(config, status="running", after_count=None)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            run.status, run.after_count = "succeeded", 3
            run.save()
    assert enqueued()[-2:] == [(run.pk,), (run.pk,)]
