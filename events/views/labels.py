"""Translated labels of the pipeline stage names the runners record (unknown names are humanised).

The names and English titles are the pipelines' (autoscaling/pipelines/scale_out.py, scale_in.py).
"""

from django.utils.translation import gettext_lazy as _

STAGE_LABELS = {
    # scale-out
    "allocate_ip": _("Allocate IP addresses"),
    "clone": _("Clone VMs from the template"),
    "power_on": _("Power on"),
    "network": _("Configure the network"),
    "health": _("Wait for the health check"),
    "f5_add": _("Add F5 pool members"),
    "target_add": _("Add Prometheus targets"),
    "complete": _("Complete"),
    # scale-in
    "pick_vms": _("Pick VMs to remove"),
    "f5_disable": _("Disable F5 pool members"),
    "f5_drain": _("Drain connections"),
    "f5_remove": _("Remove F5 pool members and nodes"),
    "monitoring_remove": _("Remove monitoring agents"),
    "target_remove": _("Remove Prometheus targets"),
    "shutdown": _("Shut down the guests"),
    "destroy": _("Destroy the VMs"),
    "release_ip": _("Release IP addresses"),
    "reconcile": _("Reconcile"),
}
