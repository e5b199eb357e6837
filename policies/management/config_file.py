"""A simulator config file in the config API's shape, checked by the config API's own serializer.

The document is what ``GET /api/autoscaling/configs/<serviceName>/`` returns and ``POST`` takes (camelCase, nested
``monitoring``/``network``/``f5``), all keys optional (a missing one keeps the model's default), plus two
simulator sections: ``policy`` (the engine's PolicySettings) and ``simulation`` (the simulated world's
SimParams). Any other key is an error naming the file and the key's path. Values go through
:class:`~autoscaling.api.serializers.AutoscalingConfigSerializer` (types, ranges, choices) and the model's
cross-field rules (:func:`~autoscaling.validation.config_errors`: min ≤ max, scale-in below scale-out, the
warm pool within max − min, addresses in the subnet…), the same checks as the API; ``templateId`` and the
read-only keys (``id``, ``artifacts``, ``createdAt``, ``updatedAt``) are accepted and not used, and
``enabled`` defaults to true (a replay is of a running service).
"""

from __future__ import annotations

import difflib
from dataclasses import fields
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rest_framework import serializers

from autoscaling.api.serializers import AutoscalingConfigSerializer, nest_errors
from autoscaling.models import AutoscalingConfig
from autoscaling.validation import config_errors
from policies.engine.evaluate import PolicySettings
from policies.simulator.config import (
    ConfigError,
    config_from_values,
    policy_from_json,
    read_json,
    simulation_from_json,
    snake,
)
from policies.simulator.engine import SimConfig

SECTIONS = ("policy", "simulation")
NOT_USED = ("id", "templateId", "artifacts", "createdAt", "updatedAt")  # known to the API, not to a replay


def _unknown_keys(document: dict[str, Any], serializer: serializers.Serializer, prefix: str = "") -> list[str]:
    found = []
    known = serializer.fields
    for key, value in document.items():
        path = f"{prefix}{key}"
        if key not in known:
            found.append(path)
        else:
            nested = known[key]
            if isinstance(nested, serializers.Serializer) and isinstance(value, dict):
                found += _unknown_keys(value, nested, f"{path}.")
    return found


def _known_list(serializer: serializers.Serializer, prefix: str = "") -> list[str]:
    names = []
    for key, field in serializer.fields.items():
        if isinstance(field, serializers.Serializer):
            names += _known_list(field, f"{prefix}{key}.")
        else:
            names.append(f"{prefix}{key}")
    return names


def _by_model_name(serializer: serializers.Serializer, prefix: str = "") -> dict[str, str]:
    """The API key of each model field, by the field's name (``scale_out_cpu_threshold`` → ``monitoring.cpuThreshold``):
    the names the admin, the pages and the seed use, which a file written from them holds, snake or camel case."""
    out: dict[str, str] = {}
    for key, field in serializer.fields.items():
        if isinstance(field, serializers.Serializer):
            out.update(_by_model_name(field, f"{prefix}{key}."))
        elif isinstance(field.source, str) and field.source != "*":
            out[field.source] = f"{prefix}{key}"
    return out


def _hint(key: str, known: list[str], by_model_name: dict[str, str]) -> str | None:
    """The API key an unknown key most likely means: the model field of that name, else the closest spelling."""
    by_name = by_model_name.get(snake(key.rsplit(".", 1)[-1]))
    if by_name and by_name != key:
        return by_name
    close = difflib.get_close_matches(key, known, n=1)
    return close[0] if close else None


def _flat(errors: Any, prefix: str = "") -> list[str]:
    if isinstance(errors, dict):
        return [line for key, value in errors.items() for line in _flat(value, f"{prefix}{key}.")]
    if isinstance(errors, list) and errors and all(isinstance(e, dict) for e in errors):
        return [line for e in errors for line in _flat(e, prefix)]
    messages = errors if isinstance(errors, list) else [errors]
    return [f"{prefix.rstrip('.')}: {' '.join(str(m) for m in messages)}"]


def _model_defaults() -> dict[str, Any]:
    out = {}
    for field in AutoscalingConfig._meta.concrete_fields:
        if field.has_default():
            out[field.name] = field.get_default()
    return out


def config_from_file(path: str | Path) -> tuple[SimConfig, PolicySettings | None, dict[str, Any]]:
    """Read and check ``path``; :class:`ConfigError` naming the file and each bad or unknown key."""
    document = read_json(path)
    api = {k: v for k, v in document.items() if k not in SECTIONS}
    serializer = AutoscalingConfigSerializer(data={k: v for k, v in api.items() if k not in NOT_USED},
                                             partial=True)
    unknown = _unknown_keys(api, serializer)
    if unknown:
        known = _known_list(serializer)
        by_model_name = _by_model_name(serializer)
        hints = []
        for key in unknown:
            close = _hint(key, known, by_model_name)
            hints.append(_("%(key)s (did you mean %(close)s?)") % {"key": key, "close": close} if close else key)
        raise ConfigError(
            ngettext("Config file %(path)s: unknown key %(keys)s; the config API's keys are %(known)s, and the "
                     "simulator's sections %(sections)s.",
                     "Config file %(path)s: unknown keys %(keys)s; the config API's keys are %(known)s, and the "
                     "simulator's sections %(sections)s.", len(unknown))
            % {"path": path, "keys": ", ".join(hints), "known": ", ".join(known), "sections": ", ".join(SECTIONS)}
        )
    if not serializer.is_valid():
        raise ConfigError(_("Config file %(path)s: %(errors)s") % {"path": path,
                                                                   "errors": "; ".join(_flat(serializer.errors))})
    # a replay is of an enabled service unless the file says otherwise (a new config's default is disabled)
    values = {**_model_defaults(), "enabled": True, **serializer.validated_data}
    cross = config_errors(values)
    if cross:
        raise ConfigError(_("Config file %(path)s: %(errors)s") % {"path": path,
                                                                   "errors": "; ".join(_flat(nest_errors(cross)))})
    config = config_from_values({f.name: values[f.name] for f in fields(SimConfig) if f.name in values}, str(path))
    policy = (policy_from_json(document["policy"], _("Config file %(path)s, policy") % {"path": path})
              if "policy" in document else None)
    simulation = (simulation_from_json(document["simulation"],
                                       _("Config file %(path)s, simulation") % {"path": path})
                  if "simulation" in document else {})
    return config, policy, simulation
