"""Drift report: VMs named like ours in vCenter vs Prometheus targets vs F5 members, read-only."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command

from autoscaling.models import IPLease
from provisioning.drift import drift_report

pytestmark = pytest.mark.slow
pytest_plugins = ["tests.fixtures.pipeline_env"]


def kinds(report) -> set[tuple[str, str]]:
    return {(f.kind, f.subject) for f in report.findings}


def test_clean_then_drift(pipeline_world):
    world = pipeline_world
    config = world.config
    report = drift_report(config=config)
    assert report.clean, report.as_dict()
    assert report.members == sorted(world.base_members())
    assert report.targets == sorted(world.base_targets())

    # a VM named like ours that nothing knows, an F5 member nobody monitors, a lease for a VM that is gone
    from ixnode.integrations.vcenter.client import vcenter_client

    orphan = f"{config.vm_prefix}-20260101000000"
    vcenter_client().vm_clone(source=config.template.name, name=orphan, power_on=False)
    world.f5.add_member(config.f5_pool_name, "127.0.48.225", config.f5_vip_port)
    IPLease.objects.create(config=config, ip_address="127.0.48.226", vm_name=f"{config.vm_prefix}-20260101000001")
    try:
        before = world.snapshot()
        report = drift_report(config=config)
        found = kinds(report)
        assert ("orphan_vm", orphan) in found
        assert ("member_without_target", f"127.0.48.225:{config.f5_vip_port}") in found
        assert ("lease_leak", "127.0.48.226") in found
        assert not report.clean and report.errors == []
        assert world.snapshot() == before  # read-only

        # the command exits 1 on drift and prints JSON
        with pytest.raises(SystemExit) as exit_info:
            call_command("drift_report", config.service_name, "--json")
        assert exit_info.value.code == 1
    finally:
        vcenter_client().vm_destroy(orphan)


def test_api_and_unreadable_source(pipeline_world, client, settings):
    config = pipeline_world.config
    user = User.objects.create_user("viewer", password="pw-123-long-enough")
    client.force_login(user)
    url = f"/api/autoscaling/drift/{config.service_name}/"
    assert client.get(url).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_autoscalingconfig"))
    response = client.get(url)
    assert response.status_code == 200 and response.json()["clean"] is True
    assert client.get("/api/autoscaling/drift/no-such-service/").status_code == 404

    settings.IXNODE_F5_HOST = "127.0.0.1:1"
    body = client.get(url).json()
    assert body["clean"] is False and any(e.startswith("F5:") for e in body["errors"])
    json.dumps(body)
