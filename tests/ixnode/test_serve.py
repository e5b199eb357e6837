"""``manage.py serve`` (``make run``) refuses a port already in use with a message naming another one, before it
touches the database. Starting, the summary and Ctrl-C → exit 0 are tested from a fresh clone in
tests/docs/test_readme_commands.py."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_port_in_use_is_refused_with_the_fix(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "IXNODE_ENV_FILE": "", "PORT": str(port),
               "IXNODE_VAR_DIR": str(tmp_path / "var"), "DJANGO_SETTINGS_MODULE": "ixnode.settings"}
        result = subprocess.run([sys.executable, "manage.py", "serve"], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=60)
    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert f"PORT={port + 100} make run" in result.stderr
    assert not (tmp_path / "var" / "ixnode.sqlite3").exists()  # refused before migrate
