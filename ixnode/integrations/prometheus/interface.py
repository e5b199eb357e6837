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

    def target_count(self, job: str) -> TargetCount:
        """The number of active targets of ``job`` (:class:`PrometheusJobUnknown` when the job is not loaded)."""
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
