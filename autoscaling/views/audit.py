"""The config's change history (django-simple-history) as readable diffs for the service page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from autoscaling.models import AutoscalingConfig
from ixnode.history import HistoryActor, history_actor_label, history_field_label, history_reason, history_value
from policies.models import ScalingPolicy

HISTORY_LIMIT = 20


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    when: datetime
    who: str  # "alice", "alice (API token)", "Alertmanager", "the system"
    actor: str  # HistoryActor value
    kind: str  # created, changed, deleted
    reason: str
    changes: list[FieldChange]


def config_history(*, config: AutoscalingConfig, user=None, limit: int = HISTORY_LIMIT) -> list[HistoryEntry]:
    """Newest first: who changed the config or its scaling policy when, and each field's old → new value as the
    pages show values (a few queries: the rows, their users, the templates they name)."""
    config_records = list(config.history.select_related("history_user")
                          .order_by("-history_date", "-history_id")[: limit + 1])
    policy_records = list(ScalingPolicy.history.filter(config_id=config.pk).select_related("history_user")
                          .order_by("-history_date", "-history_id")[: limit + 1])
    entries = (_entries(config_records, AutoscalingConfig, limit)
               + _entries(policy_records, ScalingPolicy, limit, policy=True))
    entries.sort(key=lambda entry: entry.when, reverse=True)
    return entries[:limit]


def _entries(records: list, model, limit: int, *, policy: bool = False) -> list[HistoryEntry]:
    entries = []
    for index, record in enumerate(records[:limit]):
        previous = records[index + 1] if index + 1 < len(records) else None
        changes: list[FieldChange] = []
        if previous is not None and record.history_type == "~":
            delta = record.diff_against(previous)
            for change in delta.changes:
                field = _field(model, change.field)
                label = history_field_label(model, change.field)
                if policy:
                    label = _("Scaling policy: %(field)s") % {"field": label}
                changes.append(FieldChange(change.field, label, history_value(field, change.old),
                                           history_value(field, change.new)))
        elif policy and record.history_type == "+":
            field = _field(model, "policy_type")
            changes.append(FieldChange("policy_type", _("Scaling policy: %(field)s") % {
                "field": history_field_label(model, "policy_type")}, "–", history_value(field, record.policy_type)))
        kind = {"+": "created", "~": "changed", "-": "deleted"}[record.history_type]
        actor = record.history_actor or (HistoryActor.USER if record.history_user_id else HistoryActor.SYSTEM)
        entries.append(HistoryEntry(record.history_date, history_actor_label(record), actor, kind,
                                    history_reason(record), changes))
    return entries


def _field(model, name: str):
    try:
        return model._meta.get_field(name)
    except Exception:  # noqa: BLE001 - a field removed since the row was written
        return None
