"""The lab's own parts that the product cannot tell from real ones: the load profile, a guest's CPU that follows
the requests it serves, and the VIP that spreads requests only over the members the F5 double's pool holds."""

from __future__ import annotations

import ipaddress
import random
import time
import urllib.request

import pytest

from lab.config import CAPACITY, DEMO, FAST, LabConfig, load_at
from lab.f5 import Bigip
from lab.vms import BASELINE, CPUS, CpuModel, Guest, SshKeys


def test_profile_is_linear_between_points_and_repeats():
    profile = ((0, 8), (10, 8), (20, 28), (30, 28))
    assert load_at(profile, 5) == 8
    assert load_at(profile, 15) == pytest.approx(18)
    assert load_at(profile, 25) == 28
    assert load_at(profile, 35) == 8  # the cycle starts again
    for timings in (DEMO, FAST):
        rates = [rate for _t, rate in timings.profile]
        # the profile passes through the three regimes the demo relies on (see lab/config.py)
        assert min(rates) / CAPACITY / 2 < 0.3 - BASELINE  # 2 VMs below the scale-in threshold
        assert max(rates) / CAPACITY / 3 > 0.75  # 3 VMs above the scale-out threshold
        assert max(rates) / CAPACITY / 4 + BASELINE < 0.75  # 4 VMs hold


def cpu_percent(model: CpuModel, seconds: float, rate: float) -> float:
    def counters() -> tuple[float, float]:
        values = {}
        for line in model.metrics().splitlines():
            if line.startswith("node_cpu_seconds_total"):
                mode = line.split('mode="')[1].split('"')[0]
                values[mode] = values.get(mode, 0.0) + float(line.rsplit(" ", 1)[1])
        return values["idle"], values["user"]

    idle0, user0 = counters()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if rate:
            model.request()
        time.sleep(1 / rate if rate else 0.05)
    idle1, user1 = counters()
    return 100 * (user1 - user0) / ((idle1 - idle0) + (user1 - user0))


def test_cpu_follows_the_requests():
    assert cpu_percent(CpuModel(), 1.0, 0) == pytest.approx(BASELINE * 100, abs=0.5)
    busy = cpu_percent(CpuModel(), 2.0, CAPACITY / 2)  # half the capacity
    assert 45 < busy < 65
    saturated = cpu_percent(CpuModel(), 2.0, CAPACITY * 2)  # twice the capacity: the CPUs top out
    assert saturated == pytest.approx(100, abs=3)
    text = CpuModel().metrics()
    assert text.count("node_cpu_seconds_total{") == 2 * CPUS
    assert "node_memory_MemTotal_bytes" in text and "node_memory_MemAvailable_bytes" in text


@pytest.fixture
def lab(tmp_path):
    subnet = ipaddress.IPv4Network(f"127.{random.randint(100, 250)}.{random.randint(1, 250)}.0/24")
    return LabConfig(subnet=subnet, port=0, app_port=18080, exporter_port=19100, ssh_port=12222, timings=FAST,
                     var=tmp_path)


def test_vip_spreads_over_the_pool_members_only(lab):
    keys = SshKeys(lab)
    bigip = Bigip(lab)
    bigip.start()  # the pool holds the two base VMs
    outside = lab.address(220)  # a VM the pipeline did not (yet) add to the pool
    guests = [Guest(name, lab, keys) for name in ("base-1", "base-2", "clone")]
    try:
        for guest, address in zip(guests, [*lab.base_addresses, outside], strict=True):
            guest.start(address)
        vip = f"http://{lab.vip}:{lab.app_port}/"
        answers = [urllib.request.urlopen(vip, timeout=5).read().decode() for _ in range(20)]  # noqa: S310
        assert {answer.split()[2] for answer in answers} == {"base-1", "base-2"}
        assert [g.cpu.requests for g in guests] == [10, 10, 0]
        # Added to the pool: it takes its share at once. Disabled (scale-in's first step): no new requests.
        bigip.double.add_member(lab.pool_name, outside, lab.app_port)
        for _ in range(30):
            urllib.request.urlopen(vip, timeout=5).read()  # noqa: S310
        assert [g.cpu.requests for g in guests] == [20, 20, 10]
        with bigip.double.lock:
            member = bigip.double.state.members[f"/Common/{lab.pool_name}"][f"/Common/{outside}:{lab.app_port}"]
            member["session"] = "user-disabled"
        for _ in range(10):
            urllib.request.urlopen(vip, timeout=5).read()  # noqa: S310
        assert [g.cpu.requests for g in guests] == [25, 25, 10]
        # Nothing in flight once the requests are answered: the pipeline's drain sees 0 connections.
        stats = bigip.double.state.connections
        assert all(count == 0 for count in stats.values()), stats
    finally:
        for guest in guests:
            guest.stop()
        bigip.stop()
