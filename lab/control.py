"""The lab's control endpoint on 127.0.0.1 (bearer token from var/lab/control-token, mode 600):

- ``GET /status``: the load, the F5 pool's members, the guests with their requests and CPU, the events seen;
- ``POST /load`` ``{"rps": 26}`` sets a fixed load, ``{"rps": null}`` goes back to the profile;
- ``POST /netplan-applied`` ``{"server_ip", "netplan"}``: called by ``lab/netplan_apply.py`` on a VM.
"""

from __future__ import annotations

import hmac
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Handler = Callable[[dict], tuple[int, dict]]


class ControlServer:
    def __init__(self, token: str, routes: dict[tuple[str, str], Handler]) -> None:
        self.token = token
        self.routes = routes
        control = self

        class RequestHandler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body, indent=1).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _dispatch(self, method: str) -> None:
                given = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
                if not hmac.compare_digest(given.encode(), control.token.encode()):
                    self._answer(401, {"error": "Authorization: Bearer <var/lab/control-token> required"})
                    return
                route = control.routes.get((method, self.path.split("?")[0]))
                if route is None:
                    self._answer(404, {"error": f"no route {method} {self.path}"})
                    return
                body: Any = {}
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    try:
                        body = json.loads(self.rfile.read(length))
                    except ValueError:
                        self._answer(400, {"error": "the body must be JSON"})
                        return
                if not isinstance(body, dict):
                    self._answer(400, {"error": "the body must be a JSON object"})
                    return
                status, answer = route(body)
                self._answer(status, answer)

            def do_GET(self) -> None:  # noqa: N802
                self._dispatch("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._dispatch("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, args=(0.2,), name="lab-control", daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
