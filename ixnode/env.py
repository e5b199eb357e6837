"""Typed readers for settings that come from the environment."""

from __future__ import annotations

import difflib
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off", ""}

# The product's own variables are named IXNODE_<SYSTEM>_<NAME>. These were named without the prefix before; the old
# name is still read when the new one is unset, and `manage.py check` (run by migrate, so by `make run`) warns.
RENAMED: dict[str, str] = {
    "IXNODE_PROMETHEUS_URL": "PROMETHEUS_URL",
    "IXNODE_PROMETHEUS_TIMEOUT": "PROMETHEUS_TIMEOUT",
    "IXNODE_ALERTMANAGER_URL": "ALERTMANAGER_URL",
    "IXNODE_ALERTMANAGER_TIMEOUT": "ALERTMANAGER_TIMEOUT",
    "IXNODE_LOKI_URL": "LOKI_URL",
    "IXNODE_F5_HOST": "F5_HOST",
    "IXNODE_F5_USER": "F5_USER",
    "IXNODE_F5_PASSWORD": "F5_PASSWORD",
    "IXNODE_F5_VERIFY_TLS": "F5_VERIFY_TLS",
    "IXNODE_F5_PARTITION": "F5_PARTITION",
    "IXNODE_F5_TIMEOUT": "F5_TIMEOUT",
    "IXNODE_F5_DRAIN_TIMEOUT": "F5_DRAIN_TIMEOUT",
    "IXNODE_F5_DRAIN_POLL_INTERVAL": "F5_DRAIN_POLL_INTERVAL",
    "IXNODE_GRAFANA_URL": "GRAFANA_URL",
    "IXNODE_GRAFANA_TOKEN": "GRAFANA_TOKEN",
    "IXNODE_GRAFANA_DATASOURCE_UID": "GRAFANA_DATASOURCE_UID",
    "IXNODE_GRAFANA_FOLDER_UID": "GRAFANA_FOLDER_UID",
    "IXNODE_GRAFANA_TIMEOUT": "GRAFANA_TIMEOUT",
    "IXNODE_JENKINS_URL": "JENKINS_URL",
    "IXNODE_JENKINS_USER": "JENKINS_USER",
    "IXNODE_JENKINS_TOKEN": "JENKINS_TOKEN",
    "IXNODE_JENKINS_TIMEOUT": "JENKINS_TIMEOUT",
    "IXNODE_JENKINS_API_CREDENTIALS_ID": "JENKINS_API_CREDENTIALS_ID",
    "IXNODE_VCENTER_HOST": "VCENTER_HOST",
    "IXNODE_VCENTER_PORT": "VCENTER_PORT",
    "IXNODE_VCENTER_USER": "VCENTER_USER",
    "IXNODE_VCENTER_PASSWORD": "VCENTER_PASSWORD",
    "IXNODE_VCENTER_VERIFY_TLS": "VCENTER_VERIFY_TLS",
    "IXNODE_VCENTER_THUMBPRINT": "VCENTER_THUMBPRINT",
    "IXNODE_VCENTER_CA_FILE": "VCENTER_CA_FILE",
    "IXNODE_VCENTER_DATACENTER": "VCENTER_DATACENTER",
    "IXNODE_VCENTER_FOLDER": "VCENTER_FOLDER",
    "IXNODE_VCENTER_RESOURCE_POOL": "VCENTER_RESOURCE_POOL",
    "IXNODE_VCENTER_DATASTORE": "VCENTER_DATASTORE",
    "IXNODE_VCENTER_TIMEOUT": "VCENTER_TIMEOUT",
    "IXNODE_VCENTER_TASK_TIMEOUT": "VCENTER_TASK_TIMEOUT",
    "IXNODE_VCENTER_SHUTDOWN_TIMEOUT": "VCENTER_SHUTDOWN_TIMEOUT",
    "IXNODE_VCENTER_GUEST_IP_TIMEOUT": "VCENTER_GUEST_IP_TIMEOUT",
    "IXNODE_VCENTER_GUEST_DOMAIN": "VCENTER_GUEST_DOMAIN",
    "IXNODE_VCENTER_POLL_INTERVAL": "VCENTER_POLL_INTERVAL",
    "IXNODE_DB_CONN_MAX_AGE": "DB_CONN_MAX_AGE",
    "IXNODE_LOG_LEVEL": "LOG_LEVEL",
}
# New name -> old name, for every renamed variable that was read under its old name in this process.
legacy_used: dict[str, str] = {}
# Every variable the settings asked for in this process (through env_raw): what the product reads.
names_read: set[str] = set()
# The product's IXNODE_ variables read outside the settings, and those of its tools (tests, bench, scripts, lab);
# names starting with IXNODE_TEST_ are the test suite's own. None of them is a misspelling.
READ_ELSEWHERE: frozenset[str] = frozenset({
    "IXNODE_ENV_FILE", "IXNODE_ADMIN_USER", "IXNODE_ADMIN_PASSWORD", "IXNODE_TRACES_DIR",
    "IXNODE_BENCH_PROCESSES", "IXNODE_NASA_TRACE", "IXNODE_SCREENSHOT_DIR", "IXNODE_SCREENSHOTS_DIR",
    "IXNODE_UPSTREAM_DIR",
})
PREFIX = "IXNODE_"


