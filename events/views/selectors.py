"""Read-side queries of the event pages: history filters, one event with its stages, live run progress.

Every selector runs a fixed number of SQL queries whatever the number of events or stages.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from events.choices import StageStatus, Trigger
from events.models import ScaleEvent, ScaleEventStage
from events.reasons import STAGE_FAILED
from ixnode.integrations.problems import explain_text
from ixnode.registry import registry

LOG_TAIL_LINES = 12

CSV_COLUMNS = [
    "id",
    "created_at",
    "service_name",
    "action",
    "decision",
    "status",
    "reason",
    "trigger",
    "executor",
    "before_count",
    "after_count",
    "requested_count",
    "vm_names",
    "current_stage",
    "alert_name",
    "alert_fingerprint",
    "triggered_by",
    "jenkins_build_url",
    "started_at",
    "finished_at",
    "error",
    "rollback_summary",
]
# ... and what the trigger saw (a policy's evaluation, English): ScaleEvent.trigger_parts' text
CSV_TRIGGER_DETAIL = "trigger_detail"


@dataclass(frozen=True)
class EventFilters:
    """The history page's filters (all optional); dates are whole days in the operator's time zone."""

    service: str = ""
    action: str = ""
    decision: str = ""
    status: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_current_timezone())


def event_list(*, filters: EventFilters) -> QuerySet[ScaleEvent]:
    """Scale events matching ``filters``, newest first (one query; uses the (service, created_at) index)."""
    qs = ScaleEvent.objects.all()
    if filters.service:
        qs = qs.filter(service_name=filters.service)
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.decision:
        qs = qs.filter(decision=filters.decision)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.date_from:
        qs = qs.filter(created_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        qs = qs.filter(created_at__lt=_day_start(filters.date_to + dt.timedelta(days=1)))
    return qs.order_by("-created_at", "-id")


def event_list_columns(qs: QuerySet[ScaleEvent]) -> QuerySet[ScaleEvent]:
    """Only the columns the history table shows (the log-sized text columns stay in the database)."""
    return qs.only(
        "id",
        "created_at",
        "service_name",
        "action",
        "decision",
        "status",
        "reason",
        "reason_code",
        "reason_params",
        "before_count",
        "after_count",
        "vm_names",
        "current_stage",
        "trigger",
        "dry_run",
    )


# OWASP "CSV Injection": a cell a spreadsheet would read as a formula (a reason, an alert name, a label that came
# in through the webhook or the API) is written with a leading apostrophe, so it is shown as text, never evaluated.
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell_text(value: str) -> str:
    """``value`` as a CSV cell no spreadsheet evaluates: ``'`` before a formula's first character (OWASP)."""
    return "'" + value if value.startswith(CSV_FORMULA_STARTS) else value


def event_csv_rows(*, filters: EventFilters):
    """Header then one row per matching event, streamed from a server-side cursor; text cells that a spreadsheet
    would evaluate (``=HYPERLINK(…)``, ``+cmd|…``, ``@SUM(…)``) are neutralised (``csv_cell_text``)."""
    columns = [*CSV_COLUMNS, CSV_TRIGGER_DETAIL]
    yield columns
    tz = timezone.get_current_timezone()
    values = event_list(filters=filters).values_list(*CSV_COLUMNS, "trigger_parts")
    for event in values.iterator(chunk_size=2000):
        row = []
        for column, value in zip(columns, event, strict=True):
            if column == CSV_TRIGGER_DETAIL:
                text = value.get("text") if isinstance(value, dict) else None
                value = text if isinstance(text, str) else ""
            if isinstance(value, dt.datetime):
                value = value.astimezone(tz).isoformat()
            elif column == "vm_names":
                value = " ".join(value or [])
            elif value is None:
                value = ""
            if isinstance(value, str):
                value = csv_cell_text(value)
            row.append(value)
        yield row


def event_get(*, event_id: int) -> ScaleEvent | None:
    """One event with its stages and config (two queries)."""
    stages = Prefetch("stages", queryset=ScaleEventStage.objects.order_by("position"))
    return ScaleEvent.objects.select_related("config").prefetch_related(stages).filter(pk=event_id).first()


def stage_label(name: str) -> str:
    """The translated title of a registered stage, "Reconcile" for a run the reconcile task is rolling back, else
    the name humanised (``allocate_ip`` → ``Allocate ip``: a stage of an older version)."""
    stage = registry.stage(name)
    if stage is not None:
        return str(stage.title)
    if name == Trigger.RECONCILE:
        return str(Trigger.RECONCILE.label)
    words = name.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


_STAGE_FAILED_RE = re.compile(
    "^" + re.escape(STAGE_FAILED).replace(re.escape("%(stage)s"), "(?P<stage>[^']+)")
    .replace(re.escape("%(error)s"), "(?P<error>.*)") + "$", re.S,
)


@dataclass(frozen=True)
class RunError:
    """A failed run's error for people: a sentence in the reader's language, the stored text as detail."""

    summary: str
    detail: str


def event_error_display(text: str) -> RunError:
    """``Stage 'clone' failed: vCenter … refused the connection …`` as "Stage “Clone VMs from the template” failed:
    vCenter at … is not reachable (connection refused)." with the stored text kept as the detail."""
    text = (text or "").strip()
    if not text:
        return RunError("", "")
    found = _STAGE_FAILED_RE.match(text)
    if found:
        problem = explain_text(found.group("error"))
        summary = _("Stage “%(stage)s” failed: %(problem)s") % {
            "stage": stage_label(found.group("stage")), "problem": problem.summary}
        return RunError(summary, text)
    problem = explain_text(text)
    return RunError(problem.summary, problem.detail)


def _tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    parts = text.rstrip("\n").splitlines()
    return "\n".join(parts[-lines:])


def event_progress(*, event: ScaleEvent) -> dict[str, Any]:
    """JSON-ready state of an event and its stages, for the live views (stages must be prefetched)."""
    stages = list(event.stages.all())
    return {
        "id": event.pk,
        "url": reverse("events:detail", args=[event.pk]),
        "service": event.service_name,
        "action": event.action,
        "action_display": str(event.get_action_display()),
        "decision": event.decision,
        "status": event.status,
        "status_display": str(event.get_status_display()),
        "in_flight": event.is_in_flight,
        "current_stage": event.current_stage,
        "current_stage_label": stage_label(event.current_stage) if event.current_stage else "",
        "vm_names": list(event.vm_names or []),
        "before_count": event.before_count,
        "after_count": event.after_count,
        "error": event.error,
        "started_at": event.started_at.isoformat() if event.started_at else None,
        "finished_at": event.finished_at.isoformat() if event.finished_at else None,
        "stages": [
            {
                "position": stage.position,
                "name": stage.name,
                "label": stage_label(stage.name),
                "status": stage.status,
                "status_display": _stage_status_label(stage.status),
                "started_at": stage.started_at.isoformat() if stage.started_at else None,
                "finished_at": stage.finished_at.isoformat() if stage.finished_at else None,
                "log_tail": _tail(stage.log),
            }
            for stage in stages
        ],
    }


def stage_duration(stage: ScaleEventStage) -> dt.timedelta | None:
    if stage.started_at and stage.finished_at:
        return stage.finished_at - stage.started_at
    if stage.started_at:
        return timezone.now() - stage.started_at
    return None


def _stage_status_label(status: str) -> str:
    return str(StageStatus(status).label) if status in StageStatus.values else status
