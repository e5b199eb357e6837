"""Services that write autoscaling configs: create, update, enable/disable, delete.

Every write goes through ``full_clean()`` so the admin, the pages and the API reject the same things
with the same field messages. Post-save work (artifact regeneration) hangs off the model's
signals, which enqueue on commit.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from autoscaling import constants, selectors
from autoscaling.choices import ManagedVMState
from autoscaling.models import AutoscalingConfig
from autoscaling.naming import DERIVED_FIELDS, config_derived_names


class ConfigDeleteRefused(Exception):
    """Deleting the config now would orphan a run or VMs; the message says what to do first."""


def config_values_with_defaults(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the Prometheus job name, VM prefix and F5 pool name derived from the service name where
    they are missing or empty (``autoscaling.naming``); every other value as given."""
    derived = config_derived_names(str(values.get("service_name") or ""))
    filled = dict(values)
    for name in DERIVED_FIELDS:
        if not filled.get(name) and name in derived:
            filled[name] = derived[name]
    return filled


def config_build(*, values: dict[str, Any], config: AutoscalingConfig | None = None) -> AutoscalingConfig:
    """The config ``values`` would give, validated (``full_clean``: the same field errors everywhere) but not
    saved: a new one with the derived names filled in, or ``config`` with ``values`` applied."""
    if config is None:
        config = AutoscalingConfig(**config_values_with_defaults(values))
    else:
        for name, value in values.items():
            setattr(config, name, value)
    config.full_clean()
    return config


def config_save(*, config: AutoscalingConfig) -> None:
    """Save a validated ``config`` (in the caller's transaction, if any, inside a savepoint of its own).

    Validation ran before the save, so a concurrent create or rename may have taken a unique name (service,
    Prometheus job, VM prefix) meanwhile: the database's unique constraint refuses the row, and this raises the
    same field ValidationError a sequential duplicate gets from ``full_clean`` — never the IntegrityError.
    """
    try:
        with transaction.atomic():
            config.save()
    except IntegrityError as exc:
        try:
            config.validate_unique()
        except ValidationError as unique_error:
            raise unique_error from exc
        raise


def config_writes_serialize() -> None:
    """Inside a transaction: wait until no other transaction is validating or saving a config, so validation (which
    reads the other configs: unique names, overlapping IP pools) sees every config committed before this one.
    PostgreSQL: a transaction-scoped advisory lock; SQLite: the transaction's ``BEGIN IMMEDIATE`` already holds the
    database's write lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [constants.CONFIG_WRITES_LOCK_KEY])


def config_create(*, values: dict[str, Any]) -> AutoscalingConfig:
    """Create a config from model field values (``template`` as a Template instance); the job name, VM prefix
    and F5 pool name are derived from the service name when left out."""
    with transaction.atomic():
        config_writes_serialize()
        config = config_build(values=values)
        config_save(config=config)
    return config


def config_update(*, config: AutoscalingConfig, values: dict[str, Any]) -> AutoscalingConfig:
    """Apply model field values to ``config``, validate the whole result, save."""
    with transaction.atomic():
        config_writes_serialize()
        config_build(values=values, config=config)
        config_save(config=config)
    return config


def config_set_enabled(*, config: AutoscalingConfig, enabled: bool, reason: str = "") -> AutoscalingConfig:
    """Enable or disable a config (enabling validates it first: an invalid config never goes live). ``reason``
    goes into the config's change history (e.g. the pre-flight checks an operator enabled it despite)."""
    if config.enabled == enabled:
        return config
    config.enabled = enabled
    if enabled:
        try:
            config.full_clean()
        except ValidationError:
            config.enabled = False
            raise
    if reason:
        # django-simple-history records the next save with this reason (its documented attribute).
        setattr(config, "_change_reason", reason[:100])  # noqa: B010
    config.save()
    return config


def config_delete_blockers(*, config: AutoscalingConfig) -> list[str]:
    """Why ``config`` cannot be deleted now (empty when it can)."""
    reasons = []
    run = selectors.scale_event_in_flight(config=config)
    if run is not None:
        reasons.append(
            _("Scale event #%(id)s (%(action)s) is %(status)s; wait for it to finish.")
            % {"id": run.pk, "action": run.action, "status": run.status}
        )
    alive_vms = selectors.managed_vms_alive(config=config)
    warm = list(alive_vms.filter(state=ManagedVMState.WARM).values_list("name", flat=True)[:10])
    alive = list(alive_vms.exclude(state=ManagedVMState.WARM).values_list("name", flat=True)[:10])
    if warm:
        reasons.append(
            _("VMs are waiting in the warm pool (%(names)s); set the warm pool size to 0 and destroy them "
              "(admin action or manage.py warm_pool_trim) first.")
            % {"names": ", ".join(warm)}
        )
    if alive:
        reasons.append(
            _("Autoscaled VMs are still alive (%(names)s); scale in to the minimum or delete them first.")
            % {"names": ", ".join(alive)}
        )
    return reasons


def config_delete(*, config: AutoscalingConfig) -> None:
    """Delete a config unless a run is in flight or VMs it created are still alive.

    Its scale events stay (audit); its cooldown state and released IP leases go with it.
    """
    with transaction.atomic():
        reasons = config_delete_blockers(config=config)
        if reasons:
            raise ConfigDeleteRefused(
                _("The autoscaling config '%(name)s' cannot be deleted: %(reasons)s")
                % {"name": config.service_name, "reasons": " ".join(reasons)}
            )
        config.delete()


def validation_error_dict(error: ValidationError) -> dict[str, list[str]]:
    """Field errors of a model ValidationError as plain strings (``__all__`` for non-field errors)."""
    if hasattr(error, "error_dict"):
        return {field: [str(message) for message in ValidationError(messages).messages]
                for field, messages in error.error_dict.items()}
    return {"__all__": [str(message) for message in error.messages]}
