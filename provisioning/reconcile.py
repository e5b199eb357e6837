"""Crash safety: find runs whose worker died and roll them back, so no run stays "running" forever.

A process working on a run records itself in the run's plan (``run.worker``: host and pid) and refreshes
``heartbeat_at`` every ``IXNODE_PIPELINE_HEARTBEAT_SECONDS``. A running run is dead when

- its worker is on this host and that pid no longer exists (detected at once), or
- its heartbeat is older than ``IXNODE_PIPELINE_STALE_SECONDS`` (any host); for a Jenkins run, whose steps
  may wait for an agent, older than ``IXNODE_PIPELINE_QUEUED_TIMEOUT`` (the task following the build rolls
  back a run whose build ended).

A queued run that never started is failed (nothing was created): a run handed to Jenkins after
``IXNODE_PIPELINE_QUEUED_TIMEOUT``, any other (its django-q2 task was lost) after
``IXNODE_PIPELINE_EMBEDDED_QUEUED_TIMEOUT`` — unless every django-q2 worker is busy with a run, when it is
only waiting for one (then ``IXNODE_PIPELINE_QUEUED_TIMEOUT`` applies to it too).
Reconcile claims a dead run by moving its heartbeat forward in one conditional UPDATE, so two reconcilers
never roll back the same run. It runs from the django-q2 schedule ``ixnode-pipelines-reconcile`` (created
by ``manage.py ensure_schedules``) and once when the cluster starts.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from autoscaling.services.runs import scale_event_finish
from events.choices import EventStatus, Executor
from events.models import ScaleEvent
from provisioning.runner import rollback_scale_event

logger = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    rolled_back: list[int] = field(default_factory=list)
    failed_queued: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_is_dead(event: ScaleEvent, *, now=None) -> str:
    """Why a running run is dead ("" when it is alive)."""
    now = now or timezone.now()
    worker = ((event.plan or {}).get("run") or {}).get("worker") or {}
    if worker.get("host") == socket.gethostname() and worker.get("pid") and not _pid_alive(int(worker["pid"])):
        return f"its worker process {worker['pid']} on {worker['host']} is gone"
    beat = event.heartbeat_at or event.started_at or event.created_at
    seconds = settings.IXNODE_PIPELINE_STALE_SECONDS
    if event.executor == "jenkins":
        # Between two steps a Jenkins run has no worker and may wait for an agent; the task following the
        # build rolls it back when the build ends, so only a run silent for the queue timeout is dead here.
        seconds = max(seconds, settings.IXNODE_PIPELINE_QUEUED_TIMEOUT)
    stale = timedelta(seconds=seconds)
    if beat is not None and now - beat > stale:
        return f"no heartbeat for {int((now - beat).total_seconds())}s"
    return ""


def pipeline_reconcile(*, now=None) -> ReconcileReport:
    """Roll back every dead running run and fail every queued run that never started."""

    now = now or timezone.now()
    report = ReconcileReport()
    for event in ScaleEvent.objects.filter(status=EventStatus.RUNNING).order_by("pk"):
        reason = run_is_dead(event, now=now)
        if not reason:
            continue
        plan = dict(event.plan or {})
        plan["run"] = {**(plan.get("run") or {}), "worker": {"host": socket.gethostname(), "pid": os.getpid()}}
        claimed = ScaleEvent.objects.filter(
            pk=event.pk, status=EventStatus.RUNNING, heartbeat_at=event.heartbeat_at
        ).update(heartbeat_at=timezone.now(), current_stage="reconcile", plan=plan)
        if not claimed:
            continue
        logger.warning("scale event %s: worker died (%s); rolling back", event.pk, reason)
        try:
            rollback_scale_event(
                event.pk, reason=f"The worker running this run died ({reason}); reconcile rolled it back."
            )
            report.rolled_back.append(event.pk)
        except Exception as exc:
            logger.exception("reconcile of scale event %s failed", event.pk)
            report.errors.append(f"event {event.pk}: {exc}")
    queued_cutoff = now - timedelta(seconds=min(queued_timeout(Executor.EMBEDDED), queued_timeout(Executor.JENKINS)))
    workers_busy = None  # read once, only when some run has been queued that long
    for event in ScaleEvent.objects.filter(status=EventStatus.QUEUED, created_at__lt=queued_cutoff):
        timeout = queued_timeout(event.executor)
        if event.executor != Executor.JENKINS:
            if workers_busy is None:
                workers_busy = embedded_workers_busy()
            if workers_busy:
                timeout = settings.IXNODE_PIPELINE_QUEUED_TIMEOUT
        if now - event.created_at <= timedelta(seconds=timeout):
            continue
        scale_event_finish(
            event=event,
            status=EventStatus.FAILED,
            error=f"The run never started within {int(timeout)}s of being queued "
            "(is the django-q2 cluster or Jenkins running?).",
        )
        report.failed_queued.append(event.pk)
    return report


def embedded_workers_busy() -> bool:
    """Every django-q2 worker is running a pipeline run: a queued run is waiting for one, not lost."""
    workers = int((getattr(settings, "Q_CLUSTER", {}) or {}).get("workers") or 1)
    running = ScaleEvent.objects.filter(status=EventStatus.RUNNING).exclude(executor=Executor.JENKINS).count()
    return running >= workers


def queued_timeout(executor: str) -> float:
    """How long a run may stay queued: a run handed to Jenkins may wait for an agent
    (IXNODE_PIPELINE_QUEUED_TIMEOUT); any other is waiting for a django-q2 worker to pick its task up — a task
    lost between commit and enqueue, or by the broker, must not block the service for long
    (IXNODE_PIPELINE_EMBEDDED_QUEUED_TIMEOUT, never more than IXNODE_PIPELINE_QUEUED_TIMEOUT)."""
    if executor == Executor.JENKINS:
        return settings.IXNODE_PIPELINE_QUEUED_TIMEOUT
    embedded = getattr(settings, "IXNODE_PIPELINE_EMBEDDED_QUEUED_TIMEOUT", 300.0)
    return min(settings.IXNODE_PIPELINE_QUEUED_TIMEOUT, embedded)
