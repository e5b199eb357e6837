"""Alertmanager HTTP API v2 client: which alerts are active now (``GET /api/v2/alerts``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import requests
from django.conf import settings


class AlertmanagerError(Exception):
    """Alertmanager could not answer; ``str()`` is the operator-facing reason."""


@dataclass(frozen=True)
class ActiveAlert:
    fingerprint: str
    labels: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    state: str = "active"


class AlertmanagerClient:
    def __init__(self, base_url: str | None = None, *, timeout: float | None = None) -> None:
        self.base_url = (base_url or settings.ALERTMANAGER_URL).rstrip("/")
        self.timeout = float(timeout if timeout is not None else settings.ALERTMANAGER_TIMEOUT)

    def get(self, path: str, *, params: list[tuple[str, str]] | None = None) -> requests.Response:
        """GET ``path`` of the API; an unreachable Alertmanager or a non-200 answer raises AlertmanagerError."""
        url = f"{self.base_url}{path}"
        try:
            response = requests.get(url, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise AlertmanagerError(
                f"Alertmanager at {self.base_url} is unreachable ({exc.__class__.__name__}); check ALERTMANAGER_URL."
            ) from exc
        if response.status_code != 200:
            raise AlertmanagerError(f"Alertmanager at {self.base_url} answered HTTP {response.status_code} on {url}.")
        return response

    def active_alerts(self, matchers: dict[str, str]) -> list[ActiveAlert]:
        """Active (not silenced, not inhibited) alerts whose labels equal ``matchers``."""
        params = [("filter", f'{k}="{v}"') for k, v in matchers.items()]
        params += [("active", "true"), ("silenced", "false"), ("inhibited", "false"), ("unprocessed", "true")]
        response = self.get("/api/v2/alerts", params=params)
        try:
            items = response.json()
            alerts = []
            for item in items:
                starts = item.get("startsAt")
                alerts.append(ActiveAlert(
                    fingerprint=str(item.get("fingerprint", "")),
                    labels={str(k): str(v) for k, v in (item.get("labels") or {}).items()},
                    starts_at=datetime.fromisoformat(starts.replace("Z", "+00:00")) if starts else None,
                    state=str((item.get("status") or {}).get("state", "active")),
                ))
            return alerts
        except (ValueError, TypeError, AttributeError) as exc:
            raise AlertmanagerError(
                f"Alertmanager at {self.base_url} answered a malformed alert list: {exc!r}"
            ) from exc


def alertmanager_loaded_config(client: AlertmanagerClient) -> str:
    """The configuration Alertmanager runs with (``GET /api/v2/status`` → ``config.original``), as YAML text."""
    response = client.get("/api/v2/status")
    try:
        return str(response.json()["config"]["original"])
    except (ValueError, KeyError, TypeError) as exc:
        raise AlertmanagerError(f"Alertmanager at {client.base_url} answered a malformed status: {exc!r}") from exc
