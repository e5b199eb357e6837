"""Executors: where a run's stages execute.

``scale_event_execute_here`` (what the django-q2 task calls) picks one:

- ``embedded`` (default): the django-q2 worker runs every stage in-process (``runner.run_scale_event``).
- ``jenkins`` (``IXNODE_EXECUTOR=jenkins``): the django-q2 task triggers the service's Jenkins job with the
  run id (python-jenkins ``build_job`` → ``buildWithParameters``), follows queue item → build, records the
  build URL on the event, then follows the build to its end. The job's stages run the very same stage code,
  one per Jenkins stage, through ``python manage.py pipeline_step --run <id> --step <name>``. A build that
  ends (failed, aborted, agent lost) while the run is still in flight is rolled back here.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings

from artifacts.renderers.naming import jenkins_job_name
from autoscaling.services.runs import scale_event_finish
from events.choices import IN_FLIGHT_STATUSES, EventStatus, Executor, StageStatus
from events.models import ScaleEvent
from ixnode.integrations.jenkins.client import jenkins_client
from ixnode.integrations.jenkins.interface import Jenkins, JenkinsError, JenkinsUnavailableError
from provisioning.runner import rollback_scale_event, run_scale_event, runnable_event

logger = logging.getLogger(__name__)


class JenkinsExecutorError(Exception):
    """Jenkins could not take or run the job; ``str()`` says what to check."""


def executor_name() -> str:
    value = (settings.IXNODE_EXECUTOR or "embedded").strip().lower()
    if value not in (Executor.EMBEDDED, Executor.JENKINS):
        raise JenkinsExecutorError(f"IXNODE_EXECUTOR must be 'embedded' or 'jenkins', not {value!r}.")
    return value


def jenkins_configured() -> Jenkins:
    """The configured Jenkins; ``JenkinsExecutorError`` when IXNODE_EXECUTOR=jenkins but IXNODE_JENKINS_URL is not "
    "set."""
    client = jenkins_client()
    if client is None:
        raise JenkinsExecutorError("IXNODE_EXECUTOR=jenkins but IXNODE_JENKINS_URL is not set.")
    return client


def jenkins_job_for(event: ScaleEvent) -> str:
    return jenkins_job_name(event.service_name, event.action)


def jenkins_parameters(event: ScaleEvent) -> dict[str, str]:
    return {
        "EVENT_ID": str(event.pk),
        "SERVICE_NAME": event.service_name,
        "VM_COUNT": str(event.requested_count or 1),
        "CALLBACK_URL": f"{settings.IXNODE_PUBLIC_URL}/api/runs/{event.pk}/steps/",
        "ALERT_FINGERPRINT": event.alert_fingerprint or "",
    }


def _poll(seconds: float | None = None) -> None:
    time.sleep(settings.IXNODE_JENKINS_POLL_SECONDS if seconds is None else seconds)


def step_in_progress_wait(event: ScaleEvent, *, timeout: float) -> bool:
    """Wait (at most ``timeout`` seconds) until no stage of the run is executing — a Jenkins step runs inside our
    web process through the step callback and goes on after its build was stopped. True when none is left."""
    deadline = time.monotonic() + timeout
    while event.stages.filter(status=StageStatus.RUNNING).exists():
        if time.monotonic() >= deadline:
            return False
        _poll(min(settings.IXNODE_JENKINS_POLL_SECONDS, 0.5))
    return True


def scale_event_execute_here(event_id: int) -> ScaleEvent:
    """Execute the allowed run ``event_id`` with the configured executor (a run already handed to the embedded
    executor stays there)."""
    event = runnable_event(event_id)
    if event is None:
        return ScaleEvent.objects.get(pk=event_id)
    if executor_name() == Executor.JENKINS and event.executor != Executor.EMBEDDED:
        return jenkins_execute(event)
    return run_scale_event(event_id)


