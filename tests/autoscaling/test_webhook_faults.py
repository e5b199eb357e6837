"""Issue 12, point 1: never act on a wrong count — a real Prometheus restarted in the middle of a storm of alerts.

For about 5 s after it starts, Prometheus lists a job's scrape config with no active target, then the targets
before their first scrape. Before the fix the count was taken as 0 in that window: ALLOWs "0 → 1" for a service at
its maximum, and a scale-in answered BLOCK_MIN, starting a cooldown it should not have. Now the decision is
BLOCK_UNKNOWN_COUNT (reason ``count_unsettled``) until the target set is settled and matches the targets the product
registered, and nothing is started on it.

The services: ``auto-vm-test`` at its maximum (4 of 4) receiving scale-out alerts, ``fault-in`` with 3 VMs (minimum
2) receiving scale-in alerts. Their Prometheus jobs read the very file_sd files the product registers targets in
(IXNODE_PLG_MODE=local), so the registered-targets check is on as in production.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import requests

from autoscaling.models import CooldownState
from events.choices import Decision
from events.models import ScaleEvent
from tests.fixtures.prometheus import PrometheusServer

TOKEN = "test-webhook-token"
TARGETS = {"auto-vm-test": [f"127.0.77.{i}:9100" for i in range(1, 5)],
           "fault-in": [f"127.0.78.{i}:9100" for i in range(1, 4)]}
ACTION = {"auto-vm-test": "scale-out", "fault-in": "scale-in"}


def notification(action: str) -> str:
    return json.dumps({
        "version": "4", "groupKey": "{}:{service}", "status": "firing", "receiver": "ixnode", "groupLabels": {},
        "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093",
        "alerts": [{"status": "firing", "labels": {"alertname": "Storm", "autoscale": action}, "annotations": {},
                    "startsAt": "2025-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "",
                    "fingerprint": f"storm-{action}"}],
    })


@pytest.fixture
def own_prometheus(tmp_path: Path):
    """A Prometheus of this test's own (it is restarted: the session one is shared)."""
    server = PrometheusServer(tmp_path / "prometheus")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def services(config, make_config, own_prometheus, settings):
    settings.IXNODE_WEBHOOK_TOKEN = TOKEN
    settings.IXNODE_PROMETHEUS_URL = own_prometheus.url
    settings.IXNODE_PROMETHEUS_DISCOVERY_SETTLE_SECONDS = 30  # the default
    # Jobs named like the product's targets files: Prometheus reads what the product registers.
    own_prometheus.add_jobs({f"ixnode-{name}": targets for name, targets in TARGETS.items()}, wait=True)
    config.prometheus_job_name = "ixnode-auto-vm-test"
    config.save()
    scale_in = make_config("fault-in", octet=79, prometheus_job_name="ixnode-fault-in")
    # Publishing on only now (a config save would publish): the decision compares the count with these files.
    settings.IXNODE_PLG_MODE = "local"
    settings.IXNODE_PROMETHEUS_TARGETS_DIR = str(own_prometheus.targets_dir)
    return {"auto-vm-test": config, "fault-in": scale_in}


def _storm(url: str, stop: threading.Event, answers: list, clients: int = 4, limit: int = 4000) -> list:
    def client(index: int) -> None:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        sent = 0
        while not stop.is_set() and sent < limit // clients:
            name = list(TARGETS)[(index + sent) % 2]
            response = session.post(f"{url}/api/webhook/autoscale/{name}", data=notification(ACTION[name]),
                                    headers=headers, timeout=60)
            answers.append((time.monotonic(), name, response.status_code))
            sent += 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    return threads


@pytest.mark.slow
def test_prometheus_restart_mid_storm_never_acts_on_the_unsettled_count(live_server, services, own_prometheus):
    stop = threading.Event()
    answers: list = []
    port = own_prometheus.port
    own_prometheus.stop()  # the restart: the storm starts while Prometheus is down...
    threads = _storm(live_server.url, stop, answers)
    try:
        time.sleep(0.5)
        own_prometheus.start(port=port)  # ...and goes on while it comes back and rediscovers its targets
        deadline = time.monotonic() + 60
        while not all(own_prometheus.targets_settled(f"ixnode-{n}", len(t)) for n, t in TARGETS.items()):
            assert time.monotonic() < deadline, "Prometheus did not rediscover the targets within 60 s"
            time.sleep(0.1)
        settled = time.monotonic()
        time.sleep(3.0)  # normal decisions after the window
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)

    assert {status for _, _, status in answers} == {200}, {status for _, _, status in answers}
    assert [a for a in answers if a[0] >= settled], "the storm ended before Prometheus settled"
    events = list(ScaleEvent.objects.order_by("id"))
    # Nothing was acted on a wrong count: no ALLOW at the maximum, no BLOCK_MIN above the minimum, every count that
    # was acted on is the true one...
    out = [e for e in events if e.service_name == "auto-vm-test"]
    scale_in = [e for e in events if e.service_name == "fault-in"]
    assert not [e for e in out if e.decision == Decision.ALLOW], [e.reason for e in out if e.decision == "ALLOW"]
    assert not [e for e in scale_in if e.decision == Decision.BLOCK_MIN], [
        e.reason for e in scale_in if e.decision == Decision.BLOCK_MIN]
    acted = [e for e in events if e.decision != Decision.BLOCK_UNKNOWN_COUNT and e.current_vm_count is not None]
    assert all(e.current_vm_count == len(TARGETS[e.service_name]) for e in acted), [
        (e.service_name, e.current_vm_count, e.decision) for e in acted]
    assert all(e.current_vm_count is None for e in events if e.decision == Decision.BLOCK_UNKNOWN_COUNT)
    # ...although the window was hit (Prometheus up, its job loaded, the targets not yet listed or scraped).
    unsettled = [e for e in events if e.reason_code == "count_unsettled"]
    assert unsettled, [(e.decision, e.reason) for e in events[:20]]
    assert {e.service_name for e in unsettled} == set(TARGETS)
    # No cooldown started on an unknown count: the only one is the BLOCK_MAX's of the settled count of 4.
    assert not CooldownState.objects.filter(config=services["fault-in"], last_scale_in_at__isnull=False).exists()
    first_block_max = next(e for e in out if e.decision == Decision.BLOCK_MAX)
    state = CooldownState.objects.get(config=services["auto-vm-test"])
    assert abs((state.last_scale_out_at - first_block_max.created_at).total_seconds()) < 1
    assert state.last_scale_in_at is None
    assert len([e for e in out if e.decision == Decision.BLOCK_MAX]) == 1  # its re-deliveries stand by it

    # Normal decisions after: at the maximum BLOCK_MAX (4 VMs), and the scale-in 3 → 2 allowed once.
    assert first_block_max.current_vm_count == 4
    allowed = [e for e in scale_in if e.decision == Decision.ALLOW]
    assert len(allowed) == 1 and (allowed[0].current_vm_count, allowed[0].requested_count) == (3, 1)
    assert allowed[0].created_at > unsettled[0].created_at
