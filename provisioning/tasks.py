"""django-q2 tasks of the pipelines (thin wrappers named after the service they call)."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import asdict

from autoscaling.services.runs import RunStateError, scale_event_finish
from events.choices import EventStatus
from events.models import ScaleEvent
from provisioning.executors import scale_event_execute_here
from provisioning.reconcile import pipeline_reconcile
from provisioning.runner import rollback_scale_event

logger = logging.getLogger(__name__)


def scale_event_execute(event_id: int) -> None:
    """Run the pipeline of an allowed ScaleEvent (``provisioning.executors.scale_event_execute_here``).

    The runner owns stages, rollback and finishing the run. Should it raise outside a stage (a database
    error recording a stage, a failing heartbeat) the run is rolled back here — everything its plan recorded
    (VM, IP lease, F5 member, target) is undone — and only then finished, so nothing leaks and the service is
    never left blocked by a dead run. If even the rollback cannot run, the run is finished as failed with both
    errors so an operator cleans up (the drift report lists what is left).
    """
    try:
        scale_event_execute_here(event_id)
    except Exception as exc:
        logger.exception("run of scale event %s crashed", event_id)
        reason = f"The run crashed: {exc.__class__.__name__}: {exc}"
        try:
            rollback_scale_event(event_id, reason=reason)
        except Exception as rollback_exc:
            logger.exception("rollback of crashed scale event %s failed", event_id)
            event = ScaleEvent.objects.filter(pk=event_id).first()
            if event is not None and event.is_in_flight:
                with contextlib.suppress(RunStateError):
                    scale_event_finish(
                        event=event,
                        status=EventStatus.FAILED,
                        error=f"{reason}. Its rollback failed too ({rollback_exc.__class__.__name__}: "
                        f"{rollback_exc}): clean up by hand (see the drift report).",
                    )
        raise


def pipeline_reconcile_task() -> dict:
    """The periodic reconcile (schedule ``ixnode-pipelines-reconcile``)."""
    return asdict(pipeline_reconcile())
