"""What-if on a service's own history: replay the last N days of its Prometheus CPU history through the seed's
step policy, the recommended policy and the service's current one, with the simulator the benchmark uses.

Demand is the service's CPU in VM-percent at each step (each instance's CPU busy % summed over the instances,
:func:`ixnode.integrations.prometheus.promql.cpu_demand`): one VM serves 100 of it at 100 % CPU, so the
simulator's capacity model sees the load the VMs carried, whatever the VM count was then. A step where
Prometheus has no sample is a gap (no overload, no VM-hours), as in any trace.

``whatif_run_create`` records the run and enqueues ``policies.tasks.whatif_run`` once the transaction commits;
``whatif_run`` does the work, with progress on the row, and stores the figures per policy (``result``), the plot
(``plot_png``) or an error. It is bounded: at most ``WHATIF_MAX_POINTS`` points per series (the step grows with
N) and ``IXNODE_POLICY_WHATIF_TIMEOUT`` seconds in all.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext
from django_q.tasks import async_task

from autoscaling.models import AutoscalingConfig
from ixnode.integrations.problems import explain_text
from ixnode.integrations.prometheus import promql
from ixnode.integrations.prometheus.client import prometheus_client
from ixnode.integrations.prometheus.interface import Prometheus, PrometheusError, QueryResult
from ixnode.jobs import ACTIVE_STATUSES
from policies import constants, selectors
from policies.choices import PolicyMetric, PolicyType, WhatIfStatus
from policies.engine.evaluate import recommended_settings
from policies.models import ScalingPolicy, WhatIfRun
from policies.simulator.catalog import RECHECK, SimPolicy, one_metric, parameters_text, run_policy
from policies.simulator.engine import SimConfig, SimParams, SimResult
from policies.simulator.report import PlotError, plot_png, plot_words
from policies.simulator.trace import Trace

logger = logging.getLogger(__name__)

#: one VM at 100 % CPU serves 100 VM-percent of demand
CAPACITY_PER_VM = 100.0
#: past its time limit by this much, a run still marked running was stopped from outside (the task's timeout)
EXPIRY_GRACE_SECONDS = 90

# Why a run failed, stored as a code with its parameters and shown in the reader's language.
ERRORS = {
    "no_history": gettext_noop("Prometheus holds no CPU history of job %(job)s in the last %(days)s days, so "
                               "there is nothing to replay. Check that its targets are scraped (diagnostics)."),
    "timeout": gettext_noop("The replay took longer than %(seconds)s s (IXNODE_POLICY_WHATIF_TIMEOUT) and was "
                            "stopped; choose fewer days."),
    "prometheus": gettext_noop("Prometheus could not answer the history query: %(error)s"),
    "failed": gettext_noop("The replay failed: %(error)s"),
}


# What a start answers while a run of the service is pending or running (the page's note, the API's).
ALREADY_RUNNING = gettext_noop("A what-if run of this service is already under way: here it is. Start another "
                               "once it has finished.")

#: the policies a row's switch may apply (the current policy's own row has none)
WHATIF_SWITCHABLE = (PolicyType.STEP, PolicyType.RECOMMENDED)


class WhatIfError(Exception):
    """A run cannot finish; ``code`` names the message in :data:`ERRORS`, ``params`` fill it in."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(ERRORS[code] % params)
        self.code, self.params = code, params


@dataclass(frozen=True)
class Replay:
    """One row of the comparison: which policy, with which settings, and whether it is the one in use."""

    key: str  # "step", "recommended" or "current"
    policy_type: str
    policy: SimPolicy
    current: bool


def whatif_step_seconds(days: int) -> int:
    """The range query's step for ``days``: at least a minute, whole minutes, at most WHATIF_MAX_POINTS points."""
    per_point = days * 86400 / constants.WHATIF_MAX_POINTS
    return max(constants.WHATIF_MIN_STEP_SECONDS, math.ceil(per_point / 60) * 60)


def whatif_days_validate(value: object) -> int:
    """``value`` as a whole number of days in the allowed range, or ValidationError({"days": ...})."""
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise ValidationError({"days": [_("Enter a whole number of days.")]}) from exc
    if not constants.WHATIF_MIN_DAYS <= days <= constants.WHATIF_MAX_DAYS:
        raise ValidationError({"days": [_("Choose between %(low)d and %(high)d days.") % {
            "low": constants.WHATIF_MIN_DAYS, "high": constants.WHATIF_MAX_DAYS}]})
    return days


