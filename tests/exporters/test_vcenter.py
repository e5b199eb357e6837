"""The Exporters page lists vCenter VMs with their IPs (vcsim) and starts a job for the ones picked."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

pytest_plugins = ["tests.fixtures.vcsim"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def vm_with_ip(vcenter_settings, vcsim_control):
    from ixnode.integrations.vcenter.client import vcenter_client

    client = vcenter_client()
    vcsim_control.control(bootstrap_ips=["127.0.0.1"])
    name = f"exp-{uuid.uuid4().hex[:8]}"
    client.vm_clone(source="ubuntu-22.04-golden", name=name)
    yield name
    client.vm_destroy(name)


def test_vcenter_vms_are_offered_and_picked(admin_client, vm_with_ip, config, django_capture_on_commit_callbacks):
    page = admin_client.get(reverse("exporters:list"))
    body = page.content.decode()
    assert page.status_code == 200
    assert f'value="{vm_with_ip}|127.0.0.1"' in body  # a checkbox per VM with an address
    assert "DC0_H0_VM0" in body  # VMs without a reported address are listed, not pickable
    data = {
        "vms": [f"{vm_with_ip}|127.0.0.1"], "action": "install", "components": ["node_exporter", "promtail"],
        "ssh_user": "ubuntu", "ssh_key_path": "/nonexistent/key", "ssh_port": 22, "source": "package",
        "exporter_port": 9100, "config": config.service_name,
    }
    with django_capture_on_commit_callbacks(execute=False):
        response = admin_client.post(reverse("exporters:list"), data)
    assert response.status_code == 302
    from exporters.models import ExporterInstall

    install = ExporterInstall.objects.get()
    assert install.components == ["node_exporter", "promtail"] and install.config == config
    assert [(h.vm_name, h.address) for h in install.hosts.all()] == [(vm_with_ip, "127.0.0.1")]


def test_vcenter_unreachable_is_explained(admin_client, settings):
    settings.IXNODE_VCENTER_HOST = ""
    body = admin_client.get(reverse("exporters:list")).content.decode()
    assert "VCENTER" in body