def jenkins_execute(event: ScaleEvent, *, client: Jenkins | None = None) -> ScaleEvent:
    """Trigger the service's job for ``event``, follow it to its end, roll back a run it left in flight."""

    def fail(error: str) -> ScaleEvent:
        return scale_event_finish(event=event, status=EventStatus.FAILED, error=error)

    def abandon(error: str, *, queue_id: int) -> ScaleEvent:
        """Give up following the queue item: cancel it; if it already became a build, stop that build so no
        further step starts; then roll back whatever the run's plan recorded, and finish."""
        try:
            jenkins.queue_cancel(queue_id=queue_id)
            logger.info("scale event %s: cancelled Jenkins queue item %s", event.pk, queue_id)
        except JenkinsError as exc:
            logger.warning("scale event %s: queue item %s not cancelled: %s", event.pk, queue_id, exc)
            error = f"{error} (cancelling the queue item failed too: {exc})"
        try:
            number = jenkins.build_for_queue_item(name=job, queue_id=queue_id)
            if number is not None:
                jenkins.build_stop(name=job, number=number)
                logger.info("scale event %s: stopped Jenkins build %s#%s", event.pk, job, number)
                error = f"{error} Its build #{number} was stopped."
                # A step already executing (in our web process) finishes first, so the rollback sees what it made.
                if not step_in_progress_wait(event, timeout=settings.IXNODE_PIPELINE_STALE_SECONDS):
                    error = f"{error} A step was still running after {int(settings.IXNODE_PIPELINE_STALE_SECONDS)}s."
        except JenkinsError as exc:
            logger.warning("scale event %s: the build of queue item %s not stopped: %s", event.pk, queue_id, exc)
            error = f"{error} (stopping its build failed: {exc})"
        return rollback_scale_event(event.pk, reason=error)

    try:
        jenkins = client or jenkins_configured()
    except JenkinsExecutorError as exc:
        return fail(str(exc))
    job = jenkins_job_for(event)
    ScaleEvent.objects.filter(pk=event.pk).update(executor=Executor.JENKINS)
    try:
        queue_id = jenkins.build_start(name=job, parameters=jenkins_parameters(event))
    except JenkinsError as exc:
        return fail(f"Jenkins did not take job '{job}': {exc}. Check that the service's artifacts (its Jenkins "
                    "jobs) were published.")
    # Nothing here writes the event's plan: the job's steps own it (they may already be running).
    logger.info("scale event %s queued as Jenkins job %s (queue item %s)", event.pk, job, queue_id)

    deadline = time.monotonic() + settings.IXNODE_PIPELINE_QUEUED_TIMEOUT
    while True:
        try:
            item = jenkins.queue_item(queue_id=queue_id)
        except JenkinsUnavailableError as exc:
            logger.warning("scale event %s: %s (retrying)", event.pk, exc)
            item = None
        except JenkinsError as exc:
            return abandon(f"The Jenkins queue item of job '{job}' could not be followed: {exc}", queue_id=queue_id)
        if item is not None and item.cancelled:
            return rollback_scale_event(event.pk, reason=f"The Jenkins queue item of job '{job}' was cancelled.")
        if item is not None and item.build_number is not None:
            number, url = item.build_number, item.build_url or ""
            break
        if time.monotonic() > deadline:
            why = (item.why if item else "") or "still queued"
            return abandon(f"Jenkins job '{job}' did not start within {int(settings.IXNODE_PIPELINE_QUEUED_TIMEOUT)}s "
                           f"({why}); its queue item was cancelled.", queue_id=queue_id)
        _poll()
    ScaleEvent.objects.filter(pk=event.pk).update(jenkins_build_url=url[:500])
    logger.info("scale event %s runs as Jenkins build %s", event.pk, url)

    while True:
        try:
            build = jenkins.build_status(name=job, number=number)
        except JenkinsError as exc:
            logger.warning("scale event %s: %s (retrying)", event.pk, exc)
            build = None
        if build is not None and not build.building:
            result = build.result or "UNKNOWN"
            break
        _poll()
    fresh = ScaleEvent.objects.get(pk=event.pk)
    if fresh.status in IN_FLIGHT_STATUSES:
        return rollback_scale_event(
            event.pk, reason=f"Jenkins build {url} ended {result} before the run finished; rolled back."
        )
    return fresh
