"""Where the simulator's config comes from: an ``AutoscalingConfig`` (by service name) or a JSON file."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

from policies.engine.evaluate import PolicySettings
from policies.simulator.engine import SimConfig, SimParams


class ConfigError(Exception):
    """The config cannot be used; the message names the field or file."""


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _flatten(data: dict[str, Any]) -> dict[str, Any]:
    """Seed-shaped JSON (camelCase, nested ``monitoring``/``scaling``…) → flat snake_case keys."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and key not in ("policy", "simulation"):
            flat.update(_flatten(value))
        else:
            flat[_snake(key)] = value
    return flat


_ALIASES = {
    "cooldown": "cooldown_seconds",
    "scale_out_cpu": "scale_out_cpu_threshold",
    "scale_in_cpu": "scale_in_cpu_threshold",
    "scale_out_duration": "scale_out_duration_minutes",
    "scale_in_duration": "scale_in_duration_minutes",
    "repeat_interval_seconds": "alert_repeat_interval_seconds",
}


def _build(cls, values: dict[str, Any], what: str):
    known = {f.name: f for f in fields(cls)}
    kwargs = {}
    for key, value in values.items():
        key = _ALIASES.get(key, key)
        if key not in known:
            continue
        default = getattr(cls(), key) if key in known else None
        try:
            if isinstance(default, bool):
                value = bool(value)
            elif isinstance(default, int) and value is not None:
                value = int(value)
            elif isinstance(default, float) and value is not None:
                value = float(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{what}: {key} = {value!r} is not a number.") from exc
        kwargs[key] = value
    return cls(**kwargs)


def config_from_json(path: str | Path) -> tuple[SimConfig, PolicySettings | None, dict[str, Any]]:
    """Read a JSON config: the autoscaling config's fields (flat snake_case or the seed's camelCase shape),
    an optional ``policy`` object (PolicySettings fields) and ``simulation`` object (SimParams fields)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"Config file {path} does not exist.") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Config file {path} is not valid JSON ({exc}).") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"Config file {path} must hold a JSON object.")
    config = _build(SimConfig, _flatten(data), str(path))
    _check(config, str(path))
    policy = data.get("policy")
    settings = _build(PolicySettings, {_snake(k): v for k, v in policy.items()}, f"{path} policy") if policy else None
    simulation = {_snake(k): v for k, v in (data.get("simulation") or {}).items()}
    return config, settings, simulation


def _check(config: SimConfig, what: str) -> None:
    if config.min_vms < 1 or config.max_vms < config.min_vms:
        raise ConfigError(f"{what}: need 1 ≤ min_vms ≤ max_vms (got {config.min_vms}..{config.max_vms}).")
    if config.scale_in_cpu_threshold >= config.scale_out_cpu_threshold:
        raise ConfigError(f"{what}: the scale-in CPU threshold must be below the scale-out threshold.")
    if config.scale_out_step < 1 or config.scale_in_step < 1:
        raise ConfigError(f"{what}: steps must be at least 1.")
    if config.warm_pool_size < 0:
        raise ConfigError(f"{what}: warm_pool_size must be 0 (off) or more (got {config.warm_pool_size}).")


def config_from_service(service_name: str) -> tuple[SimConfig, PolicySettings | None, dict[str, Any]]:
    """Read the config (and its scaling policy, if any) of ``service_name`` from the database."""
    # The simulator runs without a database (bench, scripts, files): the ORM only when a service is named.
    from autoscaling.models import AutoscalingConfig  # noqa: PLC0415
    from policies.selectors import policy_settings  # noqa: PLC0415

    try:
        row = AutoscalingConfig.objects.get(service_name=service_name)
    except AutoscalingConfig.DoesNotExist as exc:
        raise ConfigError(
            f"No autoscaling config named {service_name!r}; give a service name or a path to a JSON file."
        ) from exc
    # fields the model may not have (yet) keep the simulator's default
    config = _build(SimConfig, {f.name: getattr(row, f.name) for f in fields(SimConfig) if hasattr(row, f.name)},
                    service_name)
    policy = getattr(row, "scaling_policy", None) if hasattr(row, "scaling_policy") else None
    return config, (policy_settings(row, policy) if policy else None), {}


def params_with(base: dict[str, Any], **overrides: Any) -> SimParams:
    values = {**base, **{k: v for k, v in overrides.items() if v is not None}}
    return _build(SimParams, values, "simulation")
