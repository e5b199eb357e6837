"""Secure defaults: var/ 700 and the SQLite database with its -wal/-shm 600 whatever the umask; /api/schema/ and
/api/docs/ need a signed-in user unless IXNODE_API_SCHEMA_PUBLIC; the password-reset pages only with e-mail."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

ROOT = Path(__file__).resolve().parents[2]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _manage(var: Path, *args: str, **extra: str | None) -> subprocess.CompletedProcess:
    """``manage.py`` on the embedded SQLite default in ``var``, umask 022; ``extra`` None unsets a variable."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ixnode.settings", "SECRET_KEY": "secure-defaults-test-key",
           "IXNODE_ENV_FILE": "", "IXNODE_VAR_DIR": str(var)}
    env.pop("DATABASE_URL", None)
    for name, value in extra.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, timeout=300,
                          capture_output=True, text=True, preexec_fn=lambda: os.umask(0o022))


# Written while the connection is open (WAL mode: -wal and -shm exist only then): the modes of the files.
SHOW_FILES = """
import os, stat
from django.conf import settings
from django.contrib.auth.models import User
User.objects.get_or_create(username="u")
name = settings.DATABASES["default"]["NAME"]
for suffix in ("", "-wal", "-shm"):
    print(suffix or "db", oct(stat.S_IMODE(os.stat(name + suffix).st_mode)))
"""


def _modes(output: str) -> dict[str, str]:
    return dict(line.split() for line in output.splitlines() if line.split()[:1] in (["db"], ["-wal"], ["-shm"]))


def test_fresh_var_and_sqlite_files_are_private_under_umask_022(tmp_path):
    var = tmp_path / "var"
    _manage(var, "migrate", "--noinput", "-v", "0")
    assert _mode(var) == 0o700
    modes = _modes(_manage(var, "shell", "-c", SHOW_FILES).stdout)
    assert modes == {"db": "0o600", "-wal": "0o600", "-shm": "0o600"}


def test_existing_loose_files_are_tightened_on_connection(tmp_path):
    var = tmp_path / "var"
    _manage(var, "migrate", "--noinput", "-v", "0")
    var.chmod(0o755)
    database = var / "ixnode.sqlite3"
    for path in var.iterdir():
        if path.name.startswith("ixnode.sqlite3"):
            path.chmod(0o644)
    modes = _modes(_manage(var, "shell", "-c", SHOW_FILES).stdout)
    assert _mode(var) == 0o700
    assert modes == {"db": "0o600", "-wal": "0o600", "-shm": "0o600"}
    assert _mode(database) == 0o600


@pytest.fixture
def operator_token(db, django_user_model) -> str:
    user = django_user_model.objects.create_user("viewer", "viewer@example.invalid", "pw-viewer-123456")
    return Token.objects.create(user=user).key


def test_schema_and_docs_need_sign_in_by_default(client, operator_token, admin_client):
    assert client.get("/api/schema/").status_code == 401
    docs = client.get("/api/docs/")
    assert docs.status_code == 302 and docs["Location"].startswith("/accounts/login/?next=/api/docs/")
    # Any signed-in user (no model permission needed), by token or session.
    assert client.get("/api/schema/", HTTP_AUTHORIZATION=f"Token {operator_token}").status_code == 200
    assert admin_client.get("/api/schema/").status_code == 200
    assert admin_client.get("/api/docs/").status_code == 200


def test_schema_public_setting_opens_them(client, settings, db):
    settings.IXNODE_API_SCHEMA_PUBLIC = True
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200


@pytest.mark.parametrize("path", ["/accounts/password_reset/", "/accounts/password_reset/done/",
                                  "/accounts/reset/MQ/set-password/", "/accounts/reset/done/"])
def test_password_reset_off_without_email(client, settings, db, path):
    settings.IXNODE_AUTH_PASSWORD_RESET = False
    assert client.get(path).status_code == 404
    settings.IXNODE_AUTH_PASSWORD_RESET = True
    assert client.get(path).status_code in (200, 302)


def test_password_reset_follows_email_configuration(tmp_path):
    code = "from django.conf import settings; print(settings.IXNODE_AUTH_PASSWORD_RESET)"
    var = tmp_path / "var"
    env_without: dict[str, str | None] = {"EMAIL_HOST": None, "EMAIL_BACKEND": None,
                                          "IXNODE_AUTH_PASSWORD_RESET": None}
    assert _manage(var, "shell", "-c", code, **env_without).stdout.split()[-1] == "False"
    assert _manage(var, "shell", "-c", code, **{**env_without, "EMAIL_HOST": "smtp.example.invalid"}
                   ).stdout.split()[-1] == "True"
    assert _manage(var, "shell", "-c", code, **{**env_without, "IXNODE_AUTH_PASSWORD_RESET": "1"}
                   ).stdout.split()[-1] == "True"


def test_password_change_still_there(admin_client):
    assert admin_client.get("/accounts/password_change/").status_code == 200
