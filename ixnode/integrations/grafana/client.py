"""Grafana's HTTP API: push (create or overwrite) and delete the service dashboards; annotate scale events.

Auth: ``IXNODE_GRAFANA_TOKEN`` (service account token) as a bearer token. Without ``IXNODE_GRAFANA_URL`` nothing is
pushed.
The client implements :class:`~ixnode.integrations.grafana.interface.Grafana` and is built by ``grafana_client()``
(the one way).
"""

from __future__ import annotations

from collections.abc import Mapping

import requests
from django.conf import settings

from ixnode.integrations.grafana.interface import Grafana, GrafanaError, JSONValue

__all__ = ["GrafanaClient", "GrafanaError", "grafana_client"]


class GrafanaClient:
    def __init__(self, *, url: str, token: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def _request(self, method: str, path: str, *, json: JSONValue = None) -> requests.Response:
        try:
            response = self.session.request(method, f"{self.url}{path}", timeout=self.timeout, json=json)
        except requests.RequestException as exc:
            raise GrafanaError(
                f"Grafana at {self.url} is unreachable: {exc.__class__.__name__}; check IXNODE_GRAFANA_URL"
            ) from exc
        if response.status_code in (401, 403):
            raise GrafanaError(
                f"Grafana at {self.url} refused the request ({response.status_code}); check IXNODE_GRAFANA_TOKEN"
            )
        return response

    def dashboard_push(self, *, dashboard: Mapping[str, JSONValue], folder_uid: str = "") -> str:
        """POST /api/dashboards/db with overwrite; returns a short description of what Grafana answered."""
        body: dict[str, JSONValue] = {
            "dashboard": {**dashboard, "id": None, "version": 0},
            "overwrite": True,
            "message": "IXNode Autoscaling regeneration",
        }
        if folder_uid:
            body["folderUid"] = folder_uid
        response = self._request("POST", "/api/dashboards/db", json=body)
        if response.status_code != 200:
            raise GrafanaError(
                f"Grafana rejected dashboard {dashboard.get('uid')}: {response.status_code} {response.text[:500]}"
            )
        data = response.json()
        uid, status = data.get("uid", dashboard.get("uid")), data.get("status", "success")
        return f"dashboard {uid} {status} (version {data.get('version')})"

    def dashboard_delete(self, *, uid: str) -> bool:
        response = self._request("DELETE", f"/api/dashboards/uid/{uid}")
        if response.status_code == 404:
            return False
        if response.status_code != 200:
            raise GrafanaError(
                f"Grafana could not delete dashboard {uid}: {response.status_code} {response.text[:500]}"
            )
        return True

    def annotation_create(self, *, text: str, tags: list[str], time_ms: int | None = None) -> int:
        """POST /api/annotations (organisation-wide, found by the dashboards' tag query)."""
        body: dict[str, JSONValue] = {"text": text, "tags": list[JSONValue](tags)}
        if time_ms is not None:
            body["time"] = time_ms
        response = self._request("POST", "/api/annotations", json=body)
        if response.status_code != 200:
            raise GrafanaError(f"Grafana rejected the annotation: {response.status_code} {response.text[:500]}")
        return int(response.json().get("id", 0))


def grafana_client() -> Grafana | None:
    """The Grafana configured by IXNODE_GRAFANA_URL, IXNODE_GRAFANA_TOKEN and IXNODE_GRAFANA_TIMEOUT, or None when
    IXNODE_GRAFANA_URL is not
    set (dashboards are not pushed): the one way the product builds a Grafana client."""
    if not settings.IXNODE_GRAFANA_URL:
        return None
    return GrafanaClient(url=settings.IXNODE_GRAFANA_URL, token=settings.IXNODE_GRAFANA_TOKEN,
    timeout=settings.IXNODE_GRAFANA_TIMEOUT)
