"""What the product asks of Prometheus (:class:`Prometheus`), the neutral data it gets back and the errors it can
raise.

Product code depends on this module only; ``client.py`` holds the HTTP API implementation and
``prometheus_client()``, the one way to build it. PromQL text is built by ``promql.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class PrometheusError(Exception):
    """Base of every Prometheus client error; ``str()`` is the operator-facing reason."""


class PrometheusUnavailable(PrometheusError):
    """Prometheus could not be reached, timed out or answered with a server error."""


class PrometheusBadResponse(PrometheusError):
    """Prometheus answered something that is not a well-formed API response."""


class PrometheusQueryError(PrometheusError):
    """Prometheus rejected a query (bad PromQL, bad parameters)."""


class PrometheusJobUnknown(PrometheusError):
    """The scrape job is not in Prometheus' loaded configuration."""


class PrometheusCountUnsettled(PrometheusError):
    """Prometheus has not finished discovering the job's targets since it started or reloaded its configuration:
    the targets it lists now (often none, for about 5 s after a start) are not yet the job's target set."""

    def __init__(self, message: str, *, job: str, seen: int, unscraped: int, loaded_ago: float,
                 settle_seconds: float) -> None:
        super().__init__(message)
        self.job, self.seen, self.unscraped = job, seen, unscraped
        self.loaded_ago, self.settle_seconds = loaded_ago, settle_seconds


@dataclass(frozen=True)
class Target:
    """One active scrape target."""

    instance: str
    job: str
    scrape_pool: str
    health: str  # "up", "down" or "unknown"
    scrape_url: str = ""
    last_error: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    last_scrape: datetime | None = None  # None: never scraped since Prometheus (re)discovered the target


@dataclass(frozen=True)
class TargetCount:
    """The target count of a job, with the breakdown by health."""

    job: str
    total: int
    up: int
    down: int
    unknown: int
    targets: tuple[Target, ...] = ()


@dataclass(frozen=True)
class RuntimeInfo:
    """When the Prometheus process started and last loaded its configuration (``/api/v1/status/runtimeinfo``),
    and its clock's time when it answered (``server_time``, from the answer's ``Date``: settle times are measured
    on Prometheus' clock, not this machine's)."""

    start_time: datetime
    last_config_time: datetime
    server_time: datetime
    reload_success: bool = True

    @property
    def loaded_ago(self) -> float:
        """Seconds since the later of the start and the last configuration load, on Prometheus' clock."""
        return (self.server_time - max(self.start_time, self.last_config_time)).total_seconds()


@dataclass(frozen=True)
class Sample:
    """One series of a query result: its labels and (timestamp, value) points (one point for instant queries)."""

    labels: dict[str, str]
    points: tuple[tuple[float, float], ...]

    @property
    def value(self) -> float:
        return self.points[-1][1] if self.points else math.nan


@dataclass(frozen=True)
class QueryResult:
    result_type: str  # vector, matrix, scalar or string
    samples: tuple[Sample, ...]


@dataclass(frozen=True)
class Rule:
    """One loaded alerting rule and how its last evaluation went."""

    name: str
    health: str  # "ok", "err" or "unknown"
    last_error: str = ""


@dataclass(frozen=True)
class RuleGroup:
    """A rule group as Prometheus loaded it."""

    name: str
    file: str
    rules: tuple[Rule, ...] = ()


class Prometheus(Protocol):
    """What the rest of the product needs from Prometheus. Every method raises only :class:`PrometheusError`
    subclasses."""

    def target_count(self, job: str, *, settle_seconds: float | None = None) -> TargetCount:
        """The number of active targets of ``job`` (:class:`PrometheusJobUnknown` when the job is not loaded).

        Only a settled target set is counted: every listed target scraped at least once, or the start / last
        configuration load longer ago than ``settle_seconds`` (default IXNODE_PROMETHEUS_DISCOVERY_SETTLE_SECONDS);
        otherwise :class:`PrometheusCountUnsettled`."""
        ...

    def runtime_info(self) -> RuntimeInfo:
        """When Prometheus started and last loaded its configuration (``/api/v1/status/runtimeinfo``)."""
        ...

    def targets(self, job: str) -> list[Target]: ...

    def query(self, promql: str, *, at: datetime | None = None) -> QueryResult: ...

    def query_range(self, promql: str, *, start: datetime, end: datetime, step_seconds: float) -> QueryResult: ...

    def job_names(self) -> list[str]:
        """Scrape job names of the loaded configuration."""
        ...

    def alert_rule_groups(self) -> list[RuleGroup]:
        """The loaded alerting rule groups (``/api/v1/rules?type=alert``)."""
        ...
