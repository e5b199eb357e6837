"""The Stage abstraction and the context a run's stages share.

A stage is a named, idempotent step (``run``) with an undo (``rollback``). Stages keep what they created in
``ctx.plan`` — a JSON document saved on the ScaleEvent *before* each side effect is attempted — so that a
rollback run by another process (the reconcile task after a worker died, or a later Jenkins step) knows
what to undo. Running a stage twice, or rolling back something that is already gone, is harmless.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar, TypedDict, TypeVar, Unpack, cast

from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.functional import Promise

from autoscaling.models import AutoscalingConfig
from events.models import ScaleEvent
from provisioning.clients import Clients

logger = logging.getLogger(__name__)
T = TypeVar("T")


class StageError(Exception):
    """A stage failed; ``str()`` says what and what the operator can do."""


class PlanVM(TypedDict, total=False):
    """One VM of a run as its plan records it: what the stages did to it so far (each flag is saved *before* the
    side effect it announces). Every scale-out VM has ``name``, ``ip`` and ``lease_id``; every scale-in VM ``name``,
    ``ip``, ``managed_vm_id``, ``lease_id`` and ``to_warm_pool``."""

    name: str
    ip: str
    lease_id: int | None
    managed_vm_id: int
    moref: str
    # scale-out
    warm: bool  # taken from the warm pool (not cloned by this run)
    clone_started: bool
    name_taken: bool  # vCenter had a VM of this name this run did not create: never touched by the run
    clone_returned: bool  # the clone call came back (a timed-out clone task may still complete in vCenter)
    cloned: bool
    power_on_started: bool
    healthy: bool
    health_failed: bool
    f5_started: bool
    f5_member: str
    target_started: bool
    # scale-in
    to_warm_pool: bool  # kept powered off in the warm pool instead of being destroyed
    f5_disabled: bool
    f5_removed: bool
    target_removed: bool
    shutdown_started: bool
    destroyed: bool


class RunWorker(TypedDict):
    """The process working on the run (the reconcile task rolls back a run whose worker is gone)."""

    host: str
    pid: int


class RunSection(TypedDict, total=False):
    vms: list[PlanVM]
    worker: RunWorker | None


class RunPlan(TypedDict):
    """``ScaleEvent.plan``: the JSON document a run keeps of what it did."""

    run: RunSection


class RunContext:
    """What a run's stages share: the event, its config, the persisted plan, the clients, a stage log."""

    def __init__(self, *, event: ScaleEvent, clients: Clients | None = None) -> None:
        self.event = event
        plan = cast(RunPlan, dict(event.plan or {}))
        plan.setdefault("run", {})
        plan["run"].setdefault("vms", [])
        self.plan: RunPlan = plan
        self.clients = clients or Clients()
        self._lock = threading.RLock()
        self._log_sink: Callable[[str], None] | None = None
        self.waited_seconds = 0.0  # time spent waiting on vCenter/F5/SSH/health (for the benchmark)

    @property
    def config(self) -> AutoscalingConfig:
        """The event's config; a run whose config was deleted meanwhile fails its stage with this error."""
        config = self.event.config
        if config is None:
            raise StageError(
                f"scale event #{self.event.pk} has no autoscaling config any more (it was deleted): its stages cannot "
                "run or roll back; check vCenter, the F5 pool and the IP leases of the service by hand."
            )
        return config

    # ---- the persisted plan ----------------------------------------------------------------------------
    @property
    def vms(self) -> list[PlanVM]:
        return self.plan["run"]["vms"]

    def save_plan(self) -> None:
        """Persist the plan now (before a side effect, so a crash leaves a record of what may exist)."""
        with self._lock:
            ScaleEvent.objects.filter(pk=self.event.pk).update(plan=self.plan)
            self.event.plan = self.plan

    def update_vm(self, vm: PlanVM, **values: Unpack[PlanVM]) -> None:
        with self._lock:
            vm.update(values)
            self.save_plan()

    # ---- logging -----------------------------------------------------------------------------------
    def log(self, message: str) -> None:
        line = f"{timezone.now().strftime('%H:%M:%S')} {message}"
        logger.info("scale event %s: %s", self.event.pk, message)
        with self._lock:
            if self._log_sink is not None:
                self._log_sink(line)

    def set_log_sink(self, sink: Callable[[str], None] | None) -> None:
        with self._lock:
            self._log_sink = sink

    # ---- parallel work -------------------------------------------------------------------------------
    def parallel(self, fn: Callable[[PlanVM], T], vms: Iterable[PlanVM]) -> list[T]:
        """Run ``fn(vm)`` for every VM in parallel threads; re-raise the first error after all finished."""
        items = list(vms)
        if len(items) <= 1:
            return [fn(vm) for vm in items]

        def call(vm: PlanVM) -> tuple[T | None, BaseException | None]:
            close_old_connections()
            try:
                return fn(vm), None
            except Exception as exc:  # collected, the first one is raised below
                return None, exc
            finally:
                if not connection.in_atomic_block:
                    connection.close()

        with ThreadPoolExecutor(max_workers=len(items), thread_name_prefix=f"run-{self.event.pk}") as pool:
            results = list(pool.map(call, items))
        errors = [exc for _, exc in results if exc is not None]
        if errors:
            raise errors[0]
        return [cast(T, value) for value, _ in results]  # no error: every call returned its value


class Stage:
    """One named step of a pipeline. Subclasses set ``name`` and implement ``run`` (and ``rollback``)."""

    name: ClassVar[str] = ""  # what runs record (ScaleEventStage.name)
    title: ClassVar[str | Promise] = ""  # the operator-facing label (translatable)
    jenkins_step: ClassVar[str] = ""  # the generated Jenkins job's stage that runs it
    idempotent: ClassVar[bool] = True

    def run(self, ctx: RunContext) -> None:
        raise NotImplementedError

    def rollback(self, ctx: RunContext) -> list[str]:
        """Undo what ``run`` did (as recorded in ``ctx.plan``); returns one line per thing undone."""
        return []

    def __repr__(self) -> str:
        return f"<Stage {self.name}>"
