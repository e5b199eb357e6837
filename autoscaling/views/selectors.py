"""Read-side queries of the operator pages: the overview rows, one service's page, its chart and live run.

SQL stays bounded whatever the number of services or events (the tests assert the counts); Prometheus is
asked once per page for every service's VM count (``count by (job) (up)``), never once per service.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from django.db.models import OuterRef, Prefetch, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from autoscaling.choices import ManagedVMState
from autoscaling.decision import cooldown_remaining
from autoscaling.models import AutoscalingConfig, ManagedVM
from events.choices import IN_FLIGHT_STATUSES, Decision, EventStatus, ScaleAction
from events.models import ScaleEvent, ScaleEventStage
from events.reasons import reason_display
from events.views.selectors import stage_label
from ixnode.integrations.problems import Problem, explain, explain_text
from ixnode.integrations.prometheus import promql
from ixnode.integrations.prometheus.interface import Prometheus, PrometheusError

RECENT_EVENTS = 15
# The chart's CPU rate window: wide enough for any chart step (at least 15 s) and scrape interval, so the curve has
# no gaps whatever window the alert rules use.
CHART_RATE_WINDOW = "5m"
EVENT_ROW_FIELDS = (
    "id",
    "config_id",
    "service_name",
    "action",
    "decision",
    "status",
    "reason",
    "reason_code",
    "reason_params",
    "current_stage",
    "before_count",
    "after_count",
    "created_at",
    "started_at",
    "finished_at",
)


@dataclass(frozen=True)
class VmCounts:
    """VM count per Prometheus job (targets of the job), or why it is unknown."""

    by_job: dict[str, int] = field(default_factory=dict)
    error: str = ""
    problem: Problem | None = None  # the error for people (pages)

    def get(self, job: str) -> int | None:
        if self.error:
            return None
        return self.by_job.get(job, 0)


@dataclass
class ServiceRow:
    """One line of the overview (URLs and labels resolved once per page, not per row and tag)."""

    config: AutoscalingConfig
    vm_count: int | None
    cooldown_out_remaining: int
    cooldown_in_remaining: int
    run: ScaleEvent | None = None
    last_event: ScaleEvent | None = None
    url: str = ""
    diagnostics_url: str = ""
    run_url: str = ""
    run_action: str = ""
    run_stage: str = ""
    last_url: str = ""
    last_action: str = ""
    last_status: str = ""
    last_decision: str = ""
    artifacts_label: str = ""
    artifacts_problem: str = ""  # the artifacts error in sentences (the technical text is in the admin)

    @property
    def at_max(self) -> bool:
        return self.vm_count is not None and self.vm_count >= self.config.max_vms

    @property
    def at_min(self) -> bool:
        return self.vm_count is not None and self.vm_count <= self.config.min_vms

    @property
    def fill_percent(self) -> int:
        if self.vm_count is None or not self.config.max_vms:
            return 0
        return min(100, round(100 * self.vm_count / self.config.max_vms))


def vm_counts_fetch(*, client: Prometheus) -> VmCounts:
    """Every job's active target count in one Prometheus query (``up`` exists for every active target)."""

    try:
        result = client.query(promql.TARGET_COUNT_BY_JOB)
    except PrometheusError as exc:
        return VmCounts(error=str(exc), problem=explain(exc))
    counts: dict[str, int] = {}
    for sample in result.samples:
        job = sample.labels.get("job")
        if job is not None and not math.isnan(sample.value):
            counts[job] = int(sample.value)
    return VmCounts(by_job=counts)


def _events_by_id(ids: set[int], *, with_in_flight: bool) -> tuple[dict[int, ScaleEvent], dict[int, ScaleEvent]]:
    """One query: the events with ``ids`` and (optionally) every run in flight, keyed by id and by config."""
    condition = Q(pk__in=ids)
    if with_in_flight:
        condition |= Q(status__in=IN_FLIGHT_STATUSES, config__isnull=False)
    by_id: dict[int, ScaleEvent] = {}
    running: dict[int, ScaleEvent] = {}
    for event in ScaleEvent.objects.filter(condition).only(*EVENT_ROW_FIELDS):
        by_id[event.pk] = event
        if event.is_in_flight and event.config_id is not None:
            running[event.config_id] = event
    return by_id, running


