"""Settings from the environment and a .env file; the secret key every manage.py command shares with make run;
IXNODE_PUBLIC_URL following PORT. The settings module is imported in a plain subprocess, as a second shell does."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from ixnode.env import RENAMED, env_file_load, env_float, persisted_secret

ROOT = Path(__file__).resolve().parents[2]

PRINT_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'key': s.SECRET_KEY, 'url': s.IXNODE_PUBLIC_URL, 'env_file': str(s.ENV_FILE), "
    "'db': str(s.DATABASES['default']['NAME']), 'token': s.IXNODE_WEBHOOK_TOKEN}))"
)


def plain_settings(var: Path, **env: str) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DJANGO_SETTINGS_MODULE": "ixnode.settings",
            "IXNODE_VAR_DIR": str(var)}
    return subprocess.run([sys.executable, "-c", PRINT_SETTINGS], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=60)


def test_persisted_secret_created_private_and_reused(tmp_path):
    path = tmp_path / "var" / "secret_key"
    first = persisted_secret(path)
    assert len(first) > 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert persisted_secret(path) == first


def test_persisted_secret_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "secret_key"
    path.write_text("x" * 50)
    path.chmod(0o644)
    with pytest.raises(ImproperlyConfigured, match="chmod 600"):
        persisted_secret(path)
    path.chmod(0o600)
    path.write_text("")
    with pytest.raises(ImproperlyConfigured, match="is empty"):
        persisted_secret(path)


def test_env_file_fills_in_but_the_environment_wins(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("# settings\nIXNODE_TEST_A=from-file\nexport IXNODE_TEST_B='quoted value'\n"
                        "IXNODE_TEST_C=${IXNODE_TEST_A}-too\n")
    env_file.chmod(0o600)
    monkeypatch.delenv("IXNODE_ENV_FILE", raising=False)
    monkeypatch.setenv("IXNODE_TEST_A", "from-environment")
    for name in ("IXNODE_TEST_B", "IXNODE_TEST_C"):
        monkeypatch.delenv(name, raising=False)
    try:
        assert env_file_load(tmp_path) == env_file
        assert os.environ["IXNODE_TEST_A"] == "from-environment"
        assert os.environ["IXNODE_TEST_B"] == "quoted value"
        assert os.environ["IXNODE_TEST_C"] == "from-environment-too"
    finally:
        for name in ("IXNODE_TEST_B", "IXNODE_TEST_C"):
            os.environ.pop(name, None)


def test_env_file_must_be_private_and_can_be_turned_off(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("IXNODE_TEST_D=1\n")
    env_file.chmod(0o640)
    monkeypatch.delenv("IXNODE_ENV_FILE", raising=False)
    with pytest.raises(ImproperlyConfigured, match=r"mode 640\): chmod 600"):
        env_file_load(tmp_path)
    monkeypatch.setenv("IXNODE_ENV_FILE", "")
    assert env_file_load(tmp_path) is None
    monkeypatch.setenv("IXNODE_ENV_FILE", "missing.env")
    with pytest.raises(ImproperlyConfigured, match="no such file"):
        env_file_load(tmp_path)


def test_a_second_shell_gets_the_same_key_and_database_as_make_run(tmp_path):
    var = tmp_path / "var"
    first = plain_settings(var, IXNODE_ENV_FILE="")
    assert first.returncode == 0, first.stderr
    again = plain_settings(var, IXNODE_ENV_FILE="")
    assert again.returncode == 0, again.stderr
    one, two = json.loads(first.stdout), json.loads(again.stdout)
    assert one["key"] == two["key"] == (var / "secret_key").read_text().strip()
    assert one["db"] == two["db"] == str(var / "ixnode.sqlite3")
    explicit = json.loads(plain_settings(var, IXNODE_ENV_FILE="", SECRET_KEY="from-env").stdout)
    assert explicit["key"] == "from-env"


def test_public_url_follows_port_unless_set(tmp_path):
    var = tmp_path / "var"
    assert json.loads(plain_settings(var, IXNODE_ENV_FILE="").stdout)["url"] == "http://127.0.0.1:8000"
    assert json.loads(plain_settings(var, IXNODE_ENV_FILE="", PORT="8130").stdout)["url"] == "http://127.0.0.1:8130"
    set_url = plain_settings(var, IXNODE_ENV_FILE="", PORT="8130", IXNODE_PUBLIC_URL="https://ixnode.example/")
    assert json.loads(set_url.stdout)["url"] == "https://ixnode.example"


def test_settings_read_the_env_file_named(tmp_path):
    var = tmp_path / "var"
    env_file = tmp_path / "lab.env"
    env_file.write_text("IXNODE_WEBHOOK_TOKEN=token-from-file\nPORT=8222\n")
    env_file.chmod(0o600)
    values = json.loads(plain_settings(var, IXNODE_ENV_FILE=str(env_file)).stdout)
    assert values == {**values, "token": "token-from-file", "url": "http://127.0.0.1:8222",
                      "env_file": str(env_file)}
    env_file.chmod(0o644)
    refused = plain_settings(var, IXNODE_ENV_FILE=str(env_file))
    assert refused.returncode != 0 and "chmod 600" in refused.stderr


def test_manage_py_says_what_is_wrong_without_a_traceback(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=8222\n")
    env_file.chmod(0o644)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "IXNODE_ENV_FILE": str(env_file),
           "IXNODE_VAR_DIR": str(tmp_path / "var")}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr == f"Configuration error: {env_file} (settings file) is readable by other users " \
                            f"(mode 644): chmod 600 {env_file}\n"


SETTINGS_FILE = ROOT / "ixnode" / "settings.py"
ENV_READ = re.compile(r"""env_(?:str|bool|int|float|list)\(\s*"([A-Z0-9_]+)\"""")
# Django's, the web server's and the database's conventional names: not the product's own, so not prefixed.
CONVENTIONAL = {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "DATABASE_URL", "LANGUAGE_CODE",
                "TIME_ZONE", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "PORT", "EMAIL_BACKEND", "EMAIL_HOST",
                "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "EMAIL_USE_TLS", "DEFAULT_FROM_EMAIL"}


def settings_variables() -> set[str]:
    return set(ENV_READ.findall(SETTINGS_FILE.read_text())) | {"IXNODE_VAR_DIR"}


def test_every_variable_the_settings_read_is_in_the_configuration_reference():
    reference = (ROOT / "docs" / "configuration.md").read_text()
    variables = settings_variables()
    assert len(variables) > 80
    missing = sorted(v for v in variables if f"`{v}`" not in reference)
    assert not missing, f"add these to docs/configuration.md: {missing}"


def test_the_products_own_variables_carry_its_prefix():
    unprefixed = sorted(v for v in settings_variables() if not v.startswith("IXNODE_") and v not in CONVENTIONAL)
    assert not unprefixed, unprefixed
    # Every renamed variable is read by the settings under its new name.
    assert set(RENAMED) <= settings_variables()


def test_an_old_variable_name_still_works_and_is_named_in_a_warning(tmp_path):
    var = tmp_path / "var"
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.IXNODE_PROMETHEUS_URL, s.IXNODE_F5_TIMEOUT, s.IXNODE_VCENTER_HOST)")
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DJANGO_SETTINGS_MODULE": "ixnode.settings",
            "IXNODE_VAR_DIR": str(var), "IXNODE_ENV_FILE": ""}
    old = {"PROMETHEUS_URL": "http://old-name:9090", "F5_TIMEOUT": "7", "IXNODE_VCENTER_HOST": "vc.new"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**base, **old}, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["http://old-name:9090", "7.0", "vc.new"]
    assert "PROMETHEUS_URL → IXNODE_PROMETHEUS_URL" in result.stderr  # the log line of every process
    check = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env={**base, **old},
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    assert "ixnode.W001" in check.stderr and "F5_TIMEOUT → IXNODE_F5_TIMEOUT" in check.stderr
    # The new name wins when both are set, and nothing is reported.
    both = subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                          env={**base, "PROMETHEUS_URL": "http://old:1", "IXNODE_PROMETHEUS_URL": "http://new:2"},
                          capture_output=True, text=True, timeout=60)
    assert both.stdout.split()[0] == "http://new:2" and "→" not in both.stderr


