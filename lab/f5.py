"""The F5 BIG-IP: the iControl REST double of the tests (``tests/doubles/f5.py``) as a real HTTPS server, with the
service's pool (the operator's, holding the base VMs), and a small data plane on the VIP.

The VIP (``vip:app_port``) is an HTTP proxy: each request goes to the next member, round robin, of the members
the double's pool holds right now and that take new connections (not ``user-disabled``, not ``user-down``). A
member that refuses the connection is skipped for a few seconds, as a monitor would mark it down. While a
request is in flight the member's ``serverside.curConns`` shows it, so the pipeline's drain waits for real
connections. A VM the pipeline failed to add to the pool gets no load: its CPU does not move.
"""

from __future__ import annotations

import http.client
import itertools
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lab.config import LabConfig
from tests.doubles.f5 import F5Double

MARK_DOWN_SECONDS = 5.0


class Bigip:
    def __init__(self, lab: LabConfig) -> None:
        self.lab = lab
        workdir = lab.var / "f5"
        workdir.mkdir(parents=True, exist_ok=True)
        self.double = F5Double(workdir=workdir)
        self.vip: Vip | None = None

    def start(self) -> None:
        self.double.start()
        self.double.add_pool(self.lab.pool_name)
        for address in self.lab.base_addresses:
            self.double.add_member(self.lab.pool_name, address, self.lab.app_port)
        self.vip = Vip(self)
        self.vip.start()

    def stop(self) -> None:
        if self.vip is not None:
            self.vip.stop()
        self.double.stop()

    def product_env(self) -> dict[str, str]:
        return {
            "IXNODE_F5_HOST": self.double.device,
            "IXNODE_F5_USER": self.double.username,
            "IXNODE_F5_PASSWORD": self.double.password,
            "IXNODE_F5_VERIFY_TLS": str(self.double.cert_path),
            "IXNODE_F5_PARTITION": "Common",
            "IXNODE_F5_DRAIN_TIMEOUT": "20",
            "IXNODE_F5_DRAIN_POLL_INTERVAL": "0.5",
        }

    def members(self) -> list[dict]:
        """The pool's members as the double holds them (address, port, session, state)."""
        pool = f"/Common/{self.lab.pool_name}"
        with self.double.lock:
            return [dict(m) for m in self.double.state.members.get(pool, {}).values()]

    def trim_log(self) -> None:
        """The double keeps every request for contract tests; the lab runs for hours."""
        with self.double.lock:
            self.double.requests.clear()

    def set_connections(self, address: str, port: int, count: int) -> None:
        self.double.set_connections(self.lab.pool_name, address, port, count)


class Vip:
    """The data plane: an HTTP proxy on the VIP that spreads requests over the pool's active members."""

    def __init__(self, bigip: Bigip) -> None:
        self.bigip = bigip
        self.lab = bigip.lab
        self._turn = itertools.count()
        self._down: dict[str, float] = {}
        self._inflight: dict[str, int] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        self.served: dict[str, int] = {}
        self.failed = 0
        self.server: ThreadingHTTPServer | None = None

    def active(self) -> list[str]:
        now = time.monotonic()
        return sorted(
            m["address"] for m in self.bigip.members()
            if m["session"] != "user-disabled" and m["state"] in ("up", "unchecked")
            and self._down.get(m["address"], 0) < now
        )

    def _pick(self) -> str | None:
        members = self.active()
        if not members:
            return None
        return members[next(self._turn) % len(members)]

    def _connection(self, address: str) -> http.client.HTTPConnection:
        pool = getattr(self._local, "connections", None)
        if pool is None:
            pool = self._local.connections = {}
        connection = pool.get(address)
        if connection is None:
            connection = pool[address] = http.client.HTTPConnection(address, self.lab.app_port, timeout=5)
        return connection

    def _drop(self, address: str) -> None:
        connection = self._local.connections.pop(address, None)
        if connection is not None:
            connection.close()

    def forward(self, path: str) -> tuple[int, bytes]:
        for _attempt in range(3):
            address = self._pick()
            if address is None:
                return 503, b"no active pool member\n"
            self._track(address, +1)
            try:
                connection = self._connection(address)
                connection.request("GET", path)
                response = connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException):
                self._drop(address)
                with self._lock:
                    self._down[address] = time.monotonic() + MARK_DOWN_SECONDS
                continue
            finally:
                self._track(address, -1)
            with self._lock:
                self.served[address] = self.served.get(address, 0) + 1
            return response.status, body
        with self._lock:
            self.failed += 1
        return 502, b"pool members did not answer\n"

    def _track(self, address: str, delta: int) -> None:
        with self._lock:
            count = self._inflight[address] = max(0, self._inflight.get(address, 0) + delta)
        self.bigip.set_connections(address, self.lab.app_port, count)

    def start(self) -> None:
        vip = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "BigIP"
            sys_version = ""

            def log_message(self, *args: object) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802
                status, body = vip.forward(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer((self.lab.vip, self.lab.app_port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.2,), name="lab-vip", daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