def service_overview_rows(*, vm_counts: VmCounts, now: dt.datetime | None = None) -> list[ServiceRow]:
    """Every service with count, cooldowns, run in flight and last event: two SQL queries in all."""
    now = now or timezone.now()
    last_event = ScaleEvent.objects.filter(service_name=OuterRef("service_name")).order_by("-created_at", "-id")
    configs = list(
        AutoscalingConfig.objects.select_related("cooldown", "template")
        .annotate(last_event_id=Subquery(last_event.values("id")[:1]))
        .order_by("service_name")
    )
    by_id, running = _events_by_id({c.last_event_id for c in configs if c.last_event_id}, with_in_flight=True)
    labels = _Labels()
    artifacts_labels: dict[str, str] = {}
    placeholder = "service0name0placeholder"  # a valid service name (the URL converter's), replaced per row
    service_url = reverse("autoscaling:service", args=[placeholder])
    diagnostics_url = reverse("autoscaling:service-diagnostics", args=[placeholder])
    event_url = reverse("events:detail", args=[0]).replace("/0/", "/__id__/")
    rows = []
    for config in configs:
        state = getattr(config, "cooldown", None)  # select_related'ed; None when the row does not exist
        last_out, last_in = (state.last_scale_out_at, state.last_scale_in_at) if state else (None, None)
        rows.append(
            ServiceRow(
                config=config,
                vm_count=vm_counts.get(config.prometheus_job_name),
                cooldown_out_remaining=math.ceil(cooldown_remaining(now, last_out, config.cooldown_seconds)),
                cooldown_in_remaining=math.ceil(cooldown_remaining(now, last_in, config.cooldown_seconds)),
                run=running.get(config.pk),
                last_event=by_id.get(config.last_event_id) if config.last_event_id else None,
            )
        )
        row = rows[-1]
        row.url = service_url.replace(placeholder, config.service_name)
        row.diagnostics_url = diagnostics_url.replace(placeholder, config.service_name)
        if config.artifacts_status not in artifacts_labels:  # each status's wording once per page
            artifacts_labels[config.artifacts_status] = config.artifacts_status_text
        row.artifacts_label = artifacts_labels[config.artifacts_status]
        if row.run:
            row.run_url = event_url.replace("__id__", str(row.run.pk))
            row.run_action = labels.get(ScaleAction, row.run.action)
            row.run_stage = (stage_label(row.run.current_stage) if row.run.current_stage
                             else labels.get(EventStatus, row.run.status))
        if row.last_event:
            row.last_url = event_url.replace("__id__", str(row.last_event.pk))
            row.last_action = labels.get(ScaleAction, row.last_event.action)
            row.last_status = labels.get(EventStatus, row.last_event.status)
            row.last_decision = labels.get(Decision, row.last_event.decision)
        if config.artifacts_error:
            row.artifacts_problem = " ".join(
                explain_text(line).summary for line in config.artifacts_error.splitlines() if line.strip()
            )
    return rows


class _Labels:
    """Translated choice labels, each translated once per page."""

    def __init__(self) -> None:
        self._cache: dict[tuple[type, str], str] = {}

    def get(self, choices, value: str) -> str:
        key = (choices, value)
        if key not in self._cache:
            self._cache[key] = str(choices(value).label) if value in choices.values else value
        return self._cache[key]


def service_get(*, service_name: str, with_policy: bool = False) -> AutoscalingConfig | None:
    """A config with its template and cooldown state, and with ``with_policy`` its scaling policy (policies app,
    reverse one-to-one; without a row the cached relation raises ``DoesNotExist`` without a query): one query."""
    related = ("template", "cooldown", "scaling_policy") if with_policy else ("template", "cooldown")
    return AutoscalingConfig.objects.select_related(*related).filter(service_name=service_name).first()