def test_a_bad_value_under_an_old_name_is_named_by_that_name(monkeypatch):
    monkeypatch.delenv("IXNODE_F5_TIMEOUT", raising=False)
    monkeypatch.setenv("F5_TIMEOUT", "soon")
    with pytest.raises(ImproperlyConfigured, match="F5_TIMEOUT must be a number, got 'soon'"):
        env_float("IXNODE_F5_TIMEOUT", 10.0)


def plain_manage(tmp_path: Path, *args: str, python: tuple[str, ...] = (sys.executable,),
                 **env: str) -> subprocess.CompletedProcess:
    """``manage.py`` as a newcomer's plain shell runs it: nothing of this test run's settings, no .env."""
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "IXNODE_VAR_DIR": str(tmp_path / "var"),
            "IXNODE_ENV_FILE": ""}
    return subprocess.run([*python, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True,
                          text=True, timeout=60)


def test_a_command_run_before_migrate_says_so_without_a_traceback(tmp_path):
    """The README's second shell run before make run ever migrated: an empty SQLite file, no tables."""
    result = plain_manage(tmp_path, "drf_create_token", "admin")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"The database (SQLite {tmp_path / 'var' / 'ixnode.sqlite3'}) is not set up "
                                    "yet: "), result.stderr
    assert "migrations are not applied" in result.stderr and "manage.py migrate" in result.stderr
    assert "no such table: auth_user" in result.stderr
    # In the operator's language too.
    korean = plain_manage(tmp_path, "render_artifacts", "auto-vm-test", "--output-dir", str(tmp_path / "out"),
                          LANGUAGE_CODE="ko")
    assert korean.returncode == 1 and "Traceback" not in korean.stderr
    assert "데이터베이스" in korean.stderr and "manage.py migrate" in korean.stderr, korean.stderr


