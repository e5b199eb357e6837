"""Services on VMs the autoscaler created."""

from __future__ import annotations

from autoscaling.models import ManagedVM


def managed_vm_set_protection(*, vm: ManagedVM, protected: bool) -> ManagedVM:
    """Protect a VM from scale-in (or lift the protection); only this field is written."""
    ManagedVM.objects.filter(pk=vm.pk).update(scale_in_protected=protected)
    vm.scale_in_protected = protected
    return vm