def service_warm_vms(*, config: AutoscalingConfig) -> list[ManagedVM]:
    """The VMs in the service's warm pool, oldest first (the order scale-outs take them in; one query)."""
    return list(
        ManagedVM.objects.filter(config=config, state=ManagedVMState.WARM)
        .order_by("created_at", "name")
        .only("name", "ip_address", "created_at")
    )


def service_recent_events(*, service_name: str, limit: int = RECENT_EVENTS) -> list[ScaleEvent]:
    return list(
        ScaleEvent.objects.filter(service_name=service_name).order_by("-created_at", "-id").only(*EVENT_ROW_FIELDS)[
            :limit
        ]
    )


def service_current_run(*, config: AutoscalingConfig) -> ScaleEvent | None:
    """The run in flight, else the most recent run (ALLOW) of the service, with its stages (two queries)."""
    stages = Prefetch("stages", queryset=ScaleEventStage.objects.order_by("position"))
    base = ScaleEvent.objects.filter(config=config).prefetch_related(stages).order_by("-created_at", "-id")
    run = base.filter(status__in=IN_FLIGHT_STATUSES).first()
    if run is None:
        run = base.filter(decision="ALLOW").first()
    return run


# --- chart ----------------------------------------------------------------------------------------------

def _points(result) -> list[list[float]]:
    if not result.samples:
        return []
    return [[t, round(v, 3)] for t, v in result.samples[0].points if not (math.isnan(v) or math.isinf(v))]


def service_chart(
    *, config: AutoscalingConfig, client: Prometheus, end: dt.datetime, hours: float, max_points: int = 240
) -> dict[str, Any]:
    """CPU/memory max and VM count over time from Prometheus ``query_range``, thresholds and scale events."""

    start = end - dt.timedelta(hours=hours)
    step = max(15.0, round(hours * 3600 / max_points))
    job = config.prometheus_job_name
    series: dict[str, list[list[float]]] = {"cpu": [], "memory": [], "vms": []}
    error = ""
    try:
        queries = (("cpu", promql.cpu_highest(job, CHART_RATE_WINDOW)), ("memory", promql.memory_highest(job)),
                   ("vms", promql.target_count(job)))
        for key, query in queries:
            series[key] = _points(client.query_range(query, start=start, end=end, step_seconds=step))
    except PrometheusError as exc:
        error = _("Metrics unavailable: %(error)s") % {"error": explain(exc).summary}
    labels = _Labels()
    events = (
        ScaleEvent.objects.filter(service_name=config.service_name, created_at__gte=start, created_at__lte=end)
        .order_by("created_at")
        .values("id", "created_at", "action", "decision", "status", "reason", "reason_code", "reason_params")[:500]
    )
    return {
        "service": config.service_name,
        "job": job,
        "start": start.timestamp(),
        "end": end.timestamp(),
        "step": step,
        "min_vms": config.min_vms,
        "max_vms": config.max_vms,
        "thresholds": {
            "scale_out_cpu": config.scale_out_cpu_threshold,
            "scale_out_memory": config.scale_out_memory_threshold,
            "scale_in_cpu": config.scale_in_cpu_threshold,
            "scale_in_memory": config.scale_in_memory_threshold,
        },
        "series": series,
        "events": [
            {
                "id": event["id"],
                "t": event["created_at"].timestamp(),
                "action": event["action"],
                "decision": event["decision"],
                "status": event["status"],
                "label": " ".join(part for part in (
                    f"#{event['id']}", labels.get(ScaleAction, event["action"]),
                    labels.get(Decision, event["decision"]),
                    reason_display(code=event["reason_code"], params=event["reason_params"], text=event["reason"]),
                ) if part),
                "url": reverse("events:detail", args=[event["id"]]),
            }
            for event in events
        ],
        "error": error,
    }