def test_an_unreachable_or_misspelt_database_url_is_named_without_a_traceback(tmp_path):
    down = plain_manage(tmp_path, "drf_create_token", "admin",
                        DATABASE_URL="postgres://ixnode:s3cret-pw@127.0.0.1:1/ixnode")
    assert down.returncode == 1, down.stderr
    assert "Traceback" not in down.stderr
    assert down.stderr.startswith("The database (postgresql 127.0.0.1:1/ixnode) cannot be used. Check DATABASE_URL")
    assert "s3cret-pw" not in down.stderr
    typo = plain_manage(tmp_path, "check", DATABASE_URL="postgress://ixnode@127.0.0.1/ixnode")
    assert typo.returncode == 2 and "Traceback" not in typo.stderr, typo.stderr
    assert typo.stderr.startswith("Configuration error: DATABASE_URL cannot be read (Scheme 'postgress://' is "
                                  "unknown"), typo.stderr
    assert "postgres://USER:PASSWORD@HOST:5432/NAME" in typo.stderr


def test_a_data_error_shows_as_itself_not_as_a_database_setup_problem(tmp_path):
    """An IntegrityError (here from loaddata) is about the data, not DATABASE_URL or migrations: its own message."""
    migrated = plain_manage(tmp_path, "migrate", "--no-input")
    assert migrated.returncode == 0, migrated.stderr
    fixture = tmp_path / "users.json"
    fixture.write_text(json.dumps([
        {"model": "auth.user", "pk": 1, "fields": {"username": "ops", "password": "!"}},
        {"model": "auth.user", "pk": 2, "fields": {"username": "ops", "password": "!"}},
    ]))
    result = plain_manage(tmp_path, "loaddata", str(fixture))
    assert result.returncode != 0
    assert "IntegrityError" in result.stderr and "UNIQUE constraint failed: auth_user.username" in result.stderr, \
        result.stderr
    assert "DATABASE_URL" not in result.stderr and "manage.py migrate" not in result.stderr, result.stderr