def whatif_run_create(*, config: AutoscalingConfig, days: object, user: Any = None, language: str = ""
                      ) -> tuple[WhatIfRun, bool]:
    """Record a what-if run of ``config``'s last ``days`` days and enqueue it after commit (ValidationError for
    days outside the range); returns (run, created).

    One run per service at a time: while one is pending or running (a double click, a second operator), that run
    is returned instead of queuing another (``created`` False). A service keeps its last
    ``WHATIF_KEEP_RUNS`` runs; older ones (with their plots) are deleted when a new one is recorded."""
    checked = whatif_days_validate(days)
    with transaction.atomic():
        # The config row's lock serialises two starts of one service (PostgreSQL; SQLite serialises every writer).
        AutoscalingConfig.objects.select_for_update().filter(pk=config.pk).values_list("pk", flat=True).first()
        for active in WhatIfRun.objects.filter(config=config, status__in=ACTIVE_STATUSES).defer("plot_png"):
            if whatif_run_expire(run=active).is_active:
                return active, False
        run = WhatIfRun.objects.create(
            config=config, days=checked, step_seconds=whatif_step_seconds(checked), language=language[:16],
            created_by=user if user is not None and getattr(user, "is_authenticated", False) else None,
        )
        old = WhatIfRun.objects.filter(config=config).order_by("-created_at", "-id").values_list("pk", flat=True)
        WhatIfRun.objects.filter(pk__in=list(old[constants.WHATIF_KEEP_RUNS:])).delete()
        transaction.on_commit(lambda: _enqueue(run.pk))
    return run, True


def _enqueue(run_id: int) -> None:
    task_id = async_task("policies.tasks.whatif_run", run_id, group="policies-whatif",
                         timeout=settings.IXNODE_POLICY_WHATIF_TIMEOUT + 60)
    WhatIfRun.objects.filter(pk=run_id).update(task_id=str(task_id or ""))


def _progress(run: WhatIfRun, percent: int, **fields: Any) -> None:
    run.progress = percent
    for key, value in fields.items():
        setattr(run, key, value)
    run.save(update_fields=["progress", *fields.keys()])


def _grid(result: QueryResult, *, first: float, step: int, count: int) -> list[float | None]:
    """The first series of ``result`` on the grid ``first + k × step`` (k < count); no point = None (a gap)."""
    values: list[float | None] = [None] * count
    if not result.samples:
        return values
    for at, value in result.samples[0].points:
        index = round((at - first) / step)
        if 0 <= index < count and value == value and value != math.inf:  # NaN: no data in that step
            values[index] = max(0.0, value)
    return values


