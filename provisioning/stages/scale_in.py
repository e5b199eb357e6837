"""Scale-in: pick VMs → F5 disable, drain, remove → monitoring removal → target removal →
guest shutdown (power off after a timeout) → destroy → release IP → complete.

Only VMs the autoscaler created are ever picked (a ManagedVM row in service whose name is
``<prefix>-YYYYMMDDHHmmss``), never the base VMs; newest first by default (LIFO: the VM added last goes first),
oldest first when the config says so; protected VMs are skipped. A failure before the VM is destroyed puts it back
in service (member re-added/enabled, target re-added, VM powered on again); after the destroy there is nothing to
restore and the run says so.

Warm pool (``warm_pool_size`` > 0): while the config's pool holds fewer VMs than that, a picked VM that holds
its address lease is not destroyed: after the shutdown it stays powered off with its lease, network settings
and monitoring agents, for a scale-out to power on instead of cloning (AWS "reuse on scale-in"). The room is
checked again at the destroy stage, and the VM becomes ``warm`` only when the run completes (until then it is
``draining``, so neither a trim nor a scale-out can take it from a run that may still roll back).
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from autoscaling.choices import ManagedVMState
from autoscaling.models import IPLease, ManagedVM
from autoscaling.selectors import managed_vms_scale_in_candidates
from autoscaling.services.warm_pool import warm_fingerprint, warm_pool_room
from provisioning import ports
from provisioning.stages.base import PlanVM, RunContext, Stage, StageError


def _pooled(vm: PlanVM) -> bool:
    """This run keeps the VM powered off in the warm pool instead of destroying it."""
    return bool(vm.get("to_warm_pool"))


def _live(vm: PlanVM) -> bool:
    """The VM still exists (not destroyed by this run): restoring its service makes sense."""
    return not vm.get("destroyed")


class PickVMsStage(Stage):
    name = "pick_vms"
    title = _("Pick VMs to remove")
    jenkins_step = "select-vm"

    def run(self, ctx: RunContext) -> None:
        if ctx.vms:
            ctx.log(f"already picked: {', '.join(vm['name'] for vm in ctx.vms)}")
            return
        wanted = max(1, ctx.event.requested_count or 1)
        picked = managed_vms_scale_in_candidates(config=ctx.config)[:wanted]
        if not picked:
            raise StageError(
                f"No VM of {ctx.config.service_name} can be removed: only VMs the autoscaler created and that are "
                "in service and not protected are picked (base VMs never are)."
            )
        room = warm_pool_room(ctx.config)
        for row in picked:
            lease = IPLease.objects.filter(config=ctx.config, ip_address=row.ip_address, state="leased").first()
            to_pool = room > 0 and lease is not None  # a pooled VM must keep its address leased
            room -= to_pool
            ctx.vms.append(
                {
                    "name": row.name,
                    "ip": row.ip_address or "",
                    "managed_vm_id": row.pk,
                    "lease_id": lease.pk if lease else None,
                    "to_warm_pool": to_pool,
                }
            )
            ManagedVM.objects.filter(pk=row.pk).update(state=ManagedVMState.DRAINING)
            kept = "; it will be kept powered off in the warm pool" if to_pool else ""
            ctx.log(f"picked {row.name} ({row.ip_address}){kept}")
        ctx.save_plan()

    def rollback(self, ctx: RunContext) -> list[str]:
        done = []
        for vm in ctx.vms:
            if _live(vm) and ManagedVM.objects.filter(pk=vm["managed_vm_id"], state=ManagedVMState.DRAINING).update(
                state=ManagedVMState.IN_SERVICE
            ):
                done.append(f"{vm['name']} back in service")
        return done


class F5DisableStage(Stage):
    name = "f5_disable"
    title = _("Disable F5 pool members")
    jenkins_step = "f5-remove-member"

    def run(self, ctx: RunContext) -> None:
        for vm in ctx.vms:
            ctx.update_vm(vm, f5_disabled=True)
            was_member = ports.f5_member_disable(ctx, ip=vm["ip"])
            ctx.log(f"disabled {vm['ip']}:{ctx.config.f5_vip_port}" if was_member else f"{vm['ip']} was not a member")

    def rollback(self, ctx: RunContext) -> list[str]:
        done = []
        for vm in ctx.vms:
            if vm.get("f5_disabled") and _live(vm) and ports.f5_member_enable_if_disabled(ctx, ip=vm["ip"]):
                done.append(f"re-enabled F5 member {vm['ip']}:{ctx.config.f5_vip_port}")
        return done


class F5DrainStage(Stage):
    name = "f5_drain"
    title = _("Drain connections")
    jenkins_step = "f5-remove-member"

    def run(self, ctx: RunContext) -> None:
        for vm in ctx.vms:
            ctx.log(ports.f5_member_drain(ctx, ip=vm["ip"]))


class F5RemoveStage(Stage):
    name = "f5_remove"
    title = _("Remove F5 pool members and nodes")
    jenkins_step = "f5-remove-member"

    def run(self, ctx: RunContext) -> None:
        for vm in ctx.vms:
            ctx.update_vm(vm, f5_removed=True)
            removed = ports.f5_member_remove(ctx, ip=vm["ip"])
            ctx.log(f"removed member {vm['ip']}:{ctx.config.f5_vip_port}" if removed else "member already gone")
            note = ports.f5_node_delete(ctx, ip=vm["ip"])
            if note:
                ctx.log(note)

    def rollback(self, ctx: RunContext) -> list[str]:
        done = []
        for vm in ctx.vms:
            if vm.get("f5_removed") and _live(vm):
                if ports.f5_member_enable_if_disabled(ctx, ip=vm["ip"]):  # the removal never happened
                    done.append(f"re-enabled F5 member {vm['ip']}:{ctx.config.f5_vip_port}")
                    continue
                ports.f5_member_add(ctx, ip=vm["ip"])
                done.append(f"re-added F5 member {vm['ip']}:{ctx.config.f5_vip_port}")
        return done


class MonitoringRemoveStage(Stage):
    name = "monitoring_remove"
    title = _("Remove monitoring agents")
    jenkins_step = "remove-agents"

    def run(self, ctx: RunContext) -> None:
        for vm in ctx.vms:
            if _pooled(vm):
                ctx.log(f"{vm['name']}: agents kept (goes to the warm pool)")
                continue
            ctx.log(f"{vm['name']}: {ports.monitoring_uninstall(ctx, vm_name=vm['name'], ip=vm['ip'])}")


class TargetRemoveStage(Stage):
    name = "target_remove"
    title = _("Remove Prometheus targets")
    jenkins_step = "prometheus-remove-target"

    def run(self, ctx: RunContext) -> None:
        for vm in ctx.vms:
            ctx.update_vm(vm, target_removed=True)
            removed = ports.target_remove(ctx, ip=vm["ip"])
            address = ports.target_address(ctx.config, vm["ip"])
            ctx.log(f"removed target {address}" if removed else f"target {address} was not registered")

    def rollback(self, ctx: RunContext) -> list[str]:
        done = []
        for vm in ctx.vms:
            if vm.get("target_removed") and _live(vm):
                ports.target_add(ctx, ip=vm["ip"], vm_name=vm["name"])
                done.append(f"re-added Prometheus target {ports.target_address(ctx.config, vm['ip'])}")
        return done


class ShutdownStage(Stage):
    name = "shutdown"
    title = _("Shut down the guests")
    jenkins_step = "power-off"

    def run(self, ctx: RunContext) -> None:
        def shutdown(vm: PlanVM) -> None:
            ctx.update_vm(vm, shutdown_started=True)
            how = ports.vm_shutdown(ctx, name=vm["name"], timeout=settings.IXNODE_GUEST_SHUTDOWN_TIMEOUT)
            ctx.log(f"{vm['name']}: {how}")

        ctx.parallel(shutdown, ctx.vms)

    def rollback(self, ctx: RunContext) -> list[str]:
        done = []
        for vm in ctx.vms:
            if vm.get("shutdown_started") and _live(vm) and ports.vm_exists(ctx, name=vm["name"]):
                ports.vm_power_on(ctx, name=vm["name"])
                done.append(f"powered {vm['name']} on again")
        return done


class DestroyStage(Stage):
    name = "destroy"
    title = _("Destroy the VMs")
    jenkins_step = "destroy-vm"

    def run(self, ctx: RunContext) -> None:
        # The pool may have filled or shrunk since the VMs were picked: decide again, now. The kept VMs stay
        # "draining" (out of reach of a trim) until the run completes.
        room = warm_pool_room(ctx.config)
        for vm in ctx.vms:
            if not _pooled(vm):
                continue
            if room > 0:
                room -= 1
                ctx.log(f"kept {vm['name']} powered off for the warm pool ({vm['ip']} stays leased)")
            else:
                ctx.update_vm(vm, to_warm_pool=False)
                ctx.log(f"the warm pool has no room left: {vm['name']} is destroyed instead")

        def destroy(vm: PlanVM) -> None:
            existed = ports.vm_destroy(ctx, name=vm["name"])
            ctx.update_vm(vm, destroyed=True)
            ManagedVM.objects.filter(pk=vm["managed_vm_id"]).update(
                state=ManagedVMState.DELETED, deleted_at=timezone.now()
            )
            ctx.log(f"destroyed {vm['name']}" if existed else f"{vm['name']} was already gone")

        ctx.parallel(destroy, [vm for vm in ctx.vms if not _pooled(vm)])

    def rollback(self, ctx: RunContext) -> list[str]:
        """A destroyed VM cannot come back, so roll forward: release its lease (the address is free now) —
        else a failing release_ip stage would leak the lease for good."""
        done = []
        for vm in ctx.vms:
            lease_id = vm.get("lease_id")
            if vm.get("destroyed") and lease_id and ports.lease_release(ctx, lease_id=lease_id):
                done.append(f"released IP {vm['ip']} of destroyed VM {vm['name']}")
        return done


class ReleaseIPStage(Stage):
    name = "release_ip"
    title = _("Release IP addresses")
    jenkins_step = "release-ip"

    def run(self, ctx: RunContext) -> None:
        for vm in ctx.vms:
            lease_id = vm.get("lease_id")
            if _pooled(vm):
                ctx.log(f"{vm['ip']} stays leased to {vm['name']} in the warm pool")
            elif lease_id and ports.lease_release(ctx, lease_id=lease_id):
                ctx.log(f"released {vm['ip']}")
            else:
                ctx.log(f"no lease held for {vm['ip']}")


class CompleteScaleInStage(Stage):
    name = "complete"
    title = _("Complete")
    jenkins_step = "complete"

    def run(self, ctx: RunContext) -> None:
        ctx.log(f"removed: {', '.join(vm['name'] for vm in ctx.vms)}")
        pooled = [vm for vm in ctx.vms if _pooled(vm)]
        fingerprint = warm_fingerprint(config=ctx.config)
        for vm in pooled:
            ManagedVM.objects.filter(pk=vm["managed_vm_id"], state=ManagedVMState.DRAINING).update(
                state=ManagedVMState.WARM, in_service_at=None, warm_fingerprint=fingerprint
            )
        if pooled:
            ctx.log(f"in the warm pool (powered off): {', '.join(vm['name'] for vm in pooled)}")

