"""Alertmanager HTTP API v2 client: which alerts are active now (``GET /api/v2/alerts``) and the configuration it
runs with (``GET /api/v2/status``). It implements :class:`~ixnode.integrations.alertmanager.interface.Alertmanager`
and is built by ``alertmanager_client()`` (the one way)."""

from __future__ import annotations

from datetime import datetime

import requests
from django.conf import settings

from ixnode.integrations.alertmanager.interface import ActiveAlert, Alertmanager, AlertmanagerError

__all__ = ["AlertmanagerClient", "AlertmanagerError", "alertmanager_client"]


class AlertmanagerClient:
    def __init__(self, base_url: str, *, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = float(timeout)

    def _get(self, path: str, *, params: list[tuple[str, str]] | None = None) -> requests.Response:
        """GET ``path`` of the API; an unreachable Alertmanager or a non-200 answer raises AlertmanagerError."""
        url = f"{self.base_url}{path}"
        try:
            response = requests.get(url, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise AlertmanagerError(
                f"Alertmanager at {self.base_url} is unreachable ({exc.__class__.__name__}); check "
                f"IXNODE_ALERTMANAGER_URL."
            ) from exc
        if response.status_code != 200:
            raise AlertmanagerError(f"Alertmanager at {self.base_url} answered HTTP {response.status_code} on {url}.")
        return response

    def active_alerts(self, matchers: dict[str, str]) -> list[ActiveAlert]:
        """Active (not silenced, not inhibited) alerts whose labels equal ``matchers``."""
        params = [("filter", f'{k}="{v}"') for k, v in matchers.items()]
        params += [("active", "true"), ("silenced", "false"), ("inhibited", "false"), ("unprocessed", "true")]
        response = self._get("/api/v2/alerts", params=params)
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

    def loaded_config(self) -> str:
        """The configuration Alertmanager runs with (``GET /api/v2/status`` → ``config.original``), as YAML text."""
        response = self._get("/api/v2/status")
        try:
            return str(response.json()["config"]["original"])
        except (ValueError, KeyError, TypeError) as exc:
            raise AlertmanagerError(f"Alertmanager at {self.base_url} answered a malformed status: {exc!r}") from exc


def alertmanager_client() -> Alertmanager:
    """The Alertmanager configured by IXNODE_ALERTMANAGER_URL and IXNODE_ALERTMANAGER_TIMEOUT: the one way the
    product builds an
    Alertmanager client."""
    return AlertmanagerClient(settings.IXNODE_ALERTMANAGER_URL, timeout=settings.IXNODE_ALERTMANAGER_TIMEOUT)
