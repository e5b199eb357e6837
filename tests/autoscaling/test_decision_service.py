"""The decision service against the database and a real Prometheus."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ

from autoscaling.choices import LeaseState
from autoscaling.models import CooldownState, IPLease
from autoscaling.services.decisions import DecisionTrigger, scale_decision_record
from autoscaling.services.runs import RunStateError, scale_event_finish, scale_event_start
from autoscaling.signals import scale_decision_recorded, scale_run_finished, vm_count_unknown
from events.choices import Decision, EventStatus, Trigger
from ixnode.integrations.prometheus.client import PrometheusClient

pytest_plugins = ["tests.fixtures.prometheus", "tests.fixtures.scripted_http"]


@pytest.fixture(scope="module")
def counts(prometheus_server):
    prometheus_server.ensure_counts([0, 2, 3, 4])
    return prometheus_server


@pytest.fixture
def service(counted_service):
    """The conftest config, its VM count answered by the real Prometheus (``set_count(n)``)."""
    return counted_service


def record(config, action="scale-out", **kwargs):
    return scale_decision_record(config=config, action=action, **kwargs)


def test_allow_queues_the_run_after_commit(service, django_capture_on_commit_callbacks):
    trigger = DecisionTrigger(alert_name="HighCPU", fingerprint="abc123", labels={"autoscale": "scale-out"})
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        event = record(service, trigger=trigger)
    assert callbacks  # the run is queued only after the decision committed
    assert (event.decision, event.status) == (Decision.ALLOW, EventStatus.QUEUED)
    assert (event.current_vm_count, event.before_count, event.requested_count) == (2, 2, 1)
    assert (event.alert_name, event.alert_fingerprint, event.trigger) == ("HighCPU", "abc123", Trigger.ALERT)
    event.refresh_from_db()
    assert event.task_id
    queued = [package.task for package in OrmQ.objects.all()]
    assert any(task["func"] == "provisioning.tasks.scale_event_execute" and task["args"] == (event.pk,)
               for task in queued)


def test_no_commit_no_run(service, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        record(service)
    assert not OrmQ.objects.exists()


def test_run_in_flight_blocks_then_finish_starts_cooldown(service, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = record(service)
    second = record(service)
    assert second.decision == Decision.BLOCK_IN_PROGRESS
    assert second.status == EventStatus.BLOCKED

    started = scale_event_start(event=first)
    assert started.status == EventStatus.RUNNING and started.started_at
    assert record(service, action="scale-in").decision == Decision.BLOCK_IN_PROGRESS  # one run per service

    finished_events = []
    scale_run_finished.connect(lambda sender, event, **kw: finished_events.append(event.pk), weak=False,
                               dispatch_uid="test-finished")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            done = scale_event_finish(event=first, status=EventStatus.SUCCEEDED, after_count=3, vm_names=["x"])
    finally:
        scale_run_finished.disconnect(dispatch_uid="test-finished")
    assert finished_events == [first.pk]
    assert done.finished_at and done.after_count == 3
    cooldown = CooldownState.objects.get(pk=service.pk)
    assert cooldown.last_scale_out_at == done.finished_at
    assert cooldown.last_scale_in_at is None

    third = record(service)
    assert third.decision == Decision.BLOCK_COOLDOWN
    # The scale-in cooldown is separate: scale-in at 3 > min 2 is allowed.
    service.set_count(3)
    assert record(service, action="scale-in").decision == Decision.ALLOW


def test_failed_run_starts_cooldown_too(service, django_capture_on_commit_callbacks):
    event = record(service)
    scale_event_finish(event=event, status=EventStatus.FAILED, error="clone failed")
    event.refresh_from_db()
    assert event.status == EventStatus.FAILED and event.error == "clone failed"
    assert CooldownState.objects.get(pk=service.pk).last_scale_out_at == event.finished_at
    # Idempotent for the same final status, refused for another.
    scale_event_finish(event=event, status=EventStatus.FAILED)
    with pytest.raises(RunStateError):
        scale_event_finish(event=event, status=EventStatus.SUCCEEDED)
    with pytest.raises(RunStateError):
        scale_event_start(event=event)
    with pytest.raises(RunStateError, match="not a final run status"):
        scale_event_finish(event=event, status=EventStatus.RUNNING)


def test_cooldown_ends(service):
    CooldownState.objects.create(config=service, last_scale_out_at=timezone.now() - timedelta(seconds=301))
    assert record(service).decision == Decision.ALLOW


def test_block_max_starts_scale_out_cooldown(service):
    service.set_count(4)
    now = timezone.now()
    event = record(service, now=now)
    assert (event.decision, event.status, event.current_vm_count) == (Decision.BLOCK_MAX, EventStatus.BLOCKED, 4)
    assert CooldownState.objects.get(pk=service.pk).last_scale_out_at == now
    assert not OrmQ.objects.exists()


def test_block_min_starts_scale_in_cooldown(service):
    now = timezone.now()
    event = record(service, action="scale-in", now=now)
    assert event.decision == Decision.BLOCK_MIN
    state = CooldownState.objects.get(pk=service.pk)
    assert (state.last_scale_in_at, state.last_scale_out_at) == (now, None)


def test_step_is_clamped_to_headroom(service):
    service.scale_out_step = 3
    service.save()
    service.set_count(3)
    event = record(service)
    assert (event.decision, event.requested_count) == (Decision.ALLOW, 1)


def test_disabled_config_does_not_ask_prometheus(config, scripted_http_server, settings):
    settings.IXNODE_PROMETHEUS_URL = scripted_http_server.url
    config.enabled = False
    config.save()
    event = record(config)
    assert event.decision == Decision.BLOCK_DISABLED
    assert event.current_vm_count is None
    assert scripted_http_server.requests == []


def test_prometheus_down_blocks_and_notifies(config, settings, django_capture_on_commit_callbacks):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.IXNODE_PROMETHEUS_URL = f"http://127.0.0.1:{port}"
    settings.IXNODE_PROMETHEUS_TIMEOUT = 1
    told, recorded = [], []
    vm_count_unknown.connect(lambda sender, config, event, error, **kw: told.append((config.pk, event.pk, error)),
                             weak=False, dispatch_uid="test-unknown")
    scale_decision_recorded.connect(lambda sender, event, **kw: recorded.append(event.pk), weak=False,
                                    dispatch_uid="test-recorded")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            event = record(config)
    finally:
        vm_count_unknown.disconnect(dispatch_uid="test-unknown")
        scale_decision_recorded.disconnect(dispatch_uid="test-recorded")
    assert event.decision == Decision.BLOCK_UNKNOWN_COUNT
    assert "unreachable" in event.reason and "IXNODE_PROMETHEUS_URL" in event.reason
    assert event.current_vm_count is None
    assert told == [(config.pk, event.pk, told[0][2])] and "unreachable" in told[0][2]
    assert recorded == [event.pk]
    assert not CooldownState.objects.get(pk=config.pk).last_scale_out_at


def test_unknown_job_blocks(config, counts, prometheus_url):
    config.prometheus_job_name = "never-loaded-job"
    config.save()
    event = record(config)
    assert event.decision == Decision.BLOCK_UNKNOWN_COUNT
    assert "no scrape job 'never-loaded-job'" in event.reason


def test_ip_pool_exhausted(service):
    start = ipaddress.ip_address(service.ip_pool_start)
    end = ipaddress.ip_address(service.ip_pool_end)
    addresses = [str(start + i) for i in range(int(end) - int(start) + 1)]
    for address in addresses[:-1]:
        IPLease.objects.create(config=service, ip_address=address)
    # A released lease and a lease outside the pool do not take a pool address.
    IPLease.objects.create(config=service, ip_address=addresses[-1], state=LeaseState.RELEASED)
    assert record(service).decision == Decision.ALLOW
    CooldownState.objects.filter(pk=service.pk).update(last_scale_out_at=None)
    from events.models import ScaleEvent

    ScaleEvent.objects.update(status=EventStatus.FAILED)
    IPLease.objects.create(config=service, ip_address=addresses[-1])
    event = record(service)
    assert event.decision == Decision.BLOCK_IP_POOL
    assert "no free address" in event.reason


def test_warm_pool_vms_count_as_free_addresses(service):
    """Every pool address leased, two of them by warm VMs: a scale-out of 2 takes those, so it is allowed; a stale
    warm VM (prepared with other settings) is never taken and does not count."""
    from autoscaling.models import ManagedVM
    from autoscaling.services.warm_pool import warm_fingerprint

    service.max_vms, service.scale_out_step, service.warm_pool_size = 6, 2, 2
    service.save()
    start = ipaddress.ip_address(service.ip_pool_start)
    end = ipaddress.ip_address(service.ip_pool_end)
    addresses = [str(start + i) for i in range(int(end) - int(start) + 1)]
    for address in addresses:
        IPLease.objects.create(config=service, ip_address=address)
    for i, address in enumerate(addresses[:2]):
        ManagedVM.objects.create(config=service, name=f"{service.vm_prefix}-2025010100000{i}", ip_address=address,
                                 state="warm", warm_fingerprint=warm_fingerprint(config=service))
    event = record(service)
    assert event.decision == Decision.ALLOW and event.requested_count == 2, event.reason
    from events.models import ScaleEvent

    ScaleEvent.objects.update(status=EventStatus.FAILED)
    CooldownState.objects.filter(pk=service.pk).update(last_scale_out_at=None)
    ManagedVM.objects.filter(ip_address=addresses[1]).update(warm_fingerprint="older-template")
    event = record(service)
    assert event.decision == Decision.ALLOW and event.requested_count == 1, event.reason


def test_cooldown_row_created_when_missing(service):
    CooldownState.objects.filter(pk=service.pk).delete()
    record(service)
    assert CooldownState.objects.filter(pk=service.pk).exists()


def test_dry_run_allows_without_run_or_cooldown(service, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        event = record(service, dry_run=True, trigger=DecisionTrigger(kind=Trigger.MANUAL, triggered_by="ops"))
    assert (event.decision, event.status, event.dry_run) == (Decision.ALLOW, EventStatus.DRY_RUN, True)
    assert event.triggered_by == "ops"
    assert not OrmQ.objects.exists()
    assert record(service).decision == Decision.ALLOW  # a dry run is not in flight


def test_explicit_prometheus_client(service, counts):
    service.set_count(3)
    event = record(service, prometheus=PrometheusClient(counts.url))
    assert event.current_vm_count == 3


@pytest.mark.django_db(transaction=True)
def test_decision_waits_for_the_lock_holder(service, caplog):
    """A decision blocks while another transaction holds the service's lock, then sees its run.

    PostgreSQL: the CooldownState row lock. SQLite: BEGIN IMMEDIATE (the database write lock).
    """
    import threading

    from django.db import connection, transaction

    from autoscaling.services.runs import cooldown_lock
    from events.models import ScaleEvent

    CooldownState.objects.get_or_create(config=service)  # the row exists: the lock, not its creation, decides
    entered, release = threading.Event(), threading.Event()
    result: dict = {}

    def holder():
        try:
            with transaction.atomic():
                cooldown_lock(config_id=service.pk)
                ScaleEvent.objects.create(config=service, service_name=service.service_name, action="scale-out",
                                          decision=Decision.ALLOW, status=EventStatus.QUEUED, requested_count=1)
                entered.set()
                release.wait(15)
        finally:
            connection.close()

    def decider():
        try:
            result["event"] = scale_decision_record(config=service, action="scale-out")
        except Exception as exc:  # reported by the assertion below
            result["error"] = exc
        finally:
            connection.close()

    first = threading.Thread(target=holder)
    first.start()
    assert entered.wait(10)
    second = threading.Thread(target=decider)
    second.start()
    second.join(0.7)
    assert second.is_alive(), "the decision did not wait for the lock holder"
    release.set()
    first.join(10)
    second.join(20)
    assert "error" not in result, result
    assert result["event"].decision == Decision.BLOCK_IN_PROGRESS
    assert not [r for r in caplog.records if "unique index rejected" in r.getMessage()]


class _ExternalCalls:
    """Records, for every call to Prometheus, the PLG host's target file and vCenter, whether a transaction
    (the decision's lock: CooldownState row lock / BEGIN IMMEDIATE) was open at that moment."""

    def __init__(self, monkeypatch, settings):
        from django.db import connection

        from autoscaling import hooks
        from autoscaling.services import ip_leases
        from ixnode.integrations.prometheus import client as prometheus_client

        self.calls: list[tuple[str, bool]] = []
        real_get = prometheus_client.PrometheusClient._get
        calls = self.calls

        def prometheus_get(client, path, params=None):
            calls.append((f"prometheus {path}", connection.in_atomic_block))
            return real_get(client, path, params)

        class VCenter:
            def vms_list(self):
                calls.append(("vcenter vms_list", connection.in_atomic_block))
                return []

        def targets_list(*, config):
            calls.append(("plg targets_list", connection.in_atomic_block))
            return []

        settings.IXNODE_VCENTER_HOST = "vcenter.invalid"
        monkeypatch.setattr(prometheus_client.PrometheusClient, "_get", prometheus_get)
        monkeypatch.setattr(ip_leases, "vcenter_client", lambda **kw: VCenter())
        monkeypatch.setattr(hooks.addresses_in_use, "_items", [targets_list])

    def kinds(self) -> set[str]:
        return {name.split(" ", 1)[0] for name, _ in self.calls}

    def inside_lock(self) -> list[str]:
        return [name for name, locked in self.calls if locked]


@pytest.mark.django_db(transaction=True)
def test_external_reads_happen_before_the_lock(service, monkeypatch, settings):
    """An allowed scale-out reads the VM count, the service's targets and vCenter's guest IPs, none of them
    while the decision's transaction (and so its lock) is open."""
    external = _ExternalCalls(monkeypatch, settings)
    event = record(service)
    assert (event.decision, event.requested_count) == (Decision.ALLOW, 1)
    assert external.kinds() == {"prometheus", "plg", "vcenter"}
    assert external.inside_lock() == []


@pytest.mark.django_db(transaction=True)
def test_external_reads_stay_outside_the_lock_when_the_pre_check_was_wrong(service, monkeypatch, settings):
    """The unlocked pre-check predicted no count (config seen disabled) or no pool check (a stale cooldown):
    the locked re-check finds otherwise, and the missing inputs are still read outside the lock, with the same
    decision as if they had been read up front."""
    from autoscaling.models import AutoscalingConfig
    from autoscaling.services import decisions

    external = _ExternalCalls(monkeypatch, settings)
    stale = AutoscalingConfig.objects.get(pk=service.pk)
    stale.enabled = False  # the caller's copy is stale: the database says enabled
    event = record(stale)
    assert (event.decision, event.current_vm_count) == (Decision.ALLOW, 2)
    assert external.kinds() == {"prometheus", "plg", "vcenter"}
    assert external.inside_lock() == []

    from events.models import ScaleEvent

    ScaleEvent.objects.update(status=EventStatus.SUCCEEDED)
    CooldownState.objects.filter(pk=service.pk).update(last_scale_out_at=None)
    external.calls.clear()
    stale_state = CooldownState(config_id=service.pk, last_scale_out_at=timezone.now())
    monkeypatch.setattr(decisions, "_cooldown_unlocked", lambda config: stale_state)
    event = record(service)
    assert (event.decision, event.requested_count) == (Decision.ALLOW, 1)
    assert {"plg", "vcenter"} <= external.kinds()
    assert external.inside_lock() == []


@pytest.mark.django_db(transaction=True)
def test_blocked_scale_out_skips_the_pool_reads(service, monkeypatch, settings):
    """A scale-out the unlocked inputs already block (maximum, cooldown) reads only the VM count."""
    external = _ExternalCalls(monkeypatch, settings)
    service.set_count(4)
    assert record(service).decision == Decision.BLOCK_MAX
    service.set_count(2)
    assert record(service).decision == Decision.BLOCK_COOLDOWN  # the BLOCK_MAX started the cooldown
    assert external.kinds() == {"prometheus"}
    assert external.inside_lock() == []
