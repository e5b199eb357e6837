"""Run a ScaleEvent's pipeline: stages in order, each recorded; on failure, roll back in reverse; then finish.

``run_scale_event(event_id)`` is what the embedded executor (the django-q2 task) calls; the Jenkins executor
runs the very same stages one at a time through ``manage.py pipeline_step`` (``run_stage``). While a process
works on a run it records itself in the plan (``run.worker``: host and pid) and keeps ``heartbeat_at`` fresh;
the reconcile task rolls back a running run whose worker is gone (``provisioning.reconcile``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone, translation
from django.utils.translation import gettext

from autoscaling.services.runs import scale_event_finish, scale_event_heartbeat, scale_event_start
from events.choices import IN_FLIGHT_STATUSES, EventStatus, Executor, ScaleAction, StageStatus
from events.models import ScaleEvent, ScaleEventStage
from events.reasons import STAGE_FAILED
from provisioning.clients import Clients
from provisioning.stages import pipeline_stages, stage_names
from provisioning.stages.base import RunContext, Stage, StageError

logger = logging.getLogger(__name__)

class _Heartbeat:
    """A thread that keeps the run's heartbeat fresh while a stage runs."""

    def __init__(self, event: ScaleEvent, stage_name: Callable[[], str]) -> None:
        self.event = event
        self.stage_name = stage_name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{event.pk}", daemon=True)

    def _loop(self) -> None:
        interval = settings.IXNODE_PIPELINE_HEARTBEAT_SECONDS
        try:
            while not self._stop.wait(interval):
                close_old_connections()
                try:
                    scale_event_heartbeat(event=self.event, stage=self.stage_name())
                except Exception:  # a missed beat is not a reason to fail the run
                    logger.exception("heartbeat of scale event %s failed", self.event.pk)
        finally:
            connection.close()

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class Runner:
    """Runs, records and rolls back the stages of one ScaleEvent."""

    def __init__(self, event: ScaleEvent, *, clients=None) -> None:
        self.event = event
        self.stages = pipeline_stages(event.action)
        self.ctx = RunContext(event=event, clients=clients)
        self.current = ""

    # ---- records -------------------------------------------------------------------------------------
    def ensure_stage_rows(self) -> None:
        existing = set(self.event.stages.values_list("name", flat=True))
        with translation.override(None):  # the record keeps the English title; pages translate the name
            titles = {stage.name: str(stage.title) for stage in self.stages}
        rows = [
            ScaleEventStage(event=self.event, position=i, name=stage.name, detail={"title": titles[stage.name]})
            for i, stage in enumerate(self.stages, start=1)
            if stage.name not in existing
        ]
        if rows:
            ScaleEventStage.objects.bulk_create(rows, ignore_conflicts=True)

    def _row(self, name: str) -> ScaleEventStage:
        return ScaleEventStage.objects.get(event=self.event, name=name)

    def _sink_for(self, row: ScaleEventStage):
        lock = threading.Lock()
        lines = [row.log] if row.log else []

        def sink(line: str) -> None:
            with lock:
                lines.append(line)
                ScaleEventStage.objects.filter(pk=row.pk).update(log="\n".join(lines))

        return sink

    def _mark(self, row: ScaleEventStage, status: str, **fields) -> None:
        ScaleEventStage.objects.filter(pk=row.pk).update(status=status, **fields)

    def claim_worker(self) -> None:
        self.ctx.plan["run"]["worker"] = {"host": socket.gethostname(), "pid": os.getpid()}
        self.ctx.save_plan()

    def release_worker(self) -> None:
        self.ctx.plan["run"]["worker"] = None
        self.ctx.save_plan()

    # ---- running -------------------------------------------------------------------------------------
    def run_stage(self, stage: Stage) -> bool:
        """Run one stage (skipped when it already succeeded); on failure roll back and finish; True if ok."""
        row = self._row(stage.name)
        if row.status == StageStatus.SUCCEEDED:
            return True
        self.current = stage.name
        now = timezone.now()
        self._mark(row, StageStatus.RUNNING, started_at=now, finished_at=None)
        scale_event_heartbeat(event=self.event, stage=stage.name)
        self.ctx.set_log_sink(self._sink_for(row))
        try:
            if stage is not self.stages[0] and not self.ctx.vms:
                raise StageError(f"the run's plan lists no VM to work on (stage {self.stages[0].name} recorded none)")
            stage.run(self.ctx)
        except Exception as exc:
            logger.warning("scale event %s: stage %s failed: %s", self.event.pk, stage.name, exc)
            self.ctx.log(f"FAILED: {exc}")
            logger.debug("%s", traceback.format_exc())
            self.ctx.set_log_sink(None)
            self._mark(row, StageStatus.FAILED, finished_at=timezone.now())
            self.fail(STAGE_FAILED % {"stage": stage.name, "error": exc})
            return False
        self.ctx.set_log_sink(None)
        self._mark(row, StageStatus.SUCCEEDED, finished_at=timezone.now())
        if stage is self.stages[-1]:
            self.succeed()
        return True

    def run_all(self) -> ScaleEvent:
        self.ensure_stage_rows()
        self.claim_worker()
        try:
            with _Heartbeat(self.event, lambda: self.current):
                for stage in self.stages:
                    if not self.run_stage(stage):
                        break
        finally:
            self.ctx.clients.close()
        return ScaleEvent.objects.get(pk=self.event.pk)

    # ---- endings -------------------------------------------------------------------------------------
    def _count_after(self, succeeded: bool) -> int | None:
        before = self.event.current_vm_count
        if before is None:
            before = self.event.before_count
        if before is None:
            return None
        if not succeeded:
            return before
        delta = len(self.ctx.vms)
        return before + delta if self.event.action == ScaleAction.SCALE_OUT else before - delta

    def succeed(self) -> None:
        self.ctx.plan["run"]["worker"] = None
        self.ctx.save_plan()
        scale_event_finish(
            event=self.event,
            status=EventStatus.SUCCEEDED,
            after_count=self._count_after(True),
            vm_names=[vm["name"] for vm in self.ctx.vms],
        )

    def rollback(self) -> tuple[list[str], bool]:
        """Undo, in reverse, every stage that started; returns (summary lines, everything undone)."""
        summary: list[str] = []
        complete = True
        rows = {row.name: row for row in self.event.stages.all()}
        for stage in reversed(self.stages):
            row = rows.get(stage.name)
            if row is None or row.status not in (StageStatus.SUCCEEDED, StageStatus.FAILED, StageStatus.RUNNING):
                continue
            self.current = f"rollback:{stage.name}"
            scale_event_heartbeat(event=self.event, stage=self.current[:64])
            sink = self._sink_for(row)
            self.ctx.set_log_sink(sink)
            try:
                lines = stage.rollback(self.ctx)
            except Exception as exc:
                complete = False
                line = f"rollback of {stage.name} FAILED: {exc} — clean up by hand (see the drift report)"
                sink(f"{timezone.now():%H:%M:%S} {line}")
                summary.append(line)
                continue
            finally:
                self.ctx.set_log_sink(None)
            for line in lines:
                sink(f"{timezone.now():%H:%M:%S} rollback: {line}")
            summary.extend(lines)
            ScaleEventStage.objects.filter(pk=row.pk).update(status=StageStatus.ROLLED_BACK)
        if any(vm.get("destroyed") for vm in self.ctx.vms):
            complete = False
            summary.append("VM(s) already destroyed could not be restored: "
                           + ", ".join(vm["name"] for vm in self.ctx.vms if vm.get("destroyed")))
        return summary, complete

    def fail(self, error: str) -> ScaleEvent:
        ScaleEvent.objects.filter(pk=self.event.pk).update(error=error[:10000])
        summary, complete = self.rollback()
        ScaleEventStage.objects.filter(event=self.event, status=StageStatus.PENDING).update(
            status=StageStatus.SKIPPED
        )
        self.ctx.plan["run"]["worker"] = None
        self.ctx.save_plan()
        text = "\n".join(summary) if summary else "nothing had been created"
        return scale_event_finish(
            event=self.event,
            status=EventStatus.ROLLED_BACK if complete else EventStatus.FAILED,
            error=error,
            rollback_summary=text,
            after_count=self._count_after(False) if complete else None,
            vm_names=[vm["name"] for vm in self.ctx.vms],
        )


