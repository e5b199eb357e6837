"""django-q2 tasks of scale events (thin wrappers named after the service they call)."""

from __future__ import annotations

import contextlib
import logging

logger = logging.getLogger(__name__)


def scale_event_execute(event_id: int) -> None:
    """Run the pipeline of an allowed ScaleEvent (``autoscaling.pipelines.runner.run_scale_event``).

    The runner owns stages, rollback and finishing the run. Should it raise — or not be importable — the
    run is ended here as failed with the error, so the service is never left blocked by a dead run.
    """
    from autoscaling.services.runs import RunStateError, scale_event_finish
    from events.models import ScaleEvent

    try:
        from autoscaling.pipelines.runner import run_scale_event

        run_scale_event(event_id)
    except Exception as exc:
        logger.exception("run of scale event %s crashed", event_id)
        event = ScaleEvent.objects.filter(pk=event_id).first()
        if event is not None and event.is_in_flight:
            with contextlib.suppress(RunStateError):
                scale_event_finish(
                    event=event, status="failed", error=f"The run crashed: {exc.__class__.__name__}: {exc}"
                )
        raise
