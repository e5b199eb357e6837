"""IP leases: allocation skips everything in use, is idempotent, atomic under concurrency, and releases."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.conf import settings
from django.db import connection

from autoscaling.choices import LeaseState
from autoscaling.models import AutoscalingConfig, IPLease
from autoscaling.services.ip_leases import (
    IPPoolExhausted,
    ip_addresses_unavailable,
    ip_lease_allocate,
    ip_lease_assign_vm,
    ip_lease_release,
    ip_pool_free_addresses,
    ip_pool_free_count,
)
from ixnode.integrations.vcenter.client import vcenter_client
from ixnode.netaddr import address_of

pytest_plugins = ["tests.fixtures.vcsim"]

POOL = [f"127.0.48.{n}" for n in range(220, 229)]  # conftest's config: .220–.228, gateway .1, VIP .229


def test_address_of_strips_ports_schemes_and_brackets():
    assert address_of("127.0.48.5:9100") == "127.0.48.5"
    assert address_of("127.0.48.5") == "127.0.48.5"
    assert address_of("http://127.0.48.5:9100/metrics") == "127.0.48.5"
    assert address_of("[::1]:9100") == "::1"
    assert address_of("::1") == "::1"


@pytest.mark.django_db
def test_allocates_lowest_free_address_and_is_idempotent_per_vm(config):
    first = ip_lease_allocate(config=config, vm_name="auto-vm-test-20260101000000")
    assert first.ip_address == POOL[0] and first.state == LeaseState.LEASED
    assert ip_lease_allocate(config=config, vm_name="auto-vm-test-20260101000000").pk == first.pk
    second = ip_lease_allocate(config=config, vm_name="auto-vm-test-20260101000001")
    assert second.ip_address == POOL[1]
    assert ip_pool_free_count(config=config, exclude=[]).count == len(POOL) - 2


@pytest.mark.django_db
def test_skips_gateway_vip_targets_and_other_configs_leases(config, config_values, template):
    # An imported config whose gateway and VIP lie inside the pool (validation would refuse it today).
    AutoscalingConfig.objects.filter(pk=config.pk).update(gateway=POOL[0], f5_vip_address=POOL[1])
    config.refresh_from_db()
    other_values = {**config_values, "service_name": "other", "prometheus_job_name": "other", "vm_prefix": "other"}
    other = AutoscalingConfig.objects.create(**other_values)
    IPLease.objects.create(config=other, ip_address=POOL[2], vm_name="other-20260101000000")

    lease = ip_lease_allocate(config=config, vm_name="a", exclude=[f"{POOL[3]}:9100", POOL[4]])
    assert lease.ip_address == POOL[5]
    reasons = ip_addresses_unavailable(config=config, exclude=[f"{POOL[3]}:9100"])
    assert reasons[POOL[0]] == "gateway" and reasons[POOL[1]] == "F5 VIP"
    assert reasons[POOL[2]] == "leased to other-20260101000000"
    assert reasons[POOL[3]] == "in use (Prometheus target)"
    assert ip_pool_free_addresses(config=config, exclude=[POOL[3], POOL[4], POOL[6]], limit=1) == [POOL[7]]


@pytest.mark.django_db
def test_skips_guest_ips_vcenter_reports(config, vcenter_settings, vcsim_control):
    client = vcenter_client()
    name = f"squatter-{uuid.uuid4().hex[:8]}"
    client.vm_clone(source="ubuntu-22.04-golden", name=name)
    try:
        vcsim_control.set_guest_ip(name, POOL[0])
        vcsim_control.set_guest_ip("DC0_H0_VM0", POOL[1])
        lease = ip_lease_allocate(config=config, vm_name="b", vcenter=client)
        assert lease.ip_address == POOL[2]
        # by default the client configured by VCENTER_* is asked
        assert ip_lease_allocate(config=config, vm_name="c").ip_address == POOL[3]
        # unless told not to
        assert ip_addresses_unavailable(config=config, vcenter=client)[POOL[0]] == f"guest IP of vCenter VM {name}"
        assert ip_lease_allocate(config=config, vm_name="d", check_vcenter=False).ip_address == POOL[0]
    finally:
        client.vm_destroy(name)
        vcsim_control.set_guest_ip("DC0_H0_VM0", "")


@pytest.mark.django_db
def test_exhausted_pool_says_why(config):
    for index in range(len(POOL) - 1):
        ip_lease_allocate(config=config, vm_name=f"vm-{index}")
    with pytest.raises(IPPoolExhausted) as info:
        ip_lease_allocate(config=config, vm_name="one-too-many", exclude=[POOL[-1]])
    message = str(info.value)
    assert "127.0.48.220–127.0.48.228, 9 addresses" in message
    assert "8 leased" in message and "1 in use (Prometheus target)" in message
    assert "Widen the pool" in message
    assert info.value.config == config
    assert ip_pool_free_count(config=config, exclude=[]).count == 1  # without the targets, one left
    assert ip_pool_free_count(config=config, exclude=[POOL[-1]]).count == 0


@pytest.mark.django_db
def test_release_makes_the_address_available_again(config, django_user_model):
    lease = ip_lease_allocate(config=config, vm_name="")
    lease = ip_lease_assign_vm(lease=lease, vm_name="vm-x")
    assert IPLease.objects.get(pk=lease.pk).vm_name == "vm-x"
    assert ip_lease_release(config=config, vm_name="vm-x") == 1
    assert ip_lease_release(config=config, vm_name="vm-x") == 0  # idempotent
    released = IPLease.objects.get(pk=lease.pk)
    assert released.state == LeaseState.RELEASED and released.released_at is not None
    again = ip_lease_allocate(config=config, vm_name="vm-y")
    assert again.ip_address == lease.ip_address and again.pk != lease.pk
    assert ip_lease_release(ip_address=f"{again.ip_address}:9100") == 1
    with pytest.raises(ValueError):
        ip_lease_release(config=config)


@pytest.mark.django_db
def test_release_by_event_for_rollback(config):
    from events.models import ScaleEvent

    event = ScaleEvent.objects.create(
        config=config, service_name=config.service_name, action="scale-out", decision="ALLOW", status="running"
    )
    ip_lease_allocate(config=config, vm_name="r1", event=event)
    ip_lease_allocate(config=config, vm_name="r2", event=event)
    keep = ip_lease_allocate(config=config, vm_name="r3")
    assert ip_lease_release(event=event) == 2
    assert list(IPLease.objects.filter(state=LeaseState.LEASED)) == [keep]


@pytest.mark.django_db
def test_sequential_allocation_hands_out_every_address_once(config):
    leased = [ip_lease_allocate(config=config, vm_name=f"vm-{i}").ip_address for i in range(len(POOL))]
    assert leased == POOL
    with pytest.raises(IPPoolExhausted):
        ip_lease_allocate(config=config, vm_name="vm-extra")


@pytest.mark.django_db(transaction=True)
def test_concurrent_allocation_never_hands_out_an_address_twice(config):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency test needs PostgreSQL (DATABASE_URL); SQLite serialises writers")
    assert settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    threads_count = len(POOL) + 3
    barrier = threading.Barrier(threads_count)
    results: list[str] = []
    failures: list[Exception] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            lease = ip_lease_allocate(config=config, vm_name=f"vm-{index}")
            with lock:
                results.append(lease.ip_address)
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            with lock:
                failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == sorted(POOL)  # every address exactly once
    assert len(failures) == 3 and all(isinstance(f, IPPoolExhausted) for f in failures), failures
    assert IPLease.objects.filter(state=LeaseState.LEASED).count() == len(POOL)
