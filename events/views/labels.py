"""Translated labels of the pipeline stage names the runners record (unknown names are humanised)."""

from django.utils.translation import gettext_lazy as _

STAGE_LABELS = {
    "decide": _("Decide"),
    "allocate_ip": _("Allocate IP"),
    "clone_vm": _("Clone VM from template"),
    "power_on": _("Power on"),
    "configure_network": _("Configure network"),
    "wait_health": _("Wait for health check"),
    "f5_add_member": _("Add F5 pool member"),
    "prometheus_add_target": _("Add Prometheus target"),
    "complete": _("Complete"),
    "select_vm": _("Pick VM"),
    "f5_remove_member": _("Remove F5 pool member"),
    "remove_monitoring": _("Remove monitoring agents"),
    "prometheus_remove_target": _("Remove Prometheus target"),
    "power_off": _("Shut down"),
    "destroy_vm": _("Destroy VM"),
    "release_ip": _("Release IP"),
    "rollback": _("Roll back"),
}
