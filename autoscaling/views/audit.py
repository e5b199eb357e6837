"""The config's change history (django-simple-history) as readable diffs for the service page."""

from __future__ import annotations

from dataclasses import dataclass

from autoscaling.models import AutoscalingConfig
from ixnode.history import HistoryActor, history_actor_label, history_field_label, history_reason, history_value

HISTORY_LIMIT = 20


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    when: object
    who: str  # "alice", "alice (API token)", "Alertmanager", "the system"
    actor: str  # HistoryActor value
    kind: str  # created, changed, deleted
    reason: str
    changes: list[FieldChange]


def config_history(*, config: AutoscalingConfig, user=None, limit: int = HISTORY_LIMIT) -> list[HistoryEntry]:
    """Newest first: who changed the config when, and each field's old → new value as the pages show values
    (a few queries: the rows, their users, the templates they name)."""
    records = list(config.history.select_related("history_user").order_by("-history_date", "-history_id")[: limit + 1])
    entries = []
    for index, record in enumerate(records[:limit]):
        previous = records[index + 1] if index + 1 < len(records) else None
        changes: list[FieldChange] = []
        if previous is not None and record.history_type == "~":
            delta = record.diff_against(previous)
            for change in delta.changes:
                field = _field(change.field)
                changes.append(FieldChange(change.field, history_field_label(AutoscalingConfig, change.field),
                                           history_value(field, change.old), history_value(field, change.new)))
        kind = {"+": "created", "~": "changed", "-": "deleted"}[record.history_type]
        actor = record.history_actor or (HistoryActor.USER if record.history_user_id else HistoryActor.SYSTEM)
        entries.append(HistoryEntry(record.history_date, history_actor_label(record), actor, kind,
                                    history_reason(record), changes))
    return entries


def _field(name: str):
    try:
        return AutoscalingConfig._meta.get_field(name)
    except Exception:  # noqa: BLE001 - a field removed since the row was written
        return None
