"""Small text helpers shared by the renderers (numbers, durations, YAML/JSON dumping)."""

from __future__ import annotations

import json
from typing import Any

import yaml


def number(value: float | int) -> str:
    """A threshold as PromQL/humans write it: ``80`` not ``80.0``, ``72.5`` not ``72.50000001``."""
    as_float = float(value)
    if as_float.is_integer():
        return str(int(as_float))
    return f"{as_float:.6f}".rstrip("0").rstrip(".")


def minutes(value: int) -> str:
    """A Prometheus duration for whole minutes; 0 is ``0s`` (fire on the first evaluation)."""
    return f"{int(value)}m" if value else "0s"


def seconds(value: int) -> str:
    """A Prometheus/Alertmanager duration for seconds, in the largest exact unit (300 → ``5m``)."""
    value = int(value)
    for unit, size in (("h", 3600), ("m", 60)):
        if value and value % size == 0:
            return f"{value // size}{unit}"
    return f"{value}s"


class _Dumper(yaml.SafeDumper):
    """Block style, multi-line strings as literal blocks, no aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_representer)


def dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, default_flow_style=False, sort_keys=False, width=4096, allow_unicode=True)


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False) + "\n"
