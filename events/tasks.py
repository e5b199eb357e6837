"""django-q2 tasks of scale events (thin wrappers named after the service they call)."""

from __future__ import annotations

import contextlib
import logging

logger = logging.getLogger(__name__)


def scale_event_execute(event_id: int) -> None:
    """Run the pipeline of an allowed ScaleEvent (``autoscaling.pipelines.runner.run_scale_event``).

    The runner owns stages, rollback and finishing the run. Should it raise outside a stage (a database
    error recording a stage, a failing heartbeat) the run is rolled back here — everything its plan recorded
    (VM, IP lease, F5 member, target) is undone — and only then finished, so nothing leaks and the service is
    never left blocked by a dead run. If even the rollback cannot run, the run is finished as failed with both
    errors so an operator cleans up (the drift report lists what is left).
    """
    from autoscaling.services.runs import RunStateError, scale_event_finish
    from events.models import ScaleEvent

    try:
        from autoscaling.pipelines.runner import rollback_scale_event, run_scale_event

        run_scale_event(event_id)
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
                        status="failed",
                        error=f"{reason}. Its rollback failed too ({rollback_exc.__class__.__name__}: "
                        f"{rollback_exc}): clean up by hand (see the drift report).",
                    )
        raise
