"""Prometheus HTTP API client: the current VM count of a service and PromQL queries.

``target_count(job)`` counts the *active* targets of a scrape job as ``/api/v1/targets`` reports them,
whatever their health: the job's registered targets are the single source of truth for the VM count,
and a VM that is down is still a VM of the service (counting only healthy ones would let a
crashed VM trigger another scale-out past the maximum). Dropped targets (relabelled away) do not count.

A target set is counted only once Prometheus has finished discovering it. For about 5 s after Prometheus starts
(and possibly after a configuration reload) the job is loaded but its targets are not listed yet, then listed
before their first scrape: counting then would take a service of 4 VMs for one of 0. So the count is *settled*
when every listed target has been scraped at least once, or when the start and the last configuration load
(``/api/v1/status/runtimeinfo``, measured on Prometheus' clock) are older than the settle time
(IXNODE_PROMETHEUS_DISCOVERY_SETTLE_SECONDS); otherwise :class:`PrometheusCountUnsettled` is raised. In the steady
state (every target scraped) this costs no extra request.

A job with no target at all is ambiguous: an empty file_sd list, or a job Prometheus does not know (its
scrape config was never loaded). In that case the loaded configuration (``/api/v1/status/config``) is
read and an unknown job raises :class:`PrometheusJobUnknown` instead of answering 0 — the decision engine
never acts on a count it does not know.

The client implements :class:`~ixnode.integrations.prometheus.interface.Prometheus` and is built by
``prometheus_client()`` (the one way). Every failure is one of the interface's exceptions, with a message an
operator can act on.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote

import certifi
import urllib3
import yaml
from django.conf import settings
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import MaxRetryError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from ixnode.integrations.prometheus.interface import (
    Prometheus,
    PrometheusBadResponse,
    PrometheusCountUnsettled,
    PrometheusError,
    PrometheusJobUnknown,
    PrometheusQueryError,
    PrometheusUnavailable,
    QueryResult,
    Rule,
    RuleGroup,
    RuntimeInfo,
    Sample,
    Target,
    TargetCount,
)

__all__ = [
    "PrometheusBadResponse",
    "PrometheusClient",
    "PrometheusCountUnsettled",
    "PrometheusError",
    "PrometheusJobUnknown",
    "PrometheusQueryError",
    "PrometheusUnavailable",
    "prometheus_client",
]


class PrometheusClient:
    """Real client over Prometheus' HTTP API (``/api/v1``): one keep-alive connection pool, bounded timeouts.

    urllib3 directly rather than ``requests``: the VM count is read on every webhook decision, and requests'
    per-call machinery (hooks, cookies, environment merge, adapters) cost more CPU than the call itself. The
    semantics are those the requests session had: ``timeout`` bounds the connect and each read, no retry of a
    failed request, redirects followed (up to 30), no proxy/netrc environment, certifi's CA bundle for https,
    ``user:password@`` in IXNODE_PROMETHEUS_URL sent as basic auth. Responses are asked uncompressed: Prometheus
    shares the machine, and gzip of a small JSON answer costs both sides more than the bytes it saves.
    """

    def __init__(self, base_url: str | None = None, *, timeout: float | None = None,
                 pool: urllib3.PoolManager | None = None) -> None:
        self.base_url = (base_url or settings.IXNODE_PROMETHEUS_URL).rstrip("/")
        self.timeout = float(timeout if timeout is not None else settings.IXNODE_PROMETHEUS_TIMEOUT)
        headers = {"Accept": "application/json", "Accept-Encoding": "identity"}
        try:
            auth = urllib3.util.parse_url(self.base_url).auth
        except ValueError:
            auth = None  # an invalid URL fails on the first request, with the "unreachable" message
        if auth:
            headers.update(urllib3.util.make_headers(basic_auth=unquote(auth)))
        self._headers = headers
        self._timeout = urllib3.Timeout(connect=self.timeout, read=self.timeout)
        # One attempt (connect=0, read=False, other=0), redirects followed like requests does.
        self._retries = urllib3.Retry(total=None, connect=0, read=False, other=0, status=0, redirect=30,
                                      raise_on_redirect=False, raise_on_status=False)
        self.pool = pool or urllib3.PoolManager(num_pools=4, maxsize=4, ca_certs=certifi.where())

    # --- low level ---------------------------------------------------------------------------------------

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._get_answer(path, params)[0]

    def _get_answer(self, path: str, params: dict[str, Any] | None = None) -> tuple[Any, urllib3.BaseHTTPResponse]:
        """The ``data`` of an API answer, and the HTTP response it came in."""
        url = f"{self.base_url}{path}"
        try:
            response = self.pool.request("GET", url, fields=params, headers=self._headers, timeout=self._timeout,
                                         retries=self._retries)
        except Urllib3Error as exc:
            reason = exc.reason if isinstance(exc, MaxRetryError) and exc.reason is not None else exc
            # NewConnectionError subclasses ConnectTimeoutError in urllib3: a refused connection is not a timeout.
            if isinstance(reason, Urllib3Timeout) and not isinstance(reason, NewConnectionError):
                raise PrometheusUnavailable(
                    f"Prometheus at {self.base_url} did not answer within {self.timeout:g} s "
                    f"(IXNODE_PROMETHEUS_URL / IXNODE_PROMETHEUS_TIMEOUT)."
                ) from exc
            raise PrometheusUnavailable(
                f"Prometheus at {self.base_url} is unreachable: {reason.__class__.__name__}: {_short(reason)} "
                f"(check IXNODE_PROMETHEUS_URL and that Prometheus is running)."
            ) from exc

        body: Any = None
        try:
            body = json.loads(response.data)
        except ValueError:
            body = None

        if isinstance(body, dict) and body.get("status") == "error":
            message = f"{body.get('errorType', 'error')}: {body.get('error', 'no detail')}"
            if response.status in (400, 422):
                raise PrometheusQueryError(f"Prometheus rejected the request to {path}: {message}")
            raise PrometheusUnavailable(f"Prometheus answered HTTP {response.status} on {path}: {message}")
        if response.status >= 500:
            raise PrometheusUnavailable(
                f"Prometheus at {self.base_url} answered HTTP {response.status} on {path}."
            )
        if response.status != 200:
            raise PrometheusBadResponse(
                f"Prometheus at {self.base_url} answered HTTP {response.status} on {path}; "
                f"is IXNODE_PROMETHEUS_URL the Prometheus server (not Alertmanager or a proxy login page)?"
            )
        if not isinstance(body, dict) or body.get("status") != "success" or "data" not in body:
            raise PrometheusBadResponse(
                f"Prometheus at {self.base_url} answered {path} with something that is not a Prometheus API "
                f"response ({_describe(response)})."
            )
        return body["data"], response

    # --- targets --------------------------------------------------------------------------------------

    def targets(self, job: str) -> list[Target]:
        """Active targets of ``job`` (by scrape pool or ``job`` label), any health."""
        # scrapePool (Prometheus ≥ 2.42) keeps the answer small when many jobs exist; older servers ignore it
        # and the filter below does the work.
        data = self._get("/api/v1/targets", {"state": "active", "scrapePool": job})
        active = data.get("activeTargets") if isinstance(data, dict) else None
        if not isinstance(active, list):
            raise PrometheusBadResponse("Prometheus' /api/v1/targets answer has no 'activeTargets' list.")
        found: list[Target] = []
        for item in active:
            if not isinstance(item, dict) or not isinstance(item.get("labels", {}), dict):
                raise PrometheusBadResponse("Prometheus' /api/v1/targets answer holds a malformed target entry.")
            labels = {str(k): str(v) for k, v in item.get("labels", {}).items()}
            pool = str(item.get("scrapePool", ""))
            if pool != job and labels.get("job") != job:
                continue
            found.append(
                Target(
                    instance=labels.get("instance", ""),
                    job=labels.get("job", pool),
                    scrape_pool=pool,
                    health=str(item.get("health", "unknown")),
                    scrape_url=str(item.get("scrapeUrl", "")),
                    last_error=str(item.get("lastError", "")),
                    labels=labels,
                    last_scrape=_time_or_none(item.get("lastScrape")),
                )
            )
        return found

    def job_names(self) -> list[str]:
        """Scrape job names of Prometheus' loaded configuration."""
        data = self._get("/api/v1/status/config")
        text = data.get("yaml") if isinstance(data, dict) else None
        if not isinstance(text, str):
            raise PrometheusBadResponse("Prometheus' /api/v1/status/config answer has no 'yaml' text.")
        try:
            loaded = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise PrometheusBadResponse(f"Prometheus' loaded configuration is not valid YAML: {exc}") from exc
        scrape_configs = (loaded.get("scrape_configs") or []) if isinstance(loaded, dict) else []
        return [str(item["job_name"]) for item in scrape_configs if isinstance(item, dict) and "job_name" in item]

    def runtime_info(self) -> RuntimeInfo:
        """Start and last configuration load of the Prometheus process, with its clock's time (``Date``)."""
        data, response = self._get_answer("/api/v1/status/runtimeinfo")
        start = _time_or_none(data.get("startTime")) if isinstance(data, dict) else None
        loaded = _time_or_none(data.get("lastConfigTime")) if isinstance(data, dict) else None
        if start is None or loaded is None:
            raise PrometheusBadResponse(
                "Prometheus' /api/v1/status/runtimeinfo answer has no 'startTime'/'lastConfigTime'.")
        try:
            server_time = parsedate_to_datetime(response.headers.get("Date", ""))
        except (TypeError, ValueError, IndexError):
            server_time = datetime.now(UTC)
        if server_time.tzinfo is None:
            server_time = server_time.replace(tzinfo=UTC)
        return RuntimeInfo(start_time=start, last_config_time=loaded, server_time=server_time,
                           reload_success=bool(data.get("reloadConfigSuccess", True)))

    def target_count(self, job: str, *, settle_seconds: float | None = None) -> TargetCount:
        """The current VM count of a service: the number of active targets of its scrape job, once settled."""
        found = self.targets(job)
        if not found and job not in self.job_names():
            raise PrometheusJobUnknown(
                f"Prometheus at {self.base_url} has no scrape job '{job}': the service's scrape config is not "
                f"loaded (publish the config's artifacts and reload Prometheus)."
            )
        unscraped = sum(1 for target in found if target.last_scrape is None)
        if not found or unscraped:
            settle = float(settings.IXNODE_PROMETHEUS_DISCOVERY_SETTLE_SECONDS if settle_seconds is None
                           else settle_seconds)
            loaded_ago = self.runtime_info().loaded_ago
            if loaded_ago < settle:
                raise PrometheusCountUnsettled(
                    f"Prometheus at {self.base_url} (re)loaded its configuration {max(loaded_ago, 0):.0f} s ago and "
                    f"has not finished discovering job '{job}': {len(found)} targets listed, {unscraped} never "
                    f"scraped (settled once all are scraped or after {settle:g} s, "
                    f"IXNODE_PROMETHEUS_DISCOVERY_SETTLE_SECONDS).",
                    job=job, seen=len(found), unscraped=unscraped, loaded_ago=max(loaded_ago, 0.0),
                    settle_seconds=settle,
                )
        health = [target.health for target in found]
        return TargetCount(
            job=job,
            total=len(found),
            up=health.count("up"),
            down=health.count("down"),
            unknown=len(found) - health.count("up") - health.count("down"),
            targets=tuple(found),
        )

    # --- queries --------------------------------------------------------------------------------------

    def query(self, promql: str, *, at: datetime | None = None) -> QueryResult:
        params: dict[str, Any] = {"query": promql}
        if at is not None:
            params["time"] = at.timestamp()
        return _parse_result(self._get("/api/v1/query", params))

    def query_range(self, promql: str, *, start: datetime, end: datetime, step_seconds: float) -> QueryResult:
        params = {"query": promql, "start": start.timestamp(), "end": end.timestamp(), "step": step_seconds}
        return _parse_result(self._get("/api/v1/query_range", params))

    # --- rules ----------------------------------------------------------------------------------------

    def alert_rule_groups(self) -> list[RuleGroup]:
        """The loaded alerting rule groups with each rule's health (``/api/v1/rules?type=alert``)."""
        data = self._get("/api/v1/rules", {"type": "alert"})
        groups = data.get("groups") if isinstance(data, dict) else None
        if not isinstance(groups, list):
            raise PrometheusBadResponse("Prometheus' /api/v1/rules answer has no 'groups' list.")
        found: list[RuleGroup] = []
        for group in groups:
            if not isinstance(group, dict) or not isinstance(group.get("rules", []), list):
                raise PrometheusBadResponse("Prometheus' /api/v1/rules answer holds a malformed rule group.")
            rules = tuple(
                Rule(name=str(rule.get("name", "")), health=str(rule.get("health", "unknown")),
                     last_error=str(rule.get("lastError", "")))
                for rule in group.get("rules", []) if isinstance(rule, dict)
            )
            found.append(RuleGroup(name=str(group.get("name", "")), file=str(group.get("file", "")), rules=rules))
        return found