def test_migrate_that_fails_does_not_advise_running_migrate(tmp_path):
    """A database that already holds a table the first migrations create (a half-restored copy): migrate stops."""
    (tmp_path / "var").mkdir()
    with sqlite3.connect(tmp_path / "var" / "ixnode.sqlite3") as db:
        db.execute("CREATE TABLE auth_user (id integer PRIMARY KEY)")
    result = plain_manage(tmp_path, "migrate", "--no-input")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"migrate stopped: a migration could not be applied to the database (SQLite "
                                    f"{tmp_path / 'var' / 'ixnode.sqlite3'})"), result.stderr
    assert "table \"auth_user\" already exists" in result.stderr
    assert "manage.py migrate" not in result.stderr and "make run" not in result.stderr
    assert "Applying auth.0001_initial" in result.stdout
    korean = plain_manage(tmp_path, "migrate", "--no-input", LANGUAGE_CODE="ko")
    assert korean.returncode == 1 and korean.stderr.startswith("migrate가 중단되었습니다"), korean.stderr
    assert "manage.py migrate" not in korean.stderr


def test_manage_py_run_by_another_python_points_at_the_venv(tmp_path):
    """``python3 manage.py …`` with a Python that has no Django (here: the venv's without its site-packages)."""
    result = plain_manage(tmp_path, "check", python=(sys.executable, "-S"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "Django cannot be imported by" in result.stderr and ".venv/bin/python manage.py" in result.stderr


def test_a_misspelt_variable_in_the_env_file_is_named_with_the_one_it_resembles(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("IXNODE_WEBHOOK_TOKN=abc\nIXNODE_PROMETHEUS_URL=http://127.0.0.1:9090\n")
    env_file.chmod(0o600)
    result = plain_manage(tmp_path, "check", IXNODE_ENV_FILE=str(env_file), IXNODE_SOMETHING_ELSE="1")
    assert result.returncode == 0, result.stderr
    assert "ixnode.W002" in result.stderr
    assert "IXNODE_WEBHOOK_TOKN (did you mean IXNODE_WEBHOOK_TOKEN?)" in result.stderr
    assert "IXNODE_SOMETHING_ELSE" in result.stderr
    assert "IXNODE_PROMETHEUS_URL" not in result.stderr  # a setting the product reads
    # Every process logs it at start too (the web server's and the worker's, where no system check runs).
    started = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT,
                             env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "IXNODE_ENV_FILE": str(env_file),
                                  "IXNODE_VAR_DIR": str(tmp_path / "var"), "DJANGO_SETTINGS_MODULE": "ixnode.settings"},
                             capture_output=True, text=True, timeout=60)
    assert started.returncode == 0, started.stderr
    assert "IXNODE_WEBHOOK_TOKN (did you mean IXNODE_WEBHOOK_TOKEN?)" in started.stderr
    # Every variable the settings read, and the ones read elsewhere, are known: nothing to report.
    clean = plain_manage(tmp_path, "check", IXNODE_ADMIN_USER="ops", IXNODE_TRACES_DIR="/tmp",
                         IXNODE_VCENTER_HOST="vc.example", VCENTER_USER="old-name")
    assert clean.returncode == 0 and "ixnode.W002" not in clean.stderr, clean.stderr


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path):
    """``manage.py simulate … | head -1``: the pipe's reader is gone before the table is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "manage.py", "simulate", "--trace", "docs/examples/trace.csv", "--config",
             "docs/examples/auto-vm-test.json", "--capacity", "150", "--policy", "step"],
            cwd=ROOT, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "IXNODE_VAR_DIR": str(tmp_path / "var"),
                           "IXNODE_ENV_FILE": ""},
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr, result.stderr
