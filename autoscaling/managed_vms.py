"""Names of the VMs the autoscaler creates: ``<prefix>-YYYYMMDDHHmmss`` (``-2``, ``-3``… when two share a second).

Scale-in only ever picks VMs named like this (``AutoscalingConfig.managed_vm_regex``), never the base VMs; the
pipeline names its clones here and the dry-run plan shows the same names.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def managed_vm_name_base(prefix: str, now: datetime | None = None) -> str:
    """``<prefix>-YYYYMMDDHHmmss`` in the server's time zone."""
    local = timezone.localtime(now or timezone.now())
    return f"{prefix}-{local.strftime('%Y%m%d%H%M%S')}"


def managed_vm_names_new(prefix: str, count: int, taken: set[str], now: datetime | None = None) -> list[str]:
    """``count`` new names; a name already taken (same second, another VM) gets ``-2``, ``-3``, … ``taken`` is
    extended with the names handed out."""
    base = managed_vm_name_base(prefix, now)
    names: list[str] = []
    suffix = 1
    while len(names) < count:
        candidate = base if suffix == 1 else f"{base}-{suffix}"
        suffix += 1
        if candidate not in taken:
            names.append(candidate)
            taken.add(candidate)
    return names
