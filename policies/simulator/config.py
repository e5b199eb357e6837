"""Where the simulator's config comes from: an ``AutoscalingConfig`` (by service name) or a JSON file.

A JSON file is read in the config API's shape by the command (``policies.management.config_file``, which
validates it with the API's own serializer); this module turns validated model field values, an optional
``policy`` object (PolicySettings fields) and an optional ``simulation`` object (SimParams fields) into the
simulator's types, and rejects any key it does not know.
"""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from policies.engine.evaluate import PolicySettings
from policies.simulator.engine import SimConfig, SimParams


class ConfigError(Exception):
    """The config cannot be used; the message names the field or file (in the active language)."""


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def read_json(path: str | Path) -> dict[str, Any]:
    """The JSON object in ``path``; :class:`ConfigError` naming the file otherwise."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(_("Config file %(path)s does not exist.") % {"path": path}) from exc
    except IsADirectoryError as exc:
        raise ConfigError(_("Config file %(path)s is a directory.") % {"path": path}) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(_("Config file %(path)s is not valid JSON (%(error)s).")
                          % {"path": path, "error": exc}) from exc
    if not isinstance(data, dict):
        raise ConfigError(_("Config file %(path)s must hold a JSON object.") % {"path": path})
    return data


def _convert(default: Any, value: Any, what: str, key: str) -> Any:
    try:
        if isinstance(default, bool) or isinstance(value, bool):
            if not isinstance(value, bool):
                raise TypeError
            return value
        if isinstance(default, int) and value is not None:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if isinstance(default, float) and value is not None:
            return float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(_("%(what)s: %(key)s = %(value)s is not a %(type)s.")
                          % {"what": what, "key": key, "value": repr(value), "type": type(default).__name__}) from exc
    return value


def _build(cls, values: dict[str, Any], what: str, *, strict: bool):
    known = {f.name for f in fields(cls)}
    defaults = cls()
    kwargs = {}
    for raw_key, value in values.items():
        key = snake(raw_key)
        if key not in known:
            if strict:
                raise ConfigError(_("%(what)s: unknown key %(key)s; known keys: %(known)s.")
                                  % {"what": what, "key": repr(raw_key), "known": ", ".join(sorted(known))})
            continue
        kwargs[key] = _convert(getattr(defaults, key), value, what, raw_key)
    return cls(**kwargs)


def config_from_values(values: dict[str, Any], what: str) -> SimConfig:
    """A config from model field values (validated elsewhere); the fields the replay does not use are ignored."""
    config = _build(SimConfig, values, what, strict=False)
    _check(config, what)
    return config


def policy_from_json(data: Any, what: str) -> PolicySettings:
    """The ``policy`` object of a config file (PolicySettings fields, snake_case or camelCase)."""
    if not isinstance(data, dict):
        raise ConfigError(_("%(what)s: must be a JSON object of policy settings.") % {"what": what})
    return _build(PolicySettings, data, what, strict=True)


def simulation_from_json(data: Any, what: str) -> dict[str, Any]:
    """The ``simulation`` object of a config file: SimParams fields (snake_case or camelCase)."""
    if not isinstance(data, dict):
        raise ConfigError(_("%(what)s: must be a JSON object of simulation parameters.") % {"what": what})
    known = {f.name for f in fields(SimParams)}
    out = {}
    for key, value in data.items():
        if snake(key) not in known:
            raise ConfigError(_("%(what)s: unknown key %(key)s; known keys: %(known)s.")
                              % {"what": what, "key": repr(key), "known": ", ".join(sorted(known))})
        out[snake(key)] = value
    return out


def _check(config: SimConfig, what: str) -> None:
    if config.min_vms < 1 or config.max_vms < config.min_vms:
        raise ConfigError(_("%(what)s: need 1 ≤ min_vms ≤ max_vms (got %(min)s..%(max)s).")
                          % {"what": what, "min": config.min_vms, "max": config.max_vms})
    if config.scale_in_cpu_threshold >= config.scale_out_cpu_threshold:
        raise ConfigError(_("%(what)s: the scale-in CPU threshold must be below the scale-out threshold.")
                          % {"what": what})
    if config.scale_out_step < 1 or config.scale_in_step < 1:
        raise ConfigError(_("%(what)s: steps must be at least 1.") % {"what": what})
    if config.warm_pool_size < 0:
        raise ConfigError(_("%(what)s: warm_pool_size must be 0 (off) or more (got %(size)s).")
                          % {"what": what, "size": config.warm_pool_size})


def config_from_service(service_name: str) -> tuple[SimConfig, PolicySettings | None, dict[str, Any]]:
    """Read the config (and its scaling policy, if any) of ``service_name`` from the database."""
    # The simulator runs without a database (bench, scripts, files): the ORM only when a service is named.
    from autoscaling.models import AutoscalingConfig  # noqa: PLC0415
    from autoscaling.selectors import config_missing_text  # noqa: PLC0415
    from policies.selectors import policy_settings  # noqa: PLC0415

    try:
        row = AutoscalingConfig.objects.get(service_name=service_name)
    except AutoscalingConfig.DoesNotExist as exc:
        raise ConfigError(
            _("%(missing)s Give a service name or a path to a JSON file.")
            % {"missing": config_missing_text(names=[service_name])}
        ) from exc
    config = config_from_values({f.name: getattr(row, f.name) for f in fields(SimConfig) if hasattr(row, f.name)},
                                service_name)
    policy = getattr(row, "scaling_policy", None) if hasattr(row, "scaling_policy") else None
    return config, (policy_settings(row, policy) if policy else None), {}


def params_with(base: dict[str, Any], **overrides: Any) -> SimParams:
    values = {**base, **{k: v for k, v in overrides.items() if v is not None}}
    return _build(SimParams, values, "simulation", strict=True)
