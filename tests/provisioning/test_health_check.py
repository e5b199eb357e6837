"""Health check against a local HTTP server whose answers the test controls."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from provisioning.health import HealthCheckFailed, health_url, health_wait


class ScriptedServer:
    """Answers GETs with the next status of ``script`` (the last one repeats); records the paths asked."""

    def __init__(self, script: list[int], delay: float = 0.0) -> None:
        self.script = list(script)
        self.delay = delay
        self.paths: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's API
                owner.paths.append(self.path)
                status = owner.script.pop(0) if len(owner.script) > 1 else owner.script[0]
                if owner.delay:
                    time.sleep(owner.delay)
                body = b"ok" if status < 300 else b"not yet"
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def checked_config(config):
    config.f5_health_check_path = "/health?deep=1"
    return config


@pytest.mark.django_db
def test_waits_until_2xx(checked_config):
    with ScriptedServer([503, 503, 200]) as server:
        checked_config.f5_vip_port = server.port
        lines: list[str] = []
        result = health_wait(config=checked_config, ip="127.0.0.1", timeout=5, interval=0.05, log=lines.append)
    assert result.status == 200 and result.attempts == 3
    assert server.paths == ["/health?deep=1"] * 3
    assert result.url == f"http://127.0.0.1:{server.port}/health?deep=1"
    assert "answered 200 after 3 attempt(s)" in lines[0]


@pytest.mark.django_db
def test_never_healthy_times_out_with_the_last_answer(checked_config):
    with ScriptedServer([500]) as server:
        checked_config.f5_vip_port = server.port
        with pytest.raises(HealthCheckFailed, match=r"within 0.3s .*last: HTTP 500") as info:
            health_wait(config=checked_config, ip="127.0.0.1", timeout=0.3, interval=0.05)
    assert info.value.attempts >= 2


@pytest.mark.django_db
def test_redirect_is_not_healthy(checked_config):
    with ScriptedServer([302]) as server:
        checked_config.f5_vip_port = server.port
        with pytest.raises(HealthCheckFailed, match="HTTP 302"):
            health_wait(config=checked_config, ip="127.0.0.1", timeout=0.2, interval=0.05)
    assert "/elsewhere" not in server.paths


@pytest.mark.django_db
def test_slow_answers_count_as_failures(checked_config):
    with ScriptedServer([200], delay=0.5) as server:
        checked_config.f5_vip_port = server.port
        with pytest.raises(HealthCheckFailed, match="no answer within 0.1s"):
            health_wait(config=checked_config, ip="127.0.0.1", timeout=0.4, interval=0.05, request_timeout=0.1)


@pytest.mark.django_db
def test_nothing_listening(checked_config, settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        checked_config.f5_vip_port = sock.getsockname()[1]
    settings.IXNODE_HEALTH_TIMEOUT = 0.2
    settings.IXNODE_HEALTH_INTERVAL = 0.05
    with pytest.raises(HealthCheckFailed, match="Connection refused"):
        health_wait(config=checked_config, ip="127.0.0.1")


@pytest.mark.django_db
def test_health_url_brackets_ipv6(checked_config):
    checked_config.f5_vip_port = 8080
    assert health_url(config=checked_config, ip="::1") == "http://[::1]:8080/health?deep=1"