def _load(event_id: int) -> ScaleEvent:
    return ScaleEvent.objects.select_related("config", "config__template").get(pk=event_id)


def runnable_event(event_id: int) -> ScaleEvent | None:
    """The queued event ``event_id`` ready to start, or None after saying why not: it is over (nothing to run),
    already running (another worker owns it; if that worker died, reconcile rolls the run back) or its config
    was deleted (the run is finished as failed)."""
    event = _load(event_id)
    if event.status not in IN_FLIGHT_STATUSES:
        logger.info("scale event %s is %s: nothing to run", event_id, event.status)
        return None
    if event.config is None:
        scale_event_finish(event=event, status=EventStatus.FAILED, error="The config was deleted.")
        return None
    if event.status == EventStatus.RUNNING:
        logger.warning("scale event %s is already running: not starting it twice", event_id)
        return None
    return event


def run_scale_event(event_id: int, *, clients: Clients | None = None) -> ScaleEvent:
    """Run the whole pipeline of a queued event in this process (the embedded executor). Idempotent."""
    event = runnable_event(event_id)
    if event is None:
        return _load(event_id)
    now = timezone.now()
    claimed = ScaleEvent.objects.filter(pk=event.pk, status=EventStatus.QUEUED).update(
        status=EventStatus.RUNNING, started_at=now, heartbeat_at=now, executor=Executor.EMBEDDED
    )
    if not claimed:  # two workers got the same task: exactly one runs it
        logger.warning("scale event %s was claimed by another worker", event_id)
        return _load(event.pk)
    return Runner(_load(event.pk), clients=clients).run_all()