_local = threading.local()


def prometheus_client(*, timeout: float | None = None) -> Prometheus:
    """The Prometheus configured by IXNODE_PROMETHEUS_URL and IXNODE_PROMETHEUS_TIMEOUT: the one way the product
    builds a
    Prometheus client. One client per thread: reusing it keeps the HTTP connection alive between decisions; a
    settings change (tests) gets a fresh client. ``timeout`` bounds each request lower than IXNODE_PROMETHEUS_TIMEOUT
    (a page that must answer quickly).
    """
    if timeout is not None and timeout < settings.IXNODE_PROMETHEUS_TIMEOUT:
        return PrometheusClient(settings.IXNODE_PROMETHEUS_URL, timeout=timeout)
    key = (settings.IXNODE_PROMETHEUS_URL, settings.IXNODE_PROMETHEUS_TIMEOUT)
    client: PrometheusClient | None = getattr(_local, "client", None)
    if client is None or getattr(_local, "key", None) != key:
        client = PrometheusClient(settings.IXNODE_PROMETHEUS_URL, timeout=settings.IXNODE_PROMETHEUS_TIMEOUT)
        _local.client, _local.key = client, key
    return client


def _parse_result(data: Any) -> QueryResult:
    if not isinstance(data, dict) or "resultType" not in data or "result" not in data:
        raise PrometheusBadResponse("Prometheus' query answer has no 'resultType'/'result'.")
    kind, result = data["resultType"], data["result"]
    try:
        if kind in ("scalar", "string"):
            return QueryResult(kind, (Sample({}, ((float(result[0]), _float(result[1])),)),))
        samples = []
        for series in result:
            labels = {str(k): str(v) for k, v in series.get("metric", {}).items()}
            points: tuple[tuple[float, float], ...]
            if kind == "vector":
                points = ((float(series["value"][0]), _float(series["value"][1])),)
            elif kind == "matrix":
                points = tuple((float(t), _float(v)) for t, v in series["values"])
            else:
                raise PrometheusBadResponse(f"Prometheus answered an unknown result type '{kind}'.")
            samples.append(Sample(labels, points))
        return QueryResult(kind, tuple(samples))
    except (TypeError, KeyError, IndexError, ValueError, AttributeError) as exc:
        raise PrometheusBadResponse(f"Prometheus' {kind} query result is malformed: {exc!r}") from exc


def _time_or_none(value: Any) -> datetime | None:
    """An RFC 3339 time of the API; None for Go's zero time (``0001-01-01T00:00:00Z``: never) or anything else."""
    if not isinstance(value, str) or not value or value.startswith("0001-01-01"):
        return None
    text = value.replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # nanoseconds: fromisoformat takes at most 6 fraction digits
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[:min(digits, 6)]}{rest[digits:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _float(value: Any) -> float:
    # Prometheus encodes sample values as strings, including "NaN", "+Inf" and "-Inf".
    return float(value)


def _short(exc: Exception, limit: int = 200) -> str:
    text = str(exc)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(response: urllib3.BaseHTTPResponse) -> str:
    content_type = response.headers.get("Content-Type", "no content type")
    snippet = response.data[:80].decode("utf-8", "replace").replace("\n", " ")
    return f"HTTP {response.status}, {content_type}, starting {snippet!r}"
