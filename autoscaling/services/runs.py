"""Services for the life of a pipeline run (a ScaleEvent that was allowed): queue, start, finish.

A run that ends — success or failure — starts the cooldown of its direction in
the same transaction that ends the run, so no decision ever sees "no run in flight and no cooldown".
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from autoscaling import hooks
from autoscaling.models import CooldownState
from autoscaling.signals import scale_run_finished, send_logged
from events.choices import FINISHED_STATUSES, IN_FLIGHT_STATUSES, EventStatus, ScaleAction
from events.models import ScaleEvent

logger = logging.getLogger(__name__)



class RunStateError(Exception):
    """A run was asked to move to a state it cannot reach from where it is."""


def cooldown_lock(*, config_id: int) -> CooldownState:
    """Lock (create if missing) the config's CooldownState row inside the caller's transaction.

    PostgreSQL: ``SELECT … FOR UPDATE`` serialises every decision and run transition of one service.
    SQLite: row locks do not exist, but the project opens every transaction with ``BEGIN IMMEDIATE``, which
    takes the database write lock up front — writers are serialised, so the same guarantee holds.
    Creating the row is race-safe: a concurrent insert loses on the primary key inside a savepoint and
    re-reads the winner's row.
    """
    assert transaction.get_connection().in_atomic_block, "cooldown_lock() needs a transaction"
    locked = CooldownState.objects.select_for_update(of=("self",)).select_related("config")
    try:
        return locked.get(pk=config_id)
    except CooldownState.DoesNotExist:
        CooldownState.objects.get_or_create(config_id=config_id)
        return locked.get(pk=config_id)


def cooldown_start(*, state: CooldownState, action: ScaleAction | str, at: datetime) -> None:
    """Start the cooldown of ``action``'s direction at ``at`` (``state`` must be locked)."""
    if ScaleAction(action) == ScaleAction.SCALE_OUT:
        state.last_scale_out_at = at
        state.save(update_fields=["last_scale_out_at", "updated_at"])
    else:
        state.last_scale_in_at = at
        state.save(update_fields=["last_scale_in_at", "updated_at"])


def scale_event_enqueue(*, event: ScaleEvent) -> str:
    """Queue the run of an allowed event on django-q2; call it after the deciding transaction committed.

    When the queue cannot take it (broker down), the run ends as failed with the reason, which also starts
    the cooldown: the next alert repeat retries once the cooldown is over instead of hammering a dead queue.
    """
    try:
        task = hooks.run_task.last()
        if task is None:
            raise ImproperlyConfigured("no installed app executes runs (the provisioning app registers the task)")
        task_id = async_task(
            task, event.pk, task_name=f"scale-event-{event.pk}", group=f"scale-{event.service_name}"
        )
    except Exception as exc:
        logger.exception("could not queue the run of scale event %s", event.pk)
        fresh = ScaleEvent.objects.filter(pk=event.pk).first()
        if fresh is None or fresh.status not in IN_FLIGHT_STATUSES:
            return ""  # a synchronous broker ran the task, which already ended the run (and re-raised)
        scale_event_finish(
            event=fresh,
            status=EventStatus.FAILED,
            error=f"The run could not be queued on the task broker: {exc.__class__.__name__}: {exc}",
        )
        return ""
    task_id = str(task_id or "")
    ScaleEvent.objects.filter(pk=event.pk).update(task_id=task_id[:64])
    event.task_id = task_id[:64]
    return task_id


def scale_event_start(*, event: ScaleEvent, now: datetime | None = None) -> ScaleEvent:
    """Move a queued run to running (idempotent for a running one)."""
    now = now or timezone.now()
    with transaction.atomic():
        fresh = ScaleEvent.objects.select_for_update().get(pk=event.pk)
        if fresh.status == EventStatus.RUNNING:
            return fresh
        if fresh.status != EventStatus.QUEUED:
            raise RunStateError(f"Scale event {fresh.pk} is {fresh.status}; only a queued run can start.")
        fresh.status = EventStatus.RUNNING
        fresh.started_at = now
        fresh.heartbeat_at = now
        fresh.save(update_fields=["status", "started_at", "heartbeat_at"])
    return fresh


def scale_event_heartbeat(*, event: ScaleEvent, stage: str = "") -> None:
    """Record that the worker is alive (and the stage it is in) for a running run."""
    values: dict = {"heartbeat_at": timezone.now()}
    if stage:
        values["current_stage"] = stage[:64]
    ScaleEvent.objects.filter(pk=event.pk, status=EventStatus.RUNNING).update(**values)


def scale_event_finish(
    *,
    event: ScaleEvent,
    status: EventStatus | str,
    error: str = "",
    after_count: int | None = None,
    vm_names: list[str] | None = None,
    rollback_summary: str = "",
    now: datetime | None = None,
) -> ScaleEvent:
    """End an in-flight run with a final status and start the cooldown of its direction.

    ``status`` is succeeded, failed or rolled_back. Finishing an already finished run with the same status
    is a no-op (task retries); anything else raises :class:`RunStateError`.
    """
    status = EventStatus(status)
    if status not in FINISHED_STATUSES:
        raise RunStateError(f"'{status}' is not a final run status; use one of {', '.join(FINISHED_STATUSES)}.")
    now = now or timezone.now()
    with transaction.atomic():
        state = cooldown_lock(config_id=event.config_id) if event.config_id is not None else None
        fresh = ScaleEvent.objects.select_for_update().get(pk=event.pk)
        if fresh.status == status and fresh.finished_at is not None:
            return fresh
        if fresh.status not in IN_FLIGHT_STATUSES:
            raise RunStateError(f"Scale event {fresh.pk} is {fresh.status}; only a queued or running run can end.")
        fresh.status = status
        fresh.finished_at = now
        if fresh.started_at is None:
            fresh.started_at = now
        if error:
            fresh.error = error
        if after_count is not None:
            fresh.after_count = after_count
        if vm_names is not None:
            fresh.vm_names = list(vm_names)
        if rollback_summary:
            fresh.rollback_summary = rollback_summary
        fresh.save(
            update_fields=[
                "status", "finished_at", "started_at", "error", "after_count", "vm_names", "rollback_summary"
            ]
        )
        if state is not None:
            cooldown_start(state=state, action=fresh.action, at=now)
        transaction.on_commit(lambda: send_logged(scale_run_finished, ScaleEvent, event=fresh))
    return fresh



def cooldown_clear(*, config_id: int) -> CooldownState:
    """Forget both cooldowns of a service (operator override): the next alert is decided afresh."""
    with transaction.atomic():
        state = cooldown_lock(config_id=config_id)
        state.last_scale_out_at = None
        state.last_scale_in_at = None
        state.save(update_fields=["last_scale_out_at", "last_scale_in_at", "updated_at"])
    return state
