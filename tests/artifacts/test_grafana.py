"""Grafana push: the client sends the documented dashboard API calls (recorded by a loopback HTTP server)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from artifacts.services import artifacts_regenerate
from autoscaling.choices import ArtifactStatus
from ixnode.integrations.grafana.client import GrafanaClient, GrafanaError

pytest_plugins = ["tests.fixtures.plg"]


class Recorder(BaseHTTPRequestHandler):
    calls: list = []
    dashboards: dict = {}

    def log_message(self, *args):
        return

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Recorder.calls.append(("POST", self.path, self.headers.get("Authorization"), body))
        if self.headers.get("Authorization") != "Bearer glsa_test":
            self._answer(401, {"message": "invalid API key"})
        elif self.path == "/api/dashboards/db":
            uid = body["dashboard"]["uid"]
            version = Recorder.dashboards.get(uid, 0) + 1
            Recorder.dashboards[uid] = version
            self._answer(200, {"id": 1, "uid": uid, "url": f"/d/{uid}", "status": "success", "version": version})
        else:
            self._answer(404, {"message": "not found"})

    def do_DELETE(self):  # noqa: N802
        Recorder.calls.append(("DELETE", self.path, self.headers.get("Authorization"), None))
        uid = self.path.rsplit("/", 1)[-1]
        if Recorder.dashboards.pop(uid, None) is None:
            self._answer(404, {"message": "Dashboard not found"})
        else:
            self._answer(200, {"title": uid, "message": "Dashboard deleted", "id": 1})


@pytest.fixture
def grafana(settings):
    Recorder.calls, Recorder.dashboards = [], {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.IXNODE_GRAFANA_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.IXNODE_GRAFANA_TOKEN = "glsa_test"
    yield settings.IXNODE_GRAFANA_URL
    server.shutdown()
    server.server_close()


def test_regeneration_pushes_and_removes_the_dashboard(db, plg_files, grafana, config, settings):
    settings.IXNODE_GRAFANA_URL = grafana
    settings.IXNODE_GRAFANA_TOKEN = "glsa_test"
    settings.IXNODE_GRAFANA_FOLDER_UID = "ixnode"
    outcome = artifacts_regenerate(service_name=config.service_name, config_id=config.pk)
    assert outcome.status == ArtifactStatus.ACTIVE, outcome.error
    method, path, auth, body = Recorder.calls[0]
    assert (method, path, auth) == ("POST", "/api/dashboards/db", "Bearer glsa_test")
    assert body["overwrite"] is True and body["folderUid"] == "ixnode"
    assert body["dashboard"]["uid"] == "ixnode-auto-vm-test" and body["dashboard"]["id"] is None
    assert "version 1" in outcome.grafana
    config.enabled = False
    config.save()
    outcome = artifacts_regenerate(service_name=config.service_name, config_id=config.pk)
    assert Recorder.calls[-1][:2] == ("DELETE", "/api/dashboards/uid/ixnode-auto-vm-test")
    assert outcome.grafana == "dashboard deleted"


def test_bad_token_and_unreachable_are_clear_errors(grafana):
    with pytest.raises(GrafanaError, match="IXNODE_GRAFANA_TOKEN"):
        GrafanaClient(url=grafana, token="wrong").dashboard_push(dashboard={"uid": "x"})
    with pytest.raises(GrafanaError, match="IXNODE_GRAFANA_URL"):
        GrafanaClient(url="http://127.0.0.1:9", token="t", timeout=2).dashboard_delete(uid="x")
