"""Register and unregister scrape targets of a service in its file_sd file (``ixnode-<service>.json``).

Used by the pipelines (a new VM joins, a removed VM leaves), node_exporter installs and operators (base VMs).
The file lives on the PLG host (locally or over SFTP) and is replaced atomically; Prometheus' file_sd watcher picks
the change up without a reload. Read-modify-write is serialised with the artifact publisher's lock.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from artifacts.locks import publish_lock
from artifacts.renderers.context import RenderContext
from artifacts.renderers.prometheus import render_targets_file
from autoscaling.models import AutoscalingConfig
from autoscaling.validation import hostname_error
from ixnode.integrations.plg.client import plg_client
from ixnode.integrations.plg.interface import PlgError, PlgHost
from ixnode.netaddr import HostPortError, join_host_port, split_host_port


def target_normalize(target: str, *, default_port: int | None = None) -> str:
    """``host:port`` (IPv6 as ``[addr]:port``) or raise ValidationError; a bare host gets ``default_port``."""
    if not isinstance(target, str):
        raise ValidationError({"target": ["Enter a target as a string host:port, e.g. \"10.0.0.5:9100\"."]})
    value = target.strip()
    if not value:
        raise ValidationError({"target": ["Enter a target as host:port."]})
    try:
        host, port_text = split_host_port(value)
    except HostPortError as exc:
        raise ValidationError({"target": [f"'{value}' is not a valid target: {exc}"]}) from None
    if not port_text:
        if default_port is None:
            raise ValidationError({"target": [f"'{value}' has no port; use host:port."]})
        port_text = str(default_port)
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValidationError({"target": [f"'{value}' has an invalid port; use 1-65535."]})
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        error = hostname_error(host)
        if error:
            raise ValidationError({"target": [error]}) from None
        return f"{host.lower()}:{int(port_text)}"
    return join_host_port(str(address), int(port_text))


def _read_targets(host: PlgHost, path: str) -> list[str] | None:
    raw = host.read_bytes(path)
    if raw is None:
        return None
    try:
        groups: Any = json.loads(raw.decode("utf-8") or "[]")
        if not isinstance(groups, list):
            raise ValueError("top level is not a list")
        targets: list[str] = []
        for group in groups:
            targets.extend(str(t) for t in (group.get("targets") or []))
    except (ValueError, AttributeError, UnicodeDecodeError) as exc:
        raise PlgError(f"{path} is not a valid file_sd JSON file ({exc}); fix or delete it") from exc
    return targets


def targets_list(*, config: AutoscalingConfig) -> list[str]:
    """The targets registered for the service (sorted); [] when its file does not exist yet."""
    if settings.IXNODE_PLG_MODE == "off":
        raise PlgError("IXNODE_PLG_MODE=off: target registration needs the PLG host")
    path = RenderContext.from_settings().targets_path(config.service_name)
    with plg_client() as host:
        return sorted(_read_targets(host, path) or [])


def targets_registered(*, config: AutoscalingConfig) -> list[str] | None:
    """What the decision checks Prometheus' count against: the service's registered targets, or None while
    publishing is off (nothing is registered, so there is nothing to compare with)."""
    if settings.IXNODE_PLG_MODE == "off":
        return None
    return targets_list(config=config)


def _modify(config: AutoscalingConfig, change: Any) -> tuple[list[str], bool]:
    if settings.IXNODE_PLG_MODE == "off":
        raise PlgError("IXNODE_PLG_MODE=off: target registration needs the PLG host")
    path = RenderContext.from_settings().targets_path(config.service_name)
    with publish_lock(), plg_client() as host:
        current = _read_targets(host, path) or []
        wanted = change(list(current))
        changed = sorted(set(wanted)) != sorted(set(current)) or not host.exists(path)
        if changed:
            host.write_atomic(path, render_targets_file(config, wanted).encode())
        return sorted(set(wanted)), changed


def target_add(*, config: AutoscalingConfig, target: str) -> tuple[list[str], bool]:
    """Add ``target`` (``host:port``; a bare host gets the config's node_exporter_port). Returns the targets and
    whether the file changed (False when it was already registered)."""
    normalized = target_normalize(target, default_port=config.node_exporter_port)
    return _modify(config, lambda targets: [*targets, normalized] if normalized not in targets else targets)


def target_remove(*, config: AutoscalingConfig, target: str) -> tuple[list[str], bool]:
    """Remove ``target``; returns the targets and whether it was registered."""
    normalized = target_normalize(target, default_port=config.node_exporter_port)
    return _modify(config, lambda targets: [t for t in targets if t != normalized])
