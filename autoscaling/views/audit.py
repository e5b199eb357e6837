"""The config's change history (django-simple-history) as readable diffs for the service page."""

from __future__ import annotations

from dataclasses import dataclass

from autoscaling.models import AutoscalingConfig

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
    who: str
    kind: str  # created, changed, deleted
    reason: str
    changes: list[FieldChange]


def _display(value) -> str:
    return "–" if value in (None, "") else str(value)


def config_history(*, config: AutoscalingConfig, user=None, limit: int = HISTORY_LIMIT) -> list[HistoryEntry]:
    """Newest first: who changed the config when, and each field's old → new value (two queries)."""
    records = list(config.history.select_related("history_user").order_by("-history_date", "-history_id")[: limit + 1])
    labels = {f.name: str(f.verbose_name) for f in AutoscalingConfig._meta.fields}
    entries = []
    for index, record in enumerate(records[:limit]):
        previous = records[index + 1] if index + 1 < len(records) else None
        changes: list[FieldChange] = []
        if previous is not None and record.history_type == "~":
            delta = record.diff_against(previous)
            changes = [
                FieldChange(c.field, labels.get(c.field, c.field), _display(c.old), _display(c.new))
                for c in delta.changes
            ]
        kind = {"+": "created", "~": "changed", "-": "deleted"}[record.history_type]
        who = record.history_user.get_username() if record.history_user else ""
        entries.append(HistoryEntry(record.history_date, who, kind, record.history_change_reason or "", changes))
    return entries
