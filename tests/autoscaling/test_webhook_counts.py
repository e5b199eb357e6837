"""Issue 12, point 1, at the decision: an unsettled or unregistered count is BLOCK_UNKNOWN_COUNT and starts nothing.

The real Prometheus restart is ``test_webhook_faults.py``; here each case is set up exactly (a Prometheus answering
through the typed client's Protocol, the registered-targets hook) to show which reason and which writes follow.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from autoscaling import hooks
from autoscaling.models import CooldownState
from autoscaling.services.decisions import DecisionTrigger, scale_decision_record
from events.choices import Decision, EventStatus
from events.models import ScaleEvent
from ixnode.integrations.prometheus.interface import (
    PrometheusCountUnsettled,
    RuntimeInfo,
    TargetCount,
)

pytestmark = pytest.mark.django_db


class FakePrometheus:
    """The Prometheus Protocol's count: ``count`` targets, or unsettled (what the client raises ~5 s after a start)."""

    def __init__(self, count: int | None) -> None:
        self.count = count
        self.calls = 0

    def target_count(self, job: str, *, settle_seconds: float | None = None) -> TargetCount:
        self.calls += 1
        if self.count is None:
            raise PrometheusCountUnsettled("not settled", job=job, seen=0, unscraped=0, loaded_ago=2.4,
                                           settle_seconds=30)
        return TargetCount(job=job, total=self.count, up=self.count, down=0, unknown=0)

    def runtime_info(self) -> RuntimeInfo:  # pragma: no cover - not used by the decision
        now = datetime.now(UTC)
        return RuntimeInfo(start_time=now, last_config_time=now, server_time=now)


@pytest.fixture
def registered():
    """Register what the product 'registered' for the service (the artifacts app's role), per test."""
    holder: dict = {"targets": None, "calls": 0, "error": None}

    def source(*, config):
        holder["calls"] += 1
        if holder["error"]:
            raise holder["error"]
        return holder["targets"]

    hooks.registered_targets.register(source)
    try:
        yield holder
    finally:
        hooks.registered_targets.unregister(source)


def decide(config, action, prometheus, **kwargs):
    return scale_decision_record(config=config, action=action, prometheus=prometheus,
                                 trigger=DecisionTrigger(alert_name="X", labels={"autoscale": action}), **kwargs)


@pytest.mark.parametrize("action", ["scale-out", "scale-in"])
def test_unsettled_count_blocks_and_starts_no_cooldown(config, registered, action):
    event = decide(config, action, FakePrometheus(None))
    assert (event.decision, event.status, event.reason_code) == (
        Decision.BLOCK_UNKNOWN_COUNT, EventStatus.BLOCKED, "count_unsettled")
    assert event.current_vm_count is None and event.requested_count == 0
    assert "has not finished discovering job auto-vm-test-service" in event.reason
    assert event.reason_params["settle"] == 30 and event.reason_params["seen"] == 0
    state = CooldownState.objects.filter(pk=config.pk).first()
    assert state is None or (state.last_scale_out_at, state.last_scale_in_at) == (None, None)
    assert registered["calls"] == 0  # nothing to compare an unknown count with


def test_count_different_from_the_registered_targets_is_unknown(config, registered):
    registered["targets"] = ["10.0.0.1:9100", "10.0.0.2:9100", "10.0.0.3:9100"]
    event = decide(config, "scale-out", FakePrometheus(2))  # a run registered a third VM; Prometheus lags
    assert (event.decision, event.reason_code) == (Decision.BLOCK_UNKNOWN_COUNT, "count_mismatch")
    assert event.reason_params == {"seen": 2, "job": "auto-vm-test-service", "registered": 3}
    assert not ScaleEvent.objects.filter(status=EventStatus.QUEUED).exists()


def test_matching_count_is_acted_on(config, registered):
    registered["targets"] = ["10.0.0.1:9100", "10.0.0.2:9100"]
    event = decide(config, "scale-out", FakePrometheus(2))
    assert (event.decision, event.current_vm_count) == (Decision.ALLOW, 2)


def test_a_block_that_starts_a_cooldown_is_checked_too(config, registered):
    """BLOCK_MIN on a count that is not the registered one would start a cooldown it should not."""
    registered["targets"] = ["10.0.0.1:9100", "10.0.0.2:9100", "10.0.0.3:9100"]
    event = decide(config, "scale-in", FakePrometheus(2))  # min 2: a BLOCK_MIN if 2 were believed
    assert event.decision == Decision.BLOCK_UNKNOWN_COUNT
    assert CooldownState.objects.get(pk=config.pk).last_scale_in_at is None


def test_unreadable_registration_is_unknown_not_a_500(config, registered):
    registered["error"] = OSError("SFTP: connection reset")
    event = decide(config, "scale-out", FakePrometheus(2))
    assert (event.decision, event.reason_code) == (Decision.BLOCK_UNKNOWN_COUNT, "count_registered_unreadable")
    assert "connection reset" in event.reason


def test_nothing_registered_to_compare_with_leaves_the_count(config, registered):
    registered["targets"] = None  # publishing off
    assert decide(config, "scale-out", FakePrometheus(2)).decision == Decision.ALLOW


def test_a_decision_that_acts_on_nothing_does_not_read_the_registration(config, registered):
    from django.utils import timezone

    CooldownState.objects.update_or_create(config=config, defaults={"last_scale_out_at": timezone.now()})
    registered["targets"] = ["10.0.0.1:9100"]
    event = decide(config, "scale-out", FakePrometheus(2))
    assert event.decision == Decision.BLOCK_COOLDOWN and registered["calls"] == 0


def test_the_artifacts_app_registers_its_file_as_the_source(config, settings, tmp_path):
    """With publishing on, the registered targets are the service's file_sd file; off, there is none."""
    from artifacts.targets import targets_registered

    settings.IXNODE_PLG_MODE = "off"
    assert targets_registered(config=config) is None
    settings.IXNODE_PLG_MODE = "local"
    settings.IXNODE_PROMETHEUS_TARGETS_DIR = str(tmp_path)
    assert targets_registered(config=config) == []
    (tmp_path / "ixnode-auto-vm-test.json").write_text('[{"targets": ["10.0.0.1:9100", "10.0.0.2:9100"]}]')
    assert targets_registered(config=config) == ["10.0.0.1:9100", "10.0.0.2:9100"]
    assert hooks.registered_targets_for(config=config) == {"10.0.0.1:9100", "10.0.0.2:9100"}


def test_korean_reason(config, registered):
    from django.utils import translation

    event = decide(config, "scale-out", FakePrometheus(None))
    with translation.override("ko"):
        shown = ScaleEvent.objects.get(pk=event.pk).reason_shown
    assert "VM 수를 아직 알 수 없습니다" in shown and "auto-vm-test-service" in shown
