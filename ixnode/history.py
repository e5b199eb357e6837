"""Change history for people: who made a change (a user, an API token, Alertmanager, the system) and its values.

django-simple-history records each save of a model with ``HistoricalRecords``. This module adds what an operator
reads the history for:

* **the actor** — ``history_actor`` on every historical row (:class:`HistoricalActorModel`, given as
  ``HistoricalRecords(bases=[HistoricalActorModel])``), filled before the row is written by
  :func:`history_actor_fill` from the request simple-history's middleware keeps: a user logged in to the pages
  or the admin (``user``), a DRF API token (``token``), the Alertmanager webhook (``alertmanager``: its principal
  says so with a ``history_actor`` attribute), or nothing — a task, a command, the reconciler (``system``). Writes
  the product makes on its own behalf inside a user's request (the artifacts' status and publish time) are recorded
  by :func:`history_record_system_write` with the system as the actor, so the next diff a user makes does not
  carry them.
* **the values** — :func:`history_value` renders a field's value as a page shows it (yes/no, the choice's label,
  the related object's name, a local time, a comma-separated list; "–" for empty), and change reasons stored as
  English msgids are translated when shown (:func:`history_reason`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models
from django.db.models import Model
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from simple_history.models import HistoricalRecords
from simple_history.template_utils import HistoricalRecordContextHelper


class HistoryActor(models.TextChoices):
    USER = "user", gettext_lazy("User")
    TOKEN = "token", gettext_lazy("API token")
    ALERTMANAGER = "alertmanager", gettext_lazy("Alertmanager")
    SYSTEM = "system", gettext_lazy("System")


class HistoricalActorModel(models.Model):
    """Base of the historical models: what kind of actor made the change."""

    history_actor = models.CharField(
        gettext_lazy("changed by (kind)"), max_length=16, choices=HistoryActor.choices, blank=True
    )

    class Meta:
        abstract = True


def _request() -> Any:
    return getattr(HistoricalRecords.context, "request", None)


def request_actor(request: Any) -> str:
    """The kind of actor behind ``request`` (None: no request, the system)."""
    if request is None:
        return HistoryActor.SYSTEM
    user = getattr(request, "user", None)
    declared = getattr(user, "history_actor", "")
    if declared:
        return declared
    if getattr(user, "is_authenticated", False):
        auth = getattr(request, "auth", None)  # DRF copies the credentials it authenticated onto the request
        return HistoryActor.TOKEN if auth is not None else HistoryActor.USER
    return HistoryActor.SYSTEM


def history_user_of(instance: Model | None = None, request: Any = None, **kwargs: Any) -> Any:
    """``HistoricalRecords(get_user=...)``: the request's user when it is a user account (the webhook's principal
    is not one), else None."""
    user = getattr(request, "user", None)
    if isinstance(user, Model) and getattr(user, "is_authenticated", False):
        return user
    return None


def history_actor_fill(sender: Any, history_instance: Any, **kwargs: Any) -> None:
    """``pre_create_historical_record`` receiver: the actor of the row about to be written."""
    if getattr(history_instance, "history_actor", None) != "":
        return
    explicit = getattr(kwargs.get("instance"), "_history_actor", "")
    request = _request()
    if explicit:
        history_instance.history_actor = explicit
    elif request is not None:
        history_instance.history_actor = request_actor(request)
    else:  # a script or test naming the user with ``_history_user``, else the system
        history_instance.history_actor = HistoryActor.USER if history_instance.history_user_id else HistoryActor.SYSTEM


SYSTEM_FIELDS_REASON = gettext_noop("Generated artifacts updated")  # stored in English, translated when shown


def history_record_system_write(*, instance: Model, fields: tuple[str, ...], reason: str) -> bool:
    """Record the current state of ``instance`` (``fields`` just written with ``update()``, so without a row of
    their own) as a change the system made, whatever request is running — when one of them differs from the last
    recorded row. Returns whether a row was written."""
    last = instance.history.order_by("-history_date", "-history_id").first()  # type: ignore[attr-defined]
    if last is not None and all(getattr(last, name) == getattr(instance, name) for name in fields):
        return False
    instance._history_user = None  # type: ignore[attr-defined]  # not the request's user: the system made this change
    type(instance).history.bulk_history_create(  # type: ignore[attr-defined]
        [instance], update=last is not None, default_change_reason=reason,
        custom_historical_attrs={"history_actor": HistoryActor.SYSTEM},
    )
    return True


# --- display ---------------------------------------------------------------------------------------------------

def history_actor_label(record: Any) -> str:
    """"alice", "alice (API token)", "Alertmanager" or "the system" for a historical row."""
    user = getattr(record, "history_user", None)
    actor = getattr(record, "history_actor", "") or (HistoryActor.USER if user else HistoryActor.SYSTEM)
    name = user.get_username() if user is not None else ""
    if actor == HistoryActor.TOKEN:
        return _("%(user)s (API token)") % {"user": name} if name else str(HistoryActor.TOKEN.label)
    if actor == HistoryActor.ALERTMANAGER:
        return str(HistoryActor.ALERTMANAGER.label)
    if actor == HistoryActor.USER and name:
        return name
    return _("the system")


def history_reason(record: Any) -> str:
    """The change reason, translated when it is one of the product's own (stored as the English msgid)."""
    reason = getattr(record, "history_change_reason", None) or ""
    return _(reason) if reason else ""


def _local(value: dt.datetime) -> str:
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return formats.date_format(value, "Y-m-d H:i:s")


def history_value(field: models.Field | None, value: Any) -> str:
    """A field's value as the pages show it."""
    if value is None or value == "" or value == [] or value == {}:
        return "–"
    if field is not None and field.choices:
        labels = {str(key): label for key, label in field.flatchoices}
        if str(value) in labels:
            return str(labels[str(value)])
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return _local(value)
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "–"
    if isinstance(value, dict):
        return ", ".join(f"{key}={item}" for key, item in value.items())
    if isinstance(value, Model):
        return str(value)
    related_model = field.related_model if field is not None and field.is_relation else None
    if isinstance(related_model, type) and issubclass(related_model, Model):
        related = related_model._default_manager.filter(pk=value).first()
        return str(related) if related is not None else f"#{value}"
    return str(value)


def history_field_label(model: type[Model], name: str) -> str:
    try:
        field = model._meta.get_field(name)
    except Exception:  # noqa: BLE001 - a field removed since the row was written
        return name
    return str(capfirst(getattr(field, "verbose_name", name)))


class HumanHistoryContextHelper(HistoricalRecordContextHelper):
    """The admin history's changes with the values formatted as on the pages."""

    def prepare_delta_change_value(self, change, value):
        try:
            field = self.model._meta.get_field(change.field)
        except Exception:  # noqa: BLE001
            field = None
        return history_value(field, value)


class HumanHistoryAdminMixin:
    """Mix into a ``SimpleHistoryAdmin``: values for people, the actor and a translated reason in its history."""

    def get_historical_record_context_helper(self, request, historical_record):
        return HumanHistoryContextHelper(self.model, historical_record)  # type: ignore[attr-defined]

