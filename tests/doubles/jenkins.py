"""A Jenkins double: an HTTP server on 127.0.0.1 that speaks the parts of Jenkins' documented Remote Access API
the product uses, so python-jenkins runs its real code path against it.

Endpoints (https://www.jenkins.io/doc/book/using/remote-access-api/):

- ``GET /api/json`` (with ``X-Jenkins`` header), ``GET /me/api/json``
- ``GET /crumbIssuer/api/json`` → ``{"crumb", "crumbRequestField": "Jenkins-Crumb"}``; every POST needs the crumb
  header (else ``403 No valid crumb was included in the request``)
- HTTP basic auth with user + API token; missing/wrong credentials → ``401``
- ``POST /createItem?name=<job>`` with ``config.xml`` body (``400`` + ``X-Error`` when it exists or the XML is bad)
- ``GET|POST /job/<job>/config.xml``, ``POST /job/<job>/doDelete`` (``302`` to ``/``),
  ``GET /job/<job>/api/json`` (``?tree=name`` honoured for the name), ``404`` for unknown jobs
- ``POST /job/<job>/build|buildWithParameters`` → ``201`` + ``Location: <root>/queue/item/<id>/``
- ``GET /queue/item/<id>/api/json`` (``WaitingItem`` → ``LeftItem`` with ``executable.number/url``)
- ``POST /queue/cancelItem?id=<id>`` → ``204`` (the item is cancelled: ``cancelled: true``, no build), ``404``
  for an unknown id, ``422`` for an item that already left the queue (as Jenkins' ``Queue.doCancelItem``)
- ``GET /job/<job>/<n>/api/json`` (``building``, ``result``, ``ParametersAction``), ``/consoleText``,
  ``POST /job/<job>/<n>/stop`` (→ 302 to the build page, ``GET /job/<job>/<n>/``, as Jenkins does); builds carry
  ``queueId`` (the queue item they came from)

Builds run like the product's generated Pipeline: when the job's script has ``stage('…')`` steps and the build
has a ``CALLBACK_URL`` parameter, each stage POSTs ``{"stage", "build_url", "event_id"}`` to it with
``Authorization: Bearer <credential>`` (from ``credentials``); a non-2xx answer fails the build
(``FAILURE``), else ``SUCCESS``. ``hold_builds=True`` keeps builds running until ``finish_build()``.

Usage: ``pytest_plugins = ["tests.doubles.jenkins"]`` and the ``jenkins_double`` fixture.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit
from xml.etree import ElementTree as ET  # noqa: S405 - test double parsing the test's own XML

import pytest
import requests

CRUMB_FIELD = "Jenkins-Crumb"
JOB_NAME_RE = re.compile(r"^[^/\\:?*\"<>|]+$")
STAGE_RE = re.compile(r"""stage\(\s*['"]([^'"]+)['"]\s*\)""")


@dataclass
class Build:
    job: str
    number: int
    parameters: dict[str, str]
    queue_id: int
    timestamp: int = field(default_factory=lambda: int(time.time() * 1000))
    building: bool = True
    result: str | None = None
    duration: int = 0
    log: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    held: threading.Event = field(default_factory=threading.Event)


@dataclass
class QueueItem:
    id: int
    job: str
    parameters: dict[str, str]
    in_queue_since: int = field(default_factory=lambda: int(time.time() * 1000))
    build: Build | None = None
    cancelled: bool = False


@dataclass
class Job:
    name: str
    config_xml: str
    next_build_number: int = 1
    builds: list[Build] = field(default_factory=list)

    def stages(self) -> list[str]:
        try:
            root = ET.fromstring(self.config_xml)  # noqa: S314 - test double, our own XML
        except ET.ParseError:
            return []
        script = root.findtext(".//definition/script") or ""
        return STAGE_RE.findall(script)

    def parameter_defaults(self) -> dict[str, str]:
        try:
            root = ET.fromstring(self.config_xml)  # noqa: S314
        except ET.ParseError:
            return {}
        return {
            (p.findtext("name") or ""): (p.findtext("defaultValue") or "")
            for p in root.iter("hudson.model.StringParameterDefinition")
        }


class JenkinsDouble:
    """State of the fake Jenkins plus the HTTP server around it."""

    version = "2.440.3"

    def __init__(self, *, user: str = "ixnode", token: str | None = None, queue_delay: float = 0.05) -> None:
        self.user = user
        self.token = token or secrets.token_hex(16)
        self.crumb = secrets.token_hex(16)
        self.queue_delay = queue_delay
        self.hold_builds = False
        self.hold_queue = False
        self.hold_after_stage = ""
        self.queue_read_status: int | None = None
        self.credentials: dict[str, str] = {}
        self.jobs: dict[str, Job] = {}
        self.queue: dict[int, QueueItem] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.RLock()
        self._next_queue_id = 1
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self._thread = threading.Thread(target=self.server.serve_forever, name="jenkins-double", daemon=True)

    # --- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> JenkinsDouble:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- test helpers ---------------------------------------------------------------------------------
    def finish_build(self, job: str, number: int, result: str = "SUCCESS") -> None:
        with self.lock:
            build = self.jobs[job].builds[number - 1]
            self._finish(build, result)

    def wait_build(self, job: str, number: int, timeout: float = 10.0) -> Build:
        """Wait until build ``number`` of ``job`` has left the queue and finished."""
        deadline = time.monotonic() + timeout
        while len(self.jobs[job].builds) < number:
            if time.monotonic() > deadline:
                raise TimeoutError(f"build {job}#{number} never left the queue")
            time.sleep(0.01)
        build = self.jobs[job].builds[number - 1]
        if not build.done.wait(max(0.0, deadline - time.monotonic())):
            raise TimeoutError(f"build {job}#{number} still running after {timeout} s")
        return build

    def _finish(self, build: Build, result: str) -> None:
        if not build.building:
            return
        build.result = result
        build.building = False
        build.duration = int(time.time() * 1000) - build.timestamp
        build.log.append(f"Finished: {result}")
        build.done.set()

    # --- build execution ------------------------------------------------------------------------------
    def _enqueue(self, job: Job, parameters: dict[str, str]) -> QueueItem:
        with self.lock:
            item = QueueItem(id=self._next_queue_id, job=job.name, parameters=parameters)
            self._next_queue_id += 1
            self.queue[item.id] = item
        threading.Thread(target=self._run, args=(item,), daemon=True).start()
        return item

    def _run(self, item: QueueItem) -> None:
        time.sleep(self.queue_delay)
        while self.hold_queue and not item.cancelled:
            time.sleep(0.01)
        with self.lock:
            job = self.jobs.get(item.job)
            if job is None or item.cancelled:
                item.cancelled = True
                return
            build = Build(job=job.name, number=job.next_build_number, parameters=item.parameters, queue_id=item.id)
            job.next_build_number += 1
            job.builds.append(build)
            item.build = build
            stages = job.stages()
        build.log.append(f"Started by remote API; parameters {json.dumps(item.parameters, sort_keys=True)}")
        callback = item.parameters.get("CALLBACK_URL", "")
        token = next(iter(self.credentials.values()), "")
        if stages and callback:
            for stage in stages:
                if not build.building:
                    return
                build.log.append(f"[Pipeline] stage ({stage})")
                payload = {
                    "stage": stage,
                    "build_url": self.build_url(job.name, build.number),
                    "event_id": item.parameters.get("EVENT_ID", ""),
                }
                try:
                    response = requests.post(
                        callback, json=payload, headers={"Authorization": f"Bearer {token}"}, timeout=120
                    )
                except requests.RequestException as exc:
                    build.log.append(f"curl: {exc}")
                    with self.lock:
                        self._finish(build, "FAILURE")
                    return
                build.log.append(f"HTTP {response.status_code} {response.text[:500]}")
                if not 200 <= response.status_code < 300:
                    with self.lock:
                        self._finish(build, "FAILURE")
                    return
                if stage == self.hold_after_stage:  # an agent that hangs mid-pipeline: building until stopped
                    build.held.set()
                    return
        if not self.hold_builds:
            with self.lock:
                self._finish(build, "SUCCESS")

    def build_url(self, job: str, number: int) -> str:
        return f"{self.url}job/{quote(job)}/{number}/"

    # --- JSON views -----------------------------------------------------------------------------------
    def job_json(self, job: Job) -> dict[str, Any]:
        last = job.builds[-1] if job.builds else None
        builds = [
            {
                "_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
                "number": b.number,
                "url": self.build_url(job.name, b.number),
            }
            for b in reversed(job.builds)
        ]
        return {
            "_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
            "name": job.name,
            "fullName": job.name,
            "url": f"{self.url}job/{quote(job.name)}/",
            "buildable": True,
            "color": "notbuilt" if last is None else ("blue" if last.result == "SUCCESS" else "red"),
            "inQueue": any(q.job == job.name and q.build is None and not q.cancelled for q in self.queue.values()),
            "nextBuildNumber": job.next_build_number,
            "builds": builds,
            "lastBuild": builds[0] if builds else None,
            "property": [],
        }

    def build_json(self, build: Build) -> dict[str, Any]:
        return {
            "_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
            "number": build.number,
            "id": str(build.number),
            "url": self.build_url(build.job, build.number),
            "fullDisplayName": f"{build.job} #{build.number}",
            "building": build.building,
            "result": build.result,
            "timestamp": build.timestamp,
            "duration": build.duration,
            "queueId": build.queue_id,
            "actions": [
                {
                    "_class": "hudson.model.ParametersAction",
                    "parameters": [
                        {"_class": "hudson.model.StringParameterValue", "name": k, "value": v}
                        for k, v in build.parameters.items()
                    ],
                }
            ],
        }

    def queue_json(self, item: QueueItem) -> dict[str, Any]:
        task = {
            "_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
            "name": item.job,
            "url": f"{self.url}job/{quote(item.job)}/",
        }
        data: dict[str, Any] = {
            "id": item.id,
            "task": task,
            "inQueueSince": item.in_queue_since,
            "params": "".join(f"\n{k}={v}" for k, v in item.parameters.items()),
            "cancelled": item.cancelled,
            "blocked": False,
            "buildable": item.build is None and not item.cancelled,
            "stuck": False,
        }
        if item.build is not None:
            data["_class"] = "hudson.model.Queue$LeftItem"
            data["executable"] = {
                "_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
                "number": item.build.number,
                "url": self.build_url(item.job, item.build.number),
            }
            data["why"] = None
        elif item.cancelled:
            data["_class"] = "hudson.model.Queue$LeftItem"
            data["executable"] = None
        else:
            data["_class"] = "hudson.model.Queue$WaitingItem"
            data["why"] = "In the quiet period."
        return data

    # --- HTTP -----------------------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def _send(
                self,
                status: int,
                body: str | bytes = b"",
                ctype: str = "text/plain;charset=utf-8",
                headers: dict[str, str] | None = None,
            ) -> None:
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("X-Jenkins", double.version)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _json(self, data: Any, status: int = 200) -> None:
                self._send(status, json.dumps(data), "application/json;charset=utf-8")

            def _body(self) -> bytes:
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _authorised(self) -> bool:
                header = self.headers.get("Authorization", "")
                if not header.startswith("Basic "):
                    return False
                try:
                    user, _, token = base64.b64decode(header[6:]).decode().partition(":")
                except (ValueError, UnicodeDecodeError):
                    return False
                return user == double.user and secrets.compare_digest(token, double.token)

            def _unauthorised(self) -> None:
                self._send(
                    401, "Invalid password/token for user", headers={"WWW-Authenticate": 'Basic realm="Jenkins"'}
                )

            def do_GET(self) -> None:  # noqa: N802
                self._dispatch("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._dispatch("POST")

            def _dispatch(self, method: str) -> None:
                parts = urlsplit(self.path)
                path, query = unquote(parts.path), parse_qs(parts.query)
                body = self._body() if method == "POST" else b""
                with double.lock:
                    double.requests.append((method, self.path))
                if not self._authorised():
                    self._unauthorised()
                    return
                if method == "POST" and self.headers.get(CRUMB_FIELD) != double.crumb:
                    self._send(403, "No valid crumb was included in the request")
                    return
                with double.lock:
                    self._route(method, path, query, body)

            def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> None:
                if method == "GET" and path in ("/", "/api/json"):
                    self._json(
                        {
                            "_class": "hudson.model.Hudson",
                            "mode": "NORMAL",
                            "nodeDescription": "double",
                            "useCrumbs": True,
                            "useSecurity": True,
                            "url": double.url,
                            "jobs": [
                                {
                                    "name": j.name,
                                    "url": f"{double.url}job/{quote(j.name)}/",
                                    "color": double.job_json(j)["color"],
                                }
                                for j in double.jobs.values()
                            ],
                        }
                    )
                    return
                if method == "GET" and path == "/me/api/json":
                    self._json({"_class": "hudson.model.User", "id": double.user, "fullName": double.user})
                    return
                if method == "GET" and path == "/crumbIssuer/api/json":
                    self._json(
                        {
                            "_class": "hudson.security.csrf.DefaultCrumbIssuer",
                            "crumb": double.crumb,
                            "crumbRequestField": CRUMB_FIELD,
                        }
                    )
                    return
                if method == "POST" and path == "/createItem":
                    self._create(query, body)
                    return
                if method == "POST" and path == "/queue/cancelItem":
                    ids = query.get("id") or [""]
                    item = double.queue.get(int(ids[0])) if ids[0].isdigit() else None
                    if item is None:
                        self._send(404, f"Provided id ({ids[0]}) not found")
                    elif item.build is not None:
                        self._send(422, f"Item for id ({item.id}) is not cancellable")
                    else:
                        item.cancelled = True
                        self._send(204)
                    return
                match = re.match(r"^/queue/item/(\d+)/api/json$", path)
                if match and method == "GET" and double.queue_read_status:
                    self._send(double.queue_read_status, "Server Error")
                    return
                if match and method == "GET":
                    item = double.queue.get(int(match.group(1)))
                    if item is None:
                        self._send(404, "Not found")
                    else:
                        self._json(double.queue_json(item))
                    return
                match = re.match(r"^/job/([^/]+)(/.*)?$", path)
                if not match:
                    self._send(404, "Not found")
                    return
                job = double.jobs.get(match.group(1))
                rest = (match.group(2) or "/").rstrip("/") or "/"
                if job is None:
                    self._send(404, "Not found")
                    return
                self._job(method, job, rest, query, body)

            def _create(self, query: dict[str, list[str]], body: bytes) -> None:
                name = (query.get("name") or [""])[0]
                if not name or not JOB_NAME_RE.match(name):
                    self._send(400, "Bad job name", headers={"X-Error": f"'{name}' is an unsafe character"})
                    return
                if name in double.jobs:
                    self._send(400, "", headers={"X-Error": f"A job already exists with the name '{name}'"})
                    return
                try:
                    ET.fromstring(body)  # noqa: S314
                except ET.ParseError as exc:
                    self._send(500, f"Failed to persist config.xml: {exc}")
                    return
                double.jobs[name] = Job(name=name, config_xml=body.decode())
                self._send(200)

            def _job(self, method: str, job: Job, rest: str, query: dict[str, list[str]], body: bytes) -> None:
                if rest == "/config.xml":
                    if method == "GET":
                        self._send(200, job.config_xml, "application/xml")
                        return
                    try:
                        ET.fromstring(body)  # noqa: S314
                    except ET.ParseError as exc:
                        self._send(500, f"Failed to persist config.xml: {exc}")
                        return
                    job.config_xml = body.decode()
                    self._send(200)
                    return
                if rest == "/doDelete" and method == "POST":
                    del double.jobs[job.name]
                    self._send(302, headers={"Location": double.url})
                    return
                if rest == "/api/json" and method == "GET":
                    data = double.job_json(job)
                    if (query.get("tree") or [""])[0] == "name":
                        data = {"_class": data["_class"], "name": job.name}
                    self._json(data)
                    return
                if rest in ("/build", "/buildWithParameters") and method == "POST":
                    params = job.parameter_defaults()
                    params.update({k: v[-1] for k, v in query.items() if k not in ("token", "delay")})
                    if body and "urlencoded" in (self.headers.get("Content-Type") or ""):
                        params.update({k: v[-1] for k, v in parse_qs(body.decode()).items()})
                    item = double._enqueue(job, params)
                    self._send(201, headers={"Location": f"{double.url}queue/item/{item.id}/"})
                    return
                match = re.match(r"^/(\d+)(/.*)?$", rest)
                if match:
                    number = int(match.group(1))
                    if not 1 <= number <= len(job.builds):
                        self._send(404, "Not found")
                        return
                    build = job.builds[number - 1]
                    sub = match.group(2) or "/"
                    if sub == "/api/json" and method == "GET":
                        self._json(double.build_json(build))
                    elif sub == "/consoleText" and method == "GET":
                        self._send(200, "\n".join(build.log) + "\n")
                    elif sub == "/stop" and method == "POST":
                        double._finish(build, "ABORTED")
                        self._send(302, headers={"Location": double.build_url(job.name, number)})
                    elif sub == "/" and method == "GET":  # the build's HTML page (where /stop redirects to)
                        self._send(200, f"<html><title>{job.name} #{number}</title></html>")
                    else:
                        self._send(404, "Not found")
                    return
                self._send(404, "Not found")

        return Handler


@pytest.fixture
def jenkins_double(settings):
    """A running Jenkins double; Django settings point IXNODE_JENKINS_URL/USER/TOKEN at it."""
    double = JenkinsDouble().start()
    settings.IXNODE_JENKINS_URL = double.url.rstrip("/")
    settings.IXNODE_JENKINS_USER = double.user
    settings.IXNODE_JENKINS_TOKEN = double.token
    try:
        yield double
    finally:
        double.stop()
