"""``make run``: prepare the database, then run the web server and the django-q2 worker in the foreground.

Steps: migrate, collect static files, compile the translations, ensure the admin user, ensure the schedules;
then gunicorn on ``127.0.0.1:$PORT`` and ``manage.py qcluster``, each in its own session, and once the web
server answers ``/healthz`` the setup summary (``manage.py setup_summary``: URL, login, integrations, what is
off and how to turn it on). Ctrl-C (SIGINT), SIGTERM or SIGHUP stop both children and the command exits 0;
a child that dies on its own stops the other and the command exits 1.

When started in the foreground of a terminal the command takes the terminal's foreground process group for
itself (as a shell does for a job): Ctrl-C then reaches this command only, not ``make`` above it, so
``make run`` ends with the command's own exit status (0) instead of dying of the signal.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ixnode.management.base import OperatorCommand
from ixnode.terminal import TerminalForeground

HEALTH_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0
# sun_path of a Unix socket holds 108 bytes on Linux (104 on the BSDs).
UNIX_SOCKET_PATH_MAX = 100


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


class Command(OperatorCommand):
    help = gettext_noop(
        "make run: migrate, ensure the admin user and schedules, then run the web server (gunicorn on "
        "127.0.0.1:$PORT) and the django-q2 worker in the foreground and print the setup summary; Ctrl-C stops both."
    )

    password_generated = False  # the admin user was created by this start, with a generated password

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-summary", action="store_true", help=_("Do not print the setup summary."))

    def handle(self, *args: Any, **options: Any) -> None:
        port = settings.PORT  # $PORT (environment or .env): IXNODE_PUBLIC_URL follows the same value
        if not 0 < port < 65536:
            raise CommandError(_("PORT must be between 1 and 65535, got %(port)s.") % {"port": port})
        if port_in_use("127.0.0.1", port):
            raise CommandError(
                _("Port %(port)s on 127.0.0.1 is already in use (another `make run`?). Stop it or choose another "
                  "port, e.g. PORT=%(other)s make run.") % {"port": port, "other": port + 100}
            )
        var_dir = Path(settings.VAR_DIR)
        var_dir.mkdir(parents=True, exist_ok=True)
        self.prepare()

        env = dict(os.environ)
        env["DJANGO_SETTINGS_MODULE"] = os.environ.get("DJANGO_SETTINGS_MODULE", "ixnode.settings")
        env["PORT"] = str(port)
        # /metrics merges every gunicorn worker's (and the worker cluster's) metrics from this directory.
        metrics_dir = Path(env.get("PROMETHEUS_MULTIPROC_DIR") or var_dir / "metrics")
        metrics_dir.mkdir(parents=True, exist_ok=True)
        for stale in metrics_dir.glob("*.db"):
            stale.unlink()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)

        manage = str(Path(settings.BASE_DIR) / "manage.py")
        with TerminalForeground():
            self.supervise(
                [
                    (_("worker"), [sys.executable, manage, "qcluster"]),
                    (_("web server"), [sys.executable, "-m", "gunicorn", *self.gunicorn_args(port, var_dir)]),
                ],
                env=env,
                port=port,
                summary=not options["no_summary"],
            )

    # --- steps before the servers start --------------------------------------------------------------------

    def prepare(self) -> None:
        call_command("migrate", interactive=False, verbosity=1)
        call_command("collectstatic", interactive=False, verbosity=0)
        try:
            with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
                call_command("compilemessages", verbosity=0)
        except CommandError:
            pass  # gettext's msgfmt missing: the committed .mo files are used as they are
        username = os.environ.get("IXNODE_ADMIN_USER", "admin").strip()
        existed = get_user_model().objects.filter(username=username).exists()
        call_command("ensure_admin")
        # A password generated now was printed once, above the servers' start-up lines: the summary points there.
        self.password_generated = not existed and not os.environ.get("IXNODE_ADMIN_PASSWORD")
        call_command("ensure_schedules")  # pipeline reconcile schedule; rolls back runs left by a dead worker
        connections.close_all()

    @staticmethod
    def gunicorn_args(port: int, var_dir: Path) -> list[str]:
        args = [
            "ixnode.wsgi:application",
            "--bind", f"127.0.0.1:{port}",
            "--workers", os.environ.get("WEB_CONCURRENCY", "2"),
            "--threads", os.environ.get("GUNICORN_THREADS", "4"),
            "--access-logfile", "-",
        ]
        control = var_dir / "gunicorn.ctl"  # gunicorn's control socket: with the rest of our files, not in ~/
        if len(str(control)) <= UNIX_SOCKET_PATH_MAX:
            args += ["--control-socket", str(control)]
        else:
            args += ["--no-control-socket"]
        return args

    # --- the foreground loop -------------------------------------------------------------------------------

    def supervise(self, commands: list[tuple[str, list[str]]], *, env: dict[str, str], port: int,
                  summary: bool) -> None:
        stop_signal: list[int] = []

        def on_signal(signum: int, _frame: object) -> None:
            stop_signal.append(signum)

        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, on_signal)

        children: list[tuple[str, subprocess.Popen]] = []
        failed = ""
        try:
            for name, argv in commands:
                # Own session: a Ctrl-C reaches only this command, which then stops each child once.
                children.append((name, subprocess.Popen(argv, env=env, start_new_session=True)))
            url = f"http://127.0.0.1:{port}"
            self.stdout.write(_("IXNode Autoscaling starting on %(url)s/ — Ctrl-C stops it") % {"url": url})
            ready = False
            started = time.monotonic()
            while not stop_signal:
                dead = [(name, child) for name, child in children if child.poll() is not None]
                if dead:
                    name, child = dead[0]
                    failed = _("The %(name)s exited with status %(status)s; stopping.") % {
                        "name": name, "status": child.returncode}
                    break
                if not ready and self.healthy(url):
                    ready = True
                    if summary:
                        self.print_summary()
                elif not ready and time.monotonic() - started > HEALTH_TIMEOUT:
                    failed = _("The web server did not answer %(url)s/healthz within %(seconds)d s; stopping.") % {
                        "url": url, "seconds": HEALTH_TIMEOUT}
                    break
                time.sleep(0.2)
        finally:
            if failed:
                self.stderr.write(failed)
            self.stdout.write(_("Stopping the web server and the worker…"))
            self.stop(children)
            self.stdout.write(_("Stopped."))
        if failed:
            sys.exit(1)

    @staticmethod
    def healthy(url: str) -> bool:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310 (our own server)
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def print_summary(self) -> None:
        try:
            call_command("setup_summary", stdout=self.stdout,
                         password_printed_above=self.password_generated)
        except Exception as exc:  # noqa: BLE001 - the summary must never stop a running server
            self.stderr.write(_("Could not print the setup summary: %(error)s") % {"error": exc})

    @staticmethod
    def stop(children: list[tuple[str, subprocess.Popen]]) -> None:
        for _name, child in children:
            if child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for _name, child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.wait(timeout=5)