def unknown_names(environ: Mapping[str, str] | None = None) -> list[tuple[str, str | None]]:
    """The IXNODE_ variables set (in the environment or the .env file read into it) that nothing reads: a
    misspelt name is silently ignored otherwise. Each with the known name it most resembles, if any."""
    environ = os.environ if environ is None else environ
    known = names_read | READ_ELSEWHERE | set(RENAMED)
    out: list[tuple[str, str | None]] = []
    for name in sorted(environ):
        if not name.startswith(PREFIX) or name in known or name.startswith(PREFIX + "TEST_"):
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.8)
        out.append((name, close[0] if close else None))
    return out


def env_raw(name: str) -> tuple[str, str | None]:
    """The variable's value and the name it was found under (the old name of a renamed variable, when only that is
    set)."""
    names_read.add(name)
    value = os.environ.get(name)
    old = RENAMED.get(name)
    if value is None and old is not None and old in os.environ:
        legacy_used[name] = old
        return old, os.environ[old]
    return name, value


def env_str(name: str, default: str = "") -> str:
    value = env_raw(name)[1]
    return default if value is None else value


def env_bool(name: str, default: bool = False) -> bool:
    name, raw = env_raw(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    name, raw = env_raw(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def env_float(name: str, default: float) -> float:
    name, raw = env_raw(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from exc


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = env_raw(name)[1]
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def private_file_check(path: Path, what: str) -> None:
    """Refuse a secrets file that other users can read (group/other bits set) or that another user owns."""
    info = path.stat()
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ImproperlyConfigured(
            f"{path} ({what}) is readable by other users (mode {stat.S_IMODE(info.st_mode):o}): chmod 600 {path}"
        )
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        raise ImproperlyConfigured(f"{path} ({what}) belongs to another user (uid {info.st_uid}): chown it or set "
                                   "the variables in the environment instead")


def persisted_secret(path: Path) -> str:
    """Read a generated secret from ``path`` (mode 600), creating it on first use."""
    if path.exists():
        private_file_check(path, "generated secret")
        value = path.read_text().strip()
        if value:
            return value
        raise ImproperlyConfigured(f"{path} is empty: delete it to have a new secret generated")
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(50)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it meanwhile: use theirs
        return persisted_secret(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


ENV_FILE_VARIABLE = "IXNODE_ENV_FILE"


def env_file_load(base_dir: Path) -> Path | None:
    """Read ``.env`` (or the file named by IXNODE_ENV_FILE; set it empty for none) into ``os.environ``.

    Variables already in the environment win over the file, so ``PORT=8130 make run`` still overrides it.
    The file may hold passwords: like every secrets file it must be mode 600. Returns the file read, if any.
    """
    configured = os.environ.get(ENV_FILE_VARIABLE)
    if configured is not None and not configured.strip():
        return None
    path = Path(configured) if configured else base_dir / ".env"
    if not path.is_absolute():
        path = base_dir / path
    if not path.exists():
        if configured:
            raise ImproperlyConfigured(f"{ENV_FILE_VARIABLE}={configured}: no such file")
        return None
    private_file_check(path, "settings file")
    load_dotenv(path, override=False, interpolate=True, encoding="utf-8")
    return path


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and make it mode 700: it holds the database, secrets and keys."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path
