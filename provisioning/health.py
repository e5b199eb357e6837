"""Health check of a new VM: GET http://<ip>:<vipPort><healthCheckPath> until it answers 2xx or time runs out.

The same URL the F5 monitor will use, so a VM only joins the pool once it serves. Redirects are not followed
(a 3xx is not healthy), proxies from the environment are never used.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
from django.conf import settings

from autoscaling.models import AutoscalingConfig

logger = logging.getLogger(__name__)


class HealthCheckFailed(Exception):
    """The VM did not answer 2xx in time; the message has the URL, the attempts and the last answer."""

    def __init__(self, message: str, *, url: str, attempts: int, last: str) -> None:
        super().__init__(message)
        self.message = message
        self.url = url
        self.attempts = attempts
        self.last = last


@dataclass(frozen=True)
class HealthCheckResult:
    url: str
    status: int
    attempts: int
    seconds: float


def health_url(*, config: AutoscalingConfig, ip: str) -> str:
    host = f"[{ip}]" if ipaddress.ip_address(ip).version == 6 else ip
    return f"http://{host}:{config.f5_vip_port}{config.f5_health_check_path}"


def health_wait(
    *,
    config: AutoscalingConfig,
    ip: str,
    timeout: float | None = None,
    interval: float | None = None,
    request_timeout: float | None = None,
    log: Callable[[str], None] | None = None,
) -> HealthCheckResult:
    """Poll the health URL until a 2xx answer; raise ``HealthCheckFailed`` after ``timeout`` seconds
    (``IXNODE_HEALTH_TIMEOUT``), polling every ``interval`` (``IXNODE_HEALTH_INTERVAL``)."""
    limit = float(getattr(settings, "IXNODE_HEALTH_TIMEOUT", 300.0) if timeout is None else timeout)
    pause = float(getattr(settings, "IXNODE_HEALTH_INTERVAL", 5.0) if interval is None else interval)
    per_request = float(
        getattr(settings, "IXNODE_HEALTH_REQUEST_TIMEOUT", 5.0) if request_timeout is None else request_timeout
    )
    url = health_url(config=config, ip=ip)
    started = time.monotonic()
    deadline = started + limit
    attempts = 0
    last = "no answer yet"
    with requests.Session() as session:
        session.trust_env = False  # never through a proxy: the VM is checked directly, like the F5 monitor does
        while True:
            attempts += 1
            remaining = max(0.1, deadline - time.monotonic())
            try:
                response = session.get(url, timeout=min(per_request, remaining), allow_redirects=False)
                response.close()
                if 200 <= response.status_code < 300:
                    seconds = time.monotonic() - started
                    if log is not None:
                        log(f"{url} answered {response.status_code} after {attempts} attempt(s), {seconds:.1f}s")
                    return HealthCheckResult(url=url, status=response.status_code, attempts=attempts, seconds=seconds)
                last = f"HTTP {response.status_code}"
            except requests.Timeout:
                last = f"no answer within {min(per_request, remaining):g}s"
            except requests.ConnectionError as exc:
                last = f"connection failed ({_reason(exc)})"
            except requests.RequestException as exc:
                last = f"request failed ({exc})"
            now = time.monotonic()
            if now + pause > deadline:
                break
            logger.debug("health %s: attempt %d: %s", url, attempts, last)
            time.sleep(pause)
    raise HealthCheckFailed(
        f"{url} did not answer 2xx within {limit:g}s ({attempts} attempts, last: {last}). Check that the service "
        "starts on the VM, listens on the VIP port and serves the health-check path.",
        url=url,
        attempts=attempts,
        last=last,
    )


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "timed out", "No route to host", "Name or service not known"):
        if marker in text:
            return marker
    return text[-160:]
