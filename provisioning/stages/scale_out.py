"""Scale-out: allocate IP → clone → power on → network → health → F5 add → target add → complete.

Each stage works on every VM of the run (``event.requested_count`` of them); the slow ones (clone, power on,
network, health) handle the VMs in parallel threads, so a step of 4 costs about as much as a step of 1.

Warm pool: VMs a scale-in kept powered off (state ``warm``, see ``scale_in``) are taken first, oldest first:
they keep their name, address and network settings, so they skip the clone and network stages and are only
powered on. If such a run fails, a warm VM goes back to the pool (powered off) unless its own health check
failed (then it is destroyed and its address released, so a broken VM is not handed out again). Only warm VMs
prepared with the config's current template and network settings are taken (``services.warm_pool``).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from autoscaling.choices import ManagedVMState
from autoscaling.managed_vms import managed_vm_names_new
from autoscaling.models import IPLease, ManagedVM
from autoscaling.services.warm_pool import warm_vms_ready
from provisioning import ports
from provisioning.stages.base import PlanVM, RunContext, Stage, StageError


def _warm(vm: PlanVM) -> bool:
    """The VM came from the warm pool (not cloned by this run)."""
    return bool(vm.get("warm"))


def warm_vms_claim(ctx: RunContext, *, count: int) -> list[PlanVM]:
    """Take up to ``count`` usable VMs (current template and network settings, address still leased) out of the
    config's warm pool into this run's plan, oldest first. Each is claimed by a conditional update (warm →
    provisioning), and the claims and the plan are written in one transaction: a crash leaves a VM either in the
    pool or in the plan, and two runs or a trim never take the same VM."""
    if count <= 0:
        return []
    claimed: list[PlanVM] = []
    with transaction.atomic():
        for row in warm_vms_ready(config=ctx.config).select_for_update():
            if len(claimed) >= count:
                break
            lease = IPLease.objects.filter(config=ctx.config, ip_address=row.ip_address, state="leased").first()
            if lease is None or not ManagedVM.objects.filter(pk=row.pk, state=ManagedVMState.WARM).update(
                state=ManagedVMState.PROVISIONING
            ):
                continue
            claimed.append(
                {
                    "name": row.name,
                    "ip": lease.ip_address,
                    "lease_id": lease.pk,
                    "moref": row.moref,
                    "cloned": True,
                    "warm": True,
                }
            )
        ctx.vms.extend(claimed)
        ctx.save_plan()
    return claimed


class AllocateIPStage(Stage):
    name = "allocate_ip"
    title = _("Allocate IP addresses")
    jenkins_step = "allocate-ip"

    def run(self, ctx: RunContext) -> None:
        wanted = max(1, ctx.event.requested_count or 1)
        missing = wanted - len(ctx.vms)
        if missing <= 0:
            ctx.log(f"{len(ctx.vms)} address(es) already allocated")
            return
        for vm in warm_vms_claim(ctx, count=missing):
            ctx.log(f"took {vm['name']} ({vm['ip']}) from the warm pool")
        missing = wanted - len(ctx.vms)
        if missing <= 0:
            return
        prefix = ctx.config.vm_prefix
        taken = set(ManagedVM.objects.filter(name__startswith=prefix).values_list("name", flat=True))
        taken |= {vm["name"] for vm in ctx.vms}
        taken |= set(ports.vm_names(ctx, prefix=prefix))
        for name in managed_vm_names_new(prefix, missing, taken):
            lease = ports.lease_allocate(ctx, vm_name=name)
            ctx.vms.append({"name": name, "ip": lease.ip_address, "lease_id": lease.pk})
            ctx.save_plan()
            ctx.log(f"leased {lease.ip_address} for {name}")

    def rollback(self, ctx: RunContext) -> list[str]:
        done = []
        lease_ids = {lease_id for vm in ctx.vms if (lease_id := vm.get("lease_id")) and not _warm(vm)}
        lease_ids |= set(IPLease.objects.filter(event=ctx.event, state="leased").values_list("pk", flat=True))
        for lease_id in sorted(lease_ids):
            ip, vm_name = IPLease.objects.filter(pk=lease_id).values_list("ip_address", "vm_name").first() or ("", "")
            alive = ManagedVM.objects.filter(name=vm_name).exclude(state=ManagedVMState.DELETED).first()
            if alive is not None and alive.state != ManagedVMState.WARM:
                # its VM could not be destroyed (the clone rollback failed): the address stays with it
                done.append(f"kept IP {ip}: VM {vm_name} was not destroyed")
                continue
            if ports.lease_release(ctx, lease_id=lease_id):
                done.append(f"released IP {ip}")
        # Warm VMs claimed by a run that failed before powering them on: untouched (still off), back they go.
        for vm in ctx.vms:
            if not _warm(vm) or vm.get("power_on_started"):
                continue
            claimed = ManagedVM.objects.filter(name=vm["name"], state=ManagedVMState.PROVISIONING)
            if claimed.update(state=ManagedVMState.WARM):
                done.append(f"returned {vm['name']} to the warm pool")
        return done


class CloneStage(Stage):
    name = "clone"
    title = _("Clone VMs from the template")
    jenkins_step = "clone-vm"

    def run(self, ctx: RunContext) -> None:
        pending = [vm for vm in ctx.vms if not vm.get("moref") and not vm.get("cloned")]
        # A VM of the plan's name found in vCenter is this run's own only when an earlier attempt of this run started
        # its clone (a resumed run); otherwise someone else made it after the name was chosen (another control
        # plane, an operator, a racing clone): it is not adopted, and the rollback leaves it alone.
        resumed = {vm["name"] for vm in pending if vm.get("clone_started")}
        for vm in pending:
            ManagedVM.objects.get_or_create(
                name=vm["name"],
                defaults={
                    "config": ctx.config,
                    "ip_address": vm["ip"],
                    "state": ManagedVMState.PROVISIONING,
                    "created_by_event": ctx.event,
                },
            )
            vm["clone_started"] = True
        ctx.save_plan()  # recorded before vCenter is asked: a crash mid-clone still knows the name

        def name_taken(vm: PlanVM) -> StageError:
            ctx.update_vm(vm, clone_started=False, name_taken=True)
            return StageError(
                f"a VM named '{vm['name']}' already exists in vCenter but this run did not create it (another control "
                "plane, an operator or a concurrent clone made it after the name was chosen): it was left untouched "
                "and not added to the service; the run stops and gives its address back."
            )

        def clone(vm: PlanVM) -> None:
            if ports.vm_exists(ctx, name=vm["name"]):
                if vm["name"] not in resumed:
                    raise name_taken(vm)
                ctx.log(f"{vm['name']} already exists in vCenter (resumed run)")
                ctx.update_vm(vm, cloned=True, clone_returned=True)
                return
            ctx.log(f"cloning {ctx.config.template.name} → {vm['name']}")
            try:
                moref = ports.vm_clone(ctx, name=vm["name"], ip=vm["ip"])
            except Exception as exc:
                if exc.__class__.__name__ == "VCenterAlreadyExists" and vm["name"] not in resumed:
                    raise name_taken(vm) from exc
                # A task that timed out may still complete in vCenter: rollback then waits for it.
                ctx.update_vm(vm, clone_returned=exc.__class__.__name__ != "VCenterTimeout")
                raise
            ctx.update_vm(vm, cloned=True, clone_returned=True, moref=moref)
            ManagedVM.objects.filter(name=vm["name"]).update(moref=moref[:64])
            ctx.log(f"cloned {vm['name']} ({moref})")

        ctx.parallel(clone, pending)

    def rollback(self, ctx: RunContext) -> list[str]:
        """Destroy the clones; give the warm VMs back to the pool powered off — except one whose own health check
        failed (destroyed, address released) or that vCenter no longer has. Every VM is handled even when another
        fails; the first error is raised at the end (so the address of a clone that could not be destroyed is
        kept by the allocate_ip rollback, and the run is marked failed)."""
        done: list[str] = []
        for vm in ctx.vms:
            if vm.get("name_taken") and not vm.get("clone_started"):
                # The row is this run's, the VM of that name is not: the row goes, the VM stays as it is.
                ManagedVM.objects.filter(name=vm["name"], created_by_event=ctx.event,
                                         state=ManagedVMState.PROVISIONING).update(
                    state=ManagedVMState.DELETED, deleted_at=timezone.now())
                done.append(f"left VM {vm['name']} alone (this run did not create it)")
        started = [vm for vm in ctx.vms if (vm.get("clone_started") or vm.get("cloned")) and not _warm(vm)]
        warm = [vm for vm in ctx.vms if _warm(vm)]

        def release(vm: PlanVM) -> str:
            if (lease_id := vm.get("lease_id")) and ports.lease_release(ctx, lease_id=lease_id):
                return f", released IP {vm['ip']}"
            return ""

        def warm_back(vm: PlanVM) -> None:
            if vm.get("health_failed"):
                existed = ports.vm_destroy(ctx, name=vm["name"])
                ManagedVM.objects.filter(name=vm["name"]).update(
                    state=ManagedVMState.DELETED, deleted_at=timezone.now()
                )
                done.append(f"{'destroyed' if existed else 'gone:'} warm VM {vm['name']} (it failed its health "
                            f"check){release(vm)}")
                return
            if not ports.vm_exists(ctx, name=vm["name"]):
                ManagedVM.objects.filter(name=vm["name"]).update(
                    state=ManagedVMState.DELETED, deleted_at=timezone.now()
                )
                done.append(f"warm VM {vm['name']} is gone from vCenter{release(vm)}")
                return
            how = ports.vm_shutdown(ctx, name=vm["name"], timeout=settings.IXNODE_GUEST_SHUTDOWN_TIMEOUT)
            ManagedVM.objects.filter(name=vm["name"], state=ManagedVMState.PROVISIONING).update(
                state=ManagedVMState.WARM, in_service_at=None
            )
            done.append(f"returned {vm['name']} to the warm pool ({how})")

        def destroy(vm: PlanVM) -> None:
            # A clone whose call never returned (worker killed, task timed out) may still be running in
            # vCenter: keep looking for the VM for IXNODE_CLONE_SETTLE_SECONDS so it cannot appear afterwards.
            settle = 0.0 if vm.get("clone_returned") else settings.IXNODE_CLONE_SETTLE_SECONDS
            deadline = time.monotonic() + settle
            last_error: Exception | None = None
            while True:
                try:
                    if ports.vm_destroy(ctx, name=vm["name"]):
                        done.append(f"destroyed VM {vm['name']}")
                        break
                    last_error = None
                except Exception as exc:  # e.g. the clone task still holds the VM
                    last_error = exc
                if time.monotonic() >= deadline:
                    if last_error is not None:
                        raise last_error
                    break
                time.sleep(min(1.0, max(0.05, settle / 20)))
            ManagedVM.objects.filter(name=vm["name"]).update(state=ManagedVMState.DELETED, deleted_at=timezone.now())

        errors: list[Exception] = []
        for fn, group in ((destroy, started), (warm_back, warm)):
            try:
                ctx.parallel(fn, group)
            except Exception as exc:  # noqa: BLE001 - the other group is still handled; raised below
                errors.append(exc)
        if errors:
            undone = f" (done before it: {'; '.join(done)})" if done else ""
            raise StageError(f"{errors[0]}{undone}") from errors[0]
        return done


class PowerOnStage(Stage):
    name = "power_on"
    title = _("Power on")
    jenkins_step = "power-on"

    def run(self, ctx: RunContext) -> None:
        def power_on(vm: PlanVM) -> None:
            ctx.update_vm(vm, power_on_started=True)
            ports.vm_power_on(ctx, name=vm["name"])
            ctx.log(f"powered on {vm['name']}")

        ctx.parallel(power_on, ctx.vms)


class NetworkStage(Stage):
    name = "network"
    title = _("Configure the network")
    jenkins_step = "configure-network"

    def run(self, ctx: RunContext) -> None:
        def configure(vm: PlanVM) -> None:
            ports.network_configure(ctx, vm_name=vm["name"], ip=vm["ip"])
            ctx.log(f"network of {vm['name']} set to {vm['ip']}")

        for vm in ctx.vms:
            if _warm(vm):
                ctx.log(f"network of {vm['name']} already set to {vm['ip']} (warm pool)")
        ctx.parallel(configure, [vm for vm in ctx.vms if not _warm(vm)])


class HealthStage(Stage):
    name = "health"
    title = _("Wait for the health check")
    jenkins_step = "wait-healthy"

    def run(self, ctx: RunContext) -> None:
        def check(vm: PlanVM) -> None:
            try:
                ports.health_wait(ctx, ip=vm["ip"])
            except Exception:
                ctx.update_vm(vm, health_failed=True)
                raise
            ctx.update_vm(vm, healthy=True)
            ctx.log(f"{vm['name']} healthy at http://{vm['ip']}:{ctx.config.f5_vip_port}"
                    f"{ctx.config.f5_health_check_path}")

        ctx.parallel(check, ctx.vms)


class F5AddStage(Stage):
    name = "f5_add"
    title = _("Add F5 pool members")
    jenkins_step = "f5-add-member"

    def run(self, ctx: RunContext) -> None:
        for vm in ctx.vms:
            ctx.update_vm(vm, f5_started=True)
            member = ports.f5_member_add(ctx, ip=vm["ip"])
            ctx.update_vm(vm, f5_member=member)
            ctx.log(f"added {member} to F5 pool {ctx.config.f5_pool_name}")

    def rollback(self, ctx: RunContext) -> list[str]:
        done = []
        for vm in ctx.vms:
            if not vm.get("f5_started"):
                continue
            if ports.f5_member_remove(ctx, ip=vm["ip"]):
                done.append(f"removed F5 member {vm['ip']}:{ctx.config.f5_vip_port}")
            note = ports.f5_node_delete(ctx, ip=vm["ip"])
            if note:
                done.append(note)
        return done


class TargetAddStage(Stage):
    name = "target_add"
    title = _("Add Prometheus targets")
    jenkins_step = "prometheus-add-target"

    def run(self, ctx: RunContext) -> None:
        for vm in ctx.vms:
            ctx.update_vm(vm, target_started=True)
            ports.target_add(ctx, ip=vm["ip"], vm_name=vm["name"])
            ctx.log(f"added target {ports.target_address(ctx.config, vm['ip'])}")

    def rollback(self, ctx: RunContext) -> list[str]:
        done = []
        for vm in ctx.vms:
            if vm.get("target_started") and ports.target_remove(ctx, ip=vm["ip"]):
                done.append(f"removed Prometheus target {ports.target_address(ctx.config, vm['ip'])}")
        return done


class CompleteScaleOutStage(Stage):
    name = "complete"
    title = _("Complete")
    jenkins_step = "complete"

    def run(self, ctx: RunContext) -> None:
        now = timezone.now()
        names = [vm["name"] for vm in ctx.vms]
        ManagedVM.objects.filter(name__in=names).update(state=ManagedVMState.IN_SERVICE, in_service_at=now)
        ctx.log(f"in service: {', '.join(names)}")

