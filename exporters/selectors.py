"""Read-side queries of exporter installs."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from exporters.choices import HostStatus, InstallAction
from exporters.models import ExporterInstall, ExporterInstallHost
from ixnode.integrations.vcenter.client import vcenter_client
from ixnode.integrations.vcenter.interface import VCenterConfigError, VCenterError


def exporter_install_list(*, limit: int = 50) -> QuerySet[ExporterInstall]:
    """Recent install jobs with per-status host counts (one query)."""
    return (
        ExporterInstall.objects.select_related("config", "created_by")
        .annotate(
            host_total=Count("hosts"),
            host_ok=Count("hosts", filter=Q(hosts__status=HostStatus.SUCCEEDED)),
            host_failed=Count("hosts", filter=Q(hosts__status=HostStatus.FAILED)),
        )
        .order_by("-created_at", "-id")[:limit]
    )


def exporter_install_get(*, install_id: int) -> ExporterInstall | None:
    hosts = Prefetch("hosts", queryset=ExporterInstallHost.objects.order_by("id"))
    return ExporterInstall.objects.select_related("config", "created_by").prefetch_related(hosts).filter(
        pk=install_id
    ).first()


def exporter_install_last_for_address(*, address: str) -> ExporterInstall | None:
    """The last install job that put agents on ``address`` successfully (what a scale-in removes again)."""
    host = (
        ExporterInstallHost.objects.filter(address=address, status=HostStatus.SUCCEEDED,
                                           install__action=InstallAction.INSTALL)
        .select_related("install")
        .order_by("-pk")
        .first()
    )
    return host.install if host is not None else None


def exporter_install_progress(*, install: ExporterInstall) -> dict[str, Any]:
    """JSON-ready progress of a job and each of its hosts (hosts prefetched)."""
    return {
        "id": install.pk,
        "status": install.status,
        "status_display": str(install.get_status_display()),
        "active": install.is_active,
        "error": install.error,
        "hosts": [
            {
                "id": host.pk,
                "vm_name": host.vm_name,
                "address": host.address,
                "status": host.status,
                "status_display": str(host.get_status_display()),
                "step": _(host.step) if host.step else "",  # stored as the worker's msgid: the reader's language
                "log": host.log,
                "changed": host.changed,
                "metrics_ok": host.metrics_ok,
                "target": host.target,
            }
            for host in install.hosts.all()
        ],
    }


def vcenter_vms() -> tuple[list, str]:
    """VMs (not templates) from vCenter with their IPs, or the reason they cannot be listed."""

    try:
        return sorted(vcenter_client().vms_list(templates=False), key=lambda vm: vm.name), ""
    except VCenterConfigError as exc:
        return [], str(exc)
    except VCenterError as exc:
        return [], str(exc)