def whatif_history_read(*, config: AutoscalingConfig, prometheus: Prometheus, end: datetime, days: int,
                        step: int) -> tuple[Trace, list[float | None]]:
    """The service's demand (VM-percent) and VM count over the last ``days`` days, on a grid of ``step``
    seconds aligned to the step; steps without samples are gaps (None). Raises PrometheusError."""
    last = end.timestamp() // step * step
    first = last - days * 86400 + step
    count = int((last - first) // step) + 1
    start_at, end_at = datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(last, UTC)
    # the rate window covers the whole step (at least two scrapes), so each point averages its own step
    window = f"{max(step, 60)}s"
    demand = prometheus.query_range(promql.cpu_demand(config.prometheus_job_name, window), start=start_at,
                                    end=end_at, step_seconds=step)
    vms = prometheus.query_range(promql.target_count(config.prometheus_job_name), start=start_at, end=end_at,
                                 step_seconds=step)
    times = [first + k * step for k in range(count)]
    return Trace(times, _grid(demand, first=first, step=step, count=count), float(step)), \
        _grid(vms, first=first, step=step, count=count)


def whatif_replays(*, config: AutoscalingConfig) -> list[Replay]:
    """The policies to compare: the seed's step policy, the recommended one with its own settings, and the
    service's current policy — a row of its own unless it replays exactly as one of the other two."""
    threshold = config.scale_out_cpu_threshold
    step = SimPolicy(str(PolicyType.STEP))
    recommended = SimPolicy(str(PolicyType.RECOMMENDED), recommended_settings(
        scale_out_threshold=threshold, scale_in_threshold=config.scale_in_cpu_threshold,
        scale_in_duration_seconds=config.scale_in_duration_minutes * 60))
    policy = selectors.policy_get(config=config)
    if policy is None:  # no row: the service scales by the seed's step policy
        return [Replay("step", PolicyType.STEP, step, True), Replay("recommended", PolicyType.RECOMMENDED,
                                                                       recommended, False)]
    if whatif_policy_on_memory(policy=policy):  # its row would replay the CPU history against a memory threshold
        return [Replay("step", PolicyType.STEP, step, False),
                Replay("recommended", PolicyType.RECOMMENDED, recommended, False)]
    settings_now = one_metric(selectors.policy_settings(config, policy))  # a replay has one load column
    if policy.policy_type == PolicyType.STEP:
        name = RECHECK if policy.recheck_alert_at_cooldown_end else str(PolicyType.STEP)
        current = SimPolicy(name, settings_now)
    else:
        current = SimPolicy(str(policy.policy_type), settings_now)
    same_as_step = current.name == step.name
    same_as_recommended = current.name == recommended.name and current.settings == recommended.settings
    rows = [Replay("step", PolicyType.STEP, step, same_as_step),
            Replay("recommended", PolicyType.RECOMMENDED, recommended, same_as_recommended)]
    if not (same_as_step or same_as_recommended):
        rows.append(Replay("current", policy.policy_type, current, True))
    return rows


def whatif_policy_on_memory(*, policy: ScalingPolicy | None) -> bool:
    """The policy scales on memory: the what-if replays CPU history, so it has no row of its own (the step policy
    replays the config's CPU rules whatever the metric, as its alert rules are the config's)."""
    return policy is not None and policy.metric == PolicyMetric.MEMORY and policy.policy_type != PolicyType.STEP


def _sim_config(config: AutoscalingConfig) -> SimConfig:
    return SimConfig(
        service_name=config.service_name, min_vms=config.min_vms, max_vms=config.max_vms,
        scale_out_step=config.scale_out_step, scale_in_step=config.scale_in_step,
        scale_out_cpu_threshold=config.scale_out_cpu_threshold, scale_in_cpu_threshold=config.scale_in_cpu_threshold,
        scale_out_duration_minutes=config.scale_out_duration_minutes,
        scale_in_duration_minutes=config.scale_in_duration_minutes, cooldown_seconds=config.cooldown_seconds,
        alert_repeat_interval_seconds=config.alert_repeat_interval_seconds, warm_pool_size=config.warm_pool_size,
    )


def _row(replay: Replay, result: SimResult, config: SimConfig) -> dict[str, Any]:
    parts = replay.policy.describe_parts(config)
    english = replay.policy.describe(config)
    return {
        "key": replay.key, "policy_type": str(replay.policy_type), "simulated_as": replay.policy.name,
        "current": replay.current, "overload_minutes": round(result.overload_minutes),  # as the plot's legend rounds it
        "vm_hours": round(result.vm_hours, 2), "stopped_vm_hours": round(result.warm_vm_hours, 2),
        "scale_outs": result.scale_outs, "scale_ins": result.scale_ins,
        "scale_actions": result.scale_outs + result.scale_ins, "flaps": result.flaps, "peak_vms": result.peak_vms,
        # Stored in English (what the logs and any export read) and as parts the pages show in the reader's
        # language (whatif_row_parameters).
        "parameters": english,
        "parameters_parts": parts,
    }


def whatif_row_parameters(*, row: dict[str, Any]) -> str:
    """A row's parameter line in the reader's language (a run stored before the parts: its English line)."""
    parts = row.get("parameters_parts")
    if isinstance(parts, list):
        try:
            return parameters_text(parts)
        except (KeyError, ValueError, TypeError, AttributeError):  # a malformed stored part: its English line
            logger.warning("what-if row %r: parameter parts %r could not be shown", row.get("key"), parts)
    return str(row.get("parameters", ""))


def whatif_row_label(*, key: str, policy_type: str) -> str:
    """A row's name in the reader's language."""
    if key == "step":
        return _("Step (the seed)")
    if key == "recommended":
        return _("Recommended")
    return _("Current: %(policy)s") % {"policy": _policy_type_label(policy_type)}


def _policy_type_label(value: object) -> str:
    """A stored policy type's label in the reader's language (a type this version does not know: as it is)."""
    return str(PolicyType(value).label) if isinstance(value, str) and value in PolicyType.values else str(value)


def whatif_error_text(*, run: WhatIfRun) -> str:
    """Why ``run`` failed, in the reader's language ("" when it did not)."""
    code = run.result.get("error_code") if isinstance(run.result, dict) else None
    if code in ERRORS:
        return _(ERRORS[code]) % run.result.get("error_params", {})
    return run.error


class _Clock:
    def __init__(self, seconds: int) -> None:
        self.seconds, self.deadline = seconds, time.monotonic() + seconds

    def left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise WhatIfError("timeout", seconds=self.seconds)
        return left


def whatif_run(*, run_id: int, prometheus: Prometheus | None = None, now: datetime | None = None) -> WhatIfRun:
    """Run a recorded what-if: read the history, replay each policy, draw the plot; the row ends succeeded with
    the figures or failed with the reason (never raises for a Prometheus error or an empty history)."""
    run = WhatIfRun.objects.select_related("config").get(pk=run_id)
    _progress(run, 0, status=WhatIfStatus.RUNNING, started_at=timezone.now(), error="", result={})
    try:
        with translation.override(run.language or settings.LANGUAGE_CODE):
            result, png = _replay(run, prometheus=prometheus, now=now or timezone.now())
    except WhatIfError as exc:
        logger.warning("what-if run %s of %s failed: %s", run.pk, run.config.service_name, exc)
        _progress(run, run.progress, status=WhatIfStatus.FAILED, finished_at=timezone.now(), error=str(exc)[:4000],
                  result={"error_code": exc.code, "error_params": exc.params})
        return run
    except Exception as exc:  # noqa: BLE001 - any failure ends the run with its reason, not a stuck row
        logger.exception("what-if run %s of %s failed", run.pk, run.config.service_name)
        _progress(run, run.progress, status=WhatIfStatus.FAILED, finished_at=timezone.now(),
                  error=f"{type(exc).__name__}: {exc}"[:4000],
                  result={"error_code": "failed", "error_params": {"error": f"{type(exc).__name__}: {exc}"[:500]}})
        return run
    _progress(run, 100, status=WhatIfStatus.SUCCEEDED, finished_at=timezone.now(), result=result, plot_png=png)
    return run


def _replay(run: WhatIfRun, *, prometheus: Prometheus | None, now: datetime) -> tuple[dict[str, Any], bytes]:
    config = run.config
    clock = _Clock(settings.IXNODE_POLICY_WHATIF_TIMEOUT)
    step = run.step_seconds or whatif_step_seconds(run.days)
    client = prometheus or prometheus_client(timeout=min(settings.IXNODE_PROMETHEUS_TIMEOUT, clock.left()))
    try:
        trace, counts = whatif_history_read(config=config, prometheus=client, end=now, days=run.days, step=step)
    except PrometheusError as exc:
        raise WhatIfError("prometheus", error=str(exc)) from exc
    known = [i for i, load in enumerate(trace.loads) if load is not None]
    if not known:
        raise WhatIfError("no_history", job=config.prometheus_job_name, days=run.days)
    _progress(run, 20)
    # the replay starts where the history starts, with the VM count the service had then (within min/max)
    trace = Trace(trace.times[known[0]:], trace.loads[known[0]:], trace.interval)
    first_count = next((c for c in counts[known[0]:] if c is not None), None)
    initial = min(max(int(first_count or config.min_vms), config.min_vms), config.max_vms)
    sim_config = _sim_config(config)
    params = SimParams(capacity=CAPACITY_PER_VM, initial_vms=initial)
    replays = whatif_replays(config=config)
    results: list[SimResult] = []
    rows = []
    for index, replay in enumerate(replays):
        clock.left()
        result = run_policy(trace, sim_config, params, replay.policy)
        result.policy = whatif_row_label(key=replay.key, policy_type=str(replay.policy_type))
        results.append(result)
        rows.append(_row(replay, result, sim_config))
        _progress(run, 20 + 60 * (index + 1) // len(replays))
    clock.left()
    words = replace(plot_words(), trace=_("{load} (history)"))  # the simulator's plot words; the load is history
    try:
        offset = timezone.localtime(datetime.fromtimestamp(trace.start, UTC)).utcoffset()
        png = plot_png(results, threshold=config.scale_out_cpu_threshold, load_label=_("CPU demand (VM-%)"),
                       tz_offset=offset.total_seconds() if offset else 0.0,
                       title=ngettext("What-if: %(service)s, last %(days)d day",
                                      "What-if: %(service)s, last %(days)d days", run.days)
                       % {"service": config.service_name, "days": run.days},
                       words=words)
    except PlotError as exc:
        raise WhatIfError("failed", error=str(exc)) from exc
    clock.left()
    gaps = sum(1 for load in trace.loads if load is None)
    history_vm_hours = sum(c for c, load in zip(counts[known[0]:], trace.loads, strict=True)
                           if c is not None and load is not None) * step / 3600
    current_policy = selectors.policy_get(config=config)
    result_json = {
        "start": trace.start, "end": trace.end, "step_seconds": step, "points": len(trace.loads),
        "gap_points": gaps, "gap_minutes": round(gaps * step / 60, 1),
        "known_minutes": round((len(trace.loads) - gaps) * step / 60, 1), "initial_vms": initial,
        "history_vm_hours": round(history_vm_hours, 2),
        "has_policy": current_policy is not None,
        "current_policy_type": str(current_policy.policy_type) if current_policy else str(PolicyType.STEP),
        "current_on_memory": whatif_policy_on_memory(policy=current_policy),
        "rows": rows,
        "demand_peak": round(max(load for load in trace.loads if load is not None), 1),
    }
    return result_json, png


def whatif_run_expire(*, run: WhatIfRun, now: datetime | None = None) -> WhatIfRun:
    """A run still *running* well past its time limit was stopped from outside (django-q2's task timeout, a
    worker that died): record it as failed for the time limit, so no page waits for it forever."""
    now = now or timezone.now()
    limit = settings.IXNODE_POLICY_WHATIF_TIMEOUT
    if run.status == WhatIfStatus.RUNNING and run.started_at is not None and (
            now - run.started_at).total_seconds() > limit + EXPIRY_GRACE_SECONDS:
        params = {"seconds": limit}
        updated = WhatIfRun.objects.filter(pk=run.pk, status=WhatIfStatus.RUNNING).update(
            status=WhatIfStatus.FAILED, finished_at=now, error=ERRORS["timeout"] % params,
            result={"error_code": "timeout", "error_params": params})
        if updated:
            run.refresh_from_db(fields=["status", "finished_at", "error", "result"])
    return run


def whatif_run_latest(*, config: AutoscalingConfig) -> WhatIfRun | None:
    """The service's most recent what-if run (for the service page), without its plot bytes."""
    return whatif_run_list(config=config).first()


def whatif_run_list(*, config: AutoscalingConfig) -> QuerySet[WhatIfRun]:
    """The service's what-if runs, newest first, without their plot bytes (at most ``WHATIF_KEEP_RUNS``)."""
    return WhatIfRun.objects.filter(config=config).defer("plot_png").order_by("-created_at", "-id")


def whatif_run_get(*, config: AutoscalingConfig, run_id: int, with_plot: bool = False) -> WhatIfRun | None:
    """Run ``run_id`` of ``config`` (None when the service has no such run), a run stopped from outside recorded as
    failed (:func:`whatif_run_expire`); its plot bytes only when asked for."""
    runs = WhatIfRun.objects.filter(config=config)
    run = (runs if with_plot else runs.defer("plot_png")).filter(pk=run_id).first()
    return whatif_run_expire(run=run) if run is not None else None


# The figures of a stored result (its summary and each row), as numbers: a row written by another version or by
# hand shows an empty figure for a value that is not one, never an error.
RESULT_NUMBERS = ("step_seconds", "points", "gap_points", "gap_minutes", "known_minutes", "initial_vms",
                  "history_vm_hours", "demand_peak")
ROW_NUMBERS = ("overload_minutes", "vm_hours", "stopped_vm_hours", "warm_vm_hours", "scale_outs", "scale_ins",
               "scale_actions", "flaps", "peak_vms")


def _numbers(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    out = dict(data)
    for key in keys:
        value = out.get(key)
        if key in out and not (isinstance(value, int | float) and not isinstance(value, bool)
                               and math.isfinite(value)):
            out[key] = None
    return out


def whatif_policy_label(*, result: Any) -> str:
    """The label of the policy the service had when the run was made (a stored type this version does not know:
    as it is)."""
    return _policy_type_label(result.get("current_policy_type", PolicyType.STEP) if isinstance(result, dict)
                              else PolicyType.STEP)


def whatif_result_rows(*, run: WhatIfRun, config: AutoscalingConfig) -> list[dict[str, Any]]:
    """A succeeded run's rows as the pages and the API show them: the stored figures, the row's name
    (``label``) and parameter line (``parameters_text``) in the reader's language beside the stored English line
    (``parameters``), whether the row's policy is the one the service has now (``in_use``), and whether a switch
    to it is offered (``switchable``; the switch itself needs ``policies.change_scalingpolicy``).

    A memory policy has no row (the replay is CPU): no row is marked as the one in use, and only the step policy
    (whose rules are the config's, whatever the metric) is offered — a switch keeps the policy's memory metric, so
    the recommended row's CPU figures would not describe what it switches to."""
    result = run.result if isinstance(run.result, dict) else {}
    rows_stored = result.get("rows")
    stored = [row for row in rows_stored if isinstance(row, dict)] if isinstance(rows_stored, list) else []
    policy = selectors.policy_get(config=config)
    live = str(policy.policy_type) if policy is not None else str(PolicyType.STEP)
    on_memory = bool(result.get("current_on_memory")) or whatif_policy_on_memory(policy=policy)
    shown = not on_memory
    rows = []
    for row in stored:
        key, policy_type = str(row.get("key", "")), str(row.get("policy_type", ""))
        in_use = shown and policy_type == live and (key == "current" or not any(
            other.get("key") == "current" and other.get("policy_type") == live for other in stored))
        rows.append({**_numbers(row, ROW_NUMBERS), "label": whatif_row_label(key=key, policy_type=policy_type),
                     "parameters": str(row.get("parameters", "")),
                     "parameters_text": whatif_row_parameters(row=row), "in_use": in_use,
                     "switchable": policy_type in WHATIF_SWITCHABLE and policy_type != live
                     and (not on_memory or policy_type == PolicyType.STEP)})
    return rows


def whatif_run_result(*, run: WhatIfRun, config: AutoscalingConfig) -> dict[str, Any] | None:
    """A succeeded run's figures as the API shows them (None before it has succeeded, or when it failed): the
    stored summary, the history's first and last step as times, and the rows of :func:`whatif_result_rows`."""
    if run.status != WhatIfStatus.SUCCEEDED or not isinstance(run.result, dict):
        return None
    result = run.result

    def at(key: str) -> datetime | None:
        value = result.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):  # out of the calendar's range, NaN
            return None

    return {**_numbers(result, RESULT_NUMBERS), "history_start": at("start"), "history_end": at("end"),
            "rows": whatif_result_rows(run=run, config=config)}


def whatif_error_code(*, run: WhatIfRun) -> str:
    """The code of why ``run`` failed (a key of :data:`ERRORS`), "" when it did not fail or has none stored."""
    code = run.result.get("error_code") if isinstance(run.result, dict) else None
    return str(code) if run.status == WhatIfStatus.FAILED and code else ""


def whatif_already_running_note() -> str:
    """What a start answers when a run of the service is already pending or running, in the reader's language."""
    return _(ALREADY_RUNNING)


def whatif_error_summary(*, run: WhatIfRun) -> str:
    """Why ``run`` failed, as one sentence in the reader's language ("" when it did not fail): a Prometheus failure
    as the integration problem's sentence (the pages' notice), the others as :func:`whatif_error_text`."""
    if run.status != WhatIfStatus.FAILED:
        return ""
    if whatif_error_code(run=run) == "prometheus":
        return explain_text(run.error).summary
    return whatif_error_text(run=run)

