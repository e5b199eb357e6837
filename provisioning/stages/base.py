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
from typing import Any, ClassVar

from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.functional import Promise

from autoscaling.models import AutoscalingConfig
from events.models import ScaleEvent
from provisioning.clients import Clients

logger = logging.getLogger(__name__)


class StageError(Exception):
    """A stage failed; ``str()`` says what and what the operator can do."""


class RunContext:
    """What a run's stages share: the event, its config, the persisted plan, the clients, a stage log."""

    def __init__(self, *, event: ScaleEvent, clients: Any = None) -> None:
        self.event = event
        self.config: AutoscalingConfig = event.config
        plan = dict(event.plan or {})
        plan.setdefault("run", {})
        plan["run"].setdefault("vms", [])
        self.plan: dict = plan
        self.clients = clients or Clients()
        self._lock = threading.RLock()
        self._log_sink: Callable[[str], None] | None = None
        self.waited_seconds = 0.0  # time spent waiting on vCenter/F5/SSH/health (for the benchmark)

    # ---- the persisted plan ----------------------------------------------------------------------------
    @property
    def vms(self) -> list[dict]:
        return self.plan["run"]["vms"]

    def save_plan(self) -> None:
        """Persist the plan now (before a side effect, so a crash leaves a record of what may exist)."""
        with self._lock:
            ScaleEvent.objects.filter(pk=self.event.pk).update(plan=self.plan)
            self.event.plan = self.plan

    def update_vm(self, vm: dict, **values: Any) -> None:
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
    def parallel(self, fn: Callable[[dict], Any], vms: Iterable[dict]) -> list[Any]:
        """Run ``fn(vm)`` for every VM in parallel threads; re-raise the first error after all finished."""
        items = list(vms)
        if len(items) <= 1:
            return [fn(vm) for vm in items]

        def call(vm: dict) -> tuple[Any, BaseException | None]:
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
        return [value for value, _ in results]


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