def run_step_check(event: ScaleEvent, step: str) -> None:
    """ValueError (an operator-readable message) when ``step`` is no stage of ``event``'s run, or the run is in
    flight and a stage before it has not succeeded (steps run in order). Reads only: a refused step changes nothing
    (the run is not started, no stage row is written)."""
    names = stage_names(event.action)
    if step not in names:
        raise ValueError(gettext("Unknown step '%(step)s' for a %(action)s run; steps are: %(steps)s.")
                         % {"step": step, "action": event.action, "steps": ", ".join(names)})
    if event.status not in IN_FLIGHT_STATUSES:
        return
    done = dict(event.stages.values_list("name", "status"))
    missing = [n for n in names[:names.index(step)] if done.get(n) != StageStatus.SUCCEEDED]
    if missing:
        raise ValueError(gettext("Step '%(step)s' cannot run before %(missing)s succeeded.")
                         % {"step": step, "missing": ", ".join(missing)})


def run_one_step(event_id: int, step: str, *, clients=None) -> tuple[bool, ScaleEvent]:
    """Run one named stage of an event (the Jenkins executor's unit of work); returns (ok, event). ValueError
    (``run_step_check``) before anything is written for a step that cannot run."""
    event = _load(event_id)
    run_step_check(event, step)
    if event.status not in IN_FLIGHT_STATUSES:
        row = event.stages.filter(name=step).first()
        return (row is not None and row.status == StageStatus.SUCCEEDED), event
    event = scale_event_start(event=event)
    runner = Runner(_load(event.pk), clients=clients)
    runner.ensure_stage_rows()
    index = stage_names(event.action).index(step)
    runner.claim_worker()
    try:
        with _Heartbeat(runner.event, lambda: runner.current):
            ok = runner.run_stage(runner.stages[index])
    finally:
        runner.ctx.clients.close()
        if ScaleEvent.objects.filter(pk=event.pk, status__in=IN_FLIGHT_STATUSES).exists():
            runner.release_worker()
    return ok, ScaleEvent.objects.get(pk=event.pk)


def rollback_scale_event(event_id: int, *, reason: str, clients=None) -> ScaleEvent:
    """Fail an in-flight run whose worker is gone: mark its running stage failed, roll back, finish."""
    event = _load(event_id)
    if event.status not in IN_FLIGHT_STATUSES:
        return event
    runner = Runner(event, clients=clients)
    runner.ensure_stage_rows()
    event.stages.filter(status=StageStatus.RUNNING).update(status=StageStatus.FAILED, finished_at=timezone.now())
    try:
        return runner.fail(reason)
    finally:
        runner.ctx.clients.close()
