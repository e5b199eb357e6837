"""The database going away mid-traffic (``pg_ctl stop -m immediate`` of a throwaway PostgreSQL cluster of the test's
own): the webhook answers 503 + Retry-After (JSON), the API JSON 503, pages a plain 503 page, /healthz 503 — never a
500 or a traceback — nothing is half-written, and decisions resume once the database is back.

The product runs as in production: gunicorn (gthread) in a subprocess with ``DATABASE_URL`` on the cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import requests

from tests.fixtures.postgres_cluster import free_port

pytest_plugins = ["tests.fixtures.prometheus", "tests.fixtures.postgres_cluster"]
pytestmark = pytest.mark.slow  # a PostgreSQL cluster, gunicorn and Prometheus of its own

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
TOKEN = "db-down-webhook-token"
SERVICE = "dbdown"
PASSWORD = "pw-dbdown-123456"
SEED = """
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from templates_app.models import Template
from autoscaling.models import AutoscalingConfig
template = Template.objects.create(name="dbdown-template")
AutoscalingConfig.objects.create(
    service_name="{service}", prometheus_job_name="{job}", template=template, vm_prefix="{service}", min_vms=1,
    max_vms=10, ip_pool_start="127.0.61.10", ip_pool_end="127.0.61.40", gateway="127.0.61.1",
    subnet_cidr="127.0.61.0/24", f5_pool_name="{service}", f5_vip_address="127.0.61.200", enabled=True,
    cooldown_seconds=0)
