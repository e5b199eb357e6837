"""Reads of templates_app: Template rows and what vCenter holds."""

from __future__ import annotations

from django.db.models import QuerySet

from ixnode.integrations.vcenter.client import vcenter_client
from ixnode.integrations.vcenter.interface import VCenter, VMInfo
from templates_app.models import Template


def template_list() -> QuerySet[Template]:
    return Template.objects.all().order_by("name")


def vcenter_vms_list(*, client: VCenter | None = None, templates: bool | None = None) -> list[VMInfo]:
    """VMs and templates of the configured datacenter (name, power, guest IPs, path, datastore).

    ``templates=True`` lists only templates, ``False`` only VMs. Raises ``VCenterError`` when vCenter cannot
    be asked.
    """
    client = client or vcenter_client()
    return client.vms_list(templates=templates)
