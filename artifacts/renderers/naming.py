"""Names of everything the product owns on the PLG host and in Jenkins/Grafana: all start with ``ixnode-``.

Anything in prometheus.yml / alertmanager.yml that does not carry these names is the operator's and is left
alone. A scrape job is owned when its only ``file_sd_configs`` file is an owned targets file (the job itself
keeps the config's ``prometheus_job_name``, which the PromQL and the VM count use).
"""

from __future__ import annotations

import hashlib
import posixpath
import re

PREFIX = "ixnode-"
RULES_SUFFIX = ".rules.yml"
TARGETS_SUFFIX = ".json"
RULES_GLOB = f"{PREFIX}*{RULES_SUFFIX}"
OWNED_TARGETS_RE = re.compile(r"^ixnode-([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.json$")
OWNED_RECEIVER_RE = re.compile(r"^ixnode-([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)$")
GRAFANA_UID_MAX = 40


def receiver_name(service_name: str) -> str:
    return f"{PREFIX}{service_name}"


def rule_group_name(service_name: str) -> str:
    return f"{PREFIX}{service_name}"


def rules_file_name(service_name: str) -> str:
    return f"{PREFIX}{service_name}{RULES_SUFFIX}"


def targets_file_name(service_name: str) -> str:
    return f"{PREFIX}{service_name}{TARGETS_SUFFIX}"


def jenkins_job_name(service_name: str, action: str) -> str:
    """``ixnode-<service>-scale-out`` / ``ixnode-<service>-scale-in`` (one pair of jobs per service)."""
    return f"{PREFIX}{service_name}-{action}"


def grafana_uid(service_name: str) -> str:
    """Grafana dashboard uids are at most 40 characters: long service names get a hash suffix."""
    uid = f"{PREFIX}{service_name}"
    if len(uid) <= GRAFANA_UID_MAX:
        return uid
    digest = hashlib.sha256(service_name.encode()).hexdigest()[:8]
    return f"{uid[: GRAFANA_UID_MAX - 9]}-{digest}"


def service_of_targets_file(path: str) -> str | None:
    """The service owning a targets file path, or None when the file is not the product's."""
    match = OWNED_TARGETS_RE.match(posixpath.basename(str(path)))
    return match.group(1) if match else None


def service_of_receiver(name: str) -> str | None:
    match = OWNED_RECEIVER_RE.match(str(name))
    return match.group(1) if match else None