user = User.objects.create_superuser("dbdown", "dbdown@example.invalid", "{password}")
print(Token.objects.create(user=user).key)
"""


@dataclass
class Answer:
    kind: str
    started: float
    ended: float
    status: int | None
    headers: dict = field(default_factory=dict)
    text: str = ""
    error: str = ""


def _alert_body(n: int) -> str:
    return json.dumps({
        "version": "4", "groupKey": "dbdown", "status": "firing", "receiver": "dbdown", "groupLabels": {},
        "commonLabels": {}, "commonAnnotations": {}, "externalURL": "", "truncatedAlerts": 0,
        "alerts": [{"status": "firing", "labels": {"alertname": "DbDownHighCpu", "autoscale": "scale-out",
                                                   "n": str(n)},
                    "annotations": {}, "startsAt": f"2025-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}Z",
                    "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": f"{n:016x}"}],
    })


class Traffic:
    """Client threads cycling over the webhook, the API, a page and /healthz, recording every answer."""

    def __init__(self, base: str, token: str, page_session: requests.Session) -> None:
        self.base = base
        self.token = token
        self.page_session = page_session
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._counter = 0
        self._threads: list[threading.Thread] = []

    def _next(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def _one(self, session: requests.Session, kind: str) -> Answer:
        started = time.monotonic()
        try:
            if kind == "webhook":
                response = session.post(f"{self.base}/api/webhook/autoscale/{SERVICE}", data=_alert_body(self._next()),
                                        headers={"Authorization": f"Bearer {TOKEN}",
                                                 "Content-Type": "application/json"}, timeout=30)
            elif kind == "api":
                response = session.get(f"{self.base}/api/autoscaling/configs/",
                                       headers={"Authorization": f"Token {self.token}"}, timeout=30)
            elif kind == "page":
                response = self.page_session.get(f"{self.base}/services/{SERVICE}/", timeout=30,
                                                 allow_redirects=False)
            else:
                response = session.get(f"{self.base}/healthz", timeout=30)
        except requests.RequestException as exc:
            return Answer(kind, started, time.monotonic(), None, error=repr(exc))
        return Answer(kind, started, time.monotonic(), response.status_code, dict(response.headers), response.text)

    def _loop(self, kinds: list[str]) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            for kind in kinds:
                answer = self._one(session, kind)
                with self._lock:
                    self.answers.append(answer)
            time.sleep(0.02)

    def start(self) -> None:
        for kinds in (["webhook"], ["webhook", "api"], ["page", "healthz"]):
            thread = threading.Thread(target=self._loop, args=(kinds,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)


def _wait_healthy(base: str, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError("gunicorn did not come up: " + log.read_text()[-3000:])


def _login(base: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base}/accounts/login/", timeout=10)
    response = session.post(f"{base}/accounts/login/", timeout=10, allow_redirects=False, data={
        "username": "dbdown", "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{base}/accounts/login/"})
    assert response.status_code == 302, response.text[:500]
    assert session.get(f"{base}/services/{SERVICE}/", timeout=10).status_code == 200
    return session


def test_database_down_mid_traffic_only_503_with_retry_after_then_resumes(postgres_cluster, prometheus_server,
                                                                         tmp_path):
    url = postgres_cluster.create_database("ixnode")
    job = prometheus_server.job_with_count(2)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ixnode.settings", "SECRET_KEY": "db-down-test-secret-key",
           "IXNODE_ENV_FILE": "", "DATABASE_URL": url, "IXNODE_DB_CONN_MAX_AGE": "60", "IXNODE_WEBHOOK_TOKEN": TOKEN,
           "IXNODE_PROMETHEUS_URL": prometheus_server.url, "IXNODE_VAR_DIR": str(tmp_path / "var"),
           "IXNODE_LOG_LEVEL": "WARNING",
           "IXNODE_Q_SYNC": "0", "IXNODE_PLG_MODE": "off", "DEBUG": "0"}
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=300)
    seeded = subprocess.run([PY, "manage.py", "shell", "-c", SEED.format(service=SERVICE, job=job, password=PASSWORD)],
                            cwd=ROOT, env=env, check=True, timeout=120, capture_output=True, text=True)
    token = seeded.stdout.strip().splitlines()[-1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "gunicorn.log"
    with open(log, "w") as log_file:
        server = subprocess.Popen(
            [str(Path(PY).parent / "gunicorn"), "ixnode.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--threads", "4", "--worker-class", "gthread", "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(base, log)
        traffic = Traffic(base, token, _login(base))
        traffic.start()
        time.sleep(1.5)
        healthy_until = time.monotonic()
        postgres_cluster.stop("immediate")
        down_from = time.monotonic()
        time.sleep(3)
        down_until = time.monotonic()
        postgres_cluster.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until every kind answered 200 again after the restart
            recovered = {a.kind for a in list(traffic.answers) if a.started > down_until and a.status == 200}
            if recovered >= {"webhook", "api", "page", "healthz"}:
                break
            time.sleep(0.2)
        recovered_at = time.monotonic()
        time.sleep(2)
        traffic.stop()
    finally:
        server.terminate()
        server.wait(30)

    answers = traffic.answers
    server_log = log.read_text()
    histogram: dict[tuple[str, int | None], int] = {}
    for answer in answers:
        histogram[answer.kind, answer.status] = histogram.get((answer.kind, answer.status), 0) + 1
    print("\nanswers by (kind, status):", dict(sorted(histogram.items(), key=str)),
          "tracebacks in the server log:", server_log.count("Traceback"))
    assert not [a for a in answers if a.error], [a.error for a in answers if a.error][:5]
    assert not [a for a in answers if a.status is not None and a.status >= 500 and a.status != 503], \
        [(a.kind, a.status, a.text[:300]) for a in answers if a.status and a.status >= 500 and a.status != 503][:5]
    unavailable = [a for a in answers if a.status == 503]
    for answer in unavailable:
        assert answer.headers.get("Retry-After", "").isdigit(), (answer.kind, answer.headers)
        assert "Traceback" not in answer.text
        if answer.kind == "page":
            assert answer.headers["Content-Type"].startswith("text/html"), answer.headers
        else:
            assert answer.headers["Content-Type"] == "application/json", (answer.kind, answer.headers)
            assert json.loads(answer.text).get("detail") or answer.kind == "healthz"
    while_down = [a for a in answers if a.started > down_from and a.ended < down_until]
    assert {a.kind for a in while_down} == {"webhook", "api", "page", "healthz"}, len(while_down)
    assert {a.status for a in while_down} == {503}, [(a.kind, a.status) for a in while_down if a.status != 503][:5]
    before = [a for a in answers if a.ended < healthy_until]
    after = [a for a in answers if a.started > recovered_at]  # every kind answered 200 again: reconnected
    assert before and {a.status for a in before} == {200}
    assert after and {a.status for a in after} == {200}, [(a.kind, a.status, a.text[:200]) for a in after
                                                          if a.status != 200][:5]
    assert "Traceback" not in server_log, server_log[-3000:]

    # Nothing half-written: the events in the database are exactly the decisions answered 200.
    answered = {d["event_id"] for a in answers if a.kind == "webhook" and a.status == 200
                for d in json.loads(a.text)["decisions"]}
    with psycopg.connect(url) as conn:
        stored = {row[0] for row in conn.execute("SELECT id FROM events_scaleevent")}
    assert stored == answered, (sorted(stored - answered), sorted(answered - stored))
    resumed = [a for a in after if a.kind == "webhook"]
    assert resumed and all(json.loads(a.text)["decisions"] for a in resumed)
    print(f"\n{len(answers)} answers: {len(before)} before (200), {len(while_down)} while down (503), "
          f"{len(unavailable)} × 503 in all, {len(after)} after (200); {len(stored)} events stored")
