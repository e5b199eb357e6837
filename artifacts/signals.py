"""Receivers that keep the generated artifacts in step with the configs: they only enqueue (after commit)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save, pre_save

from artifacts.services import artifacts_regenerate_enqueue
from autoscaling.models import AutoscalingConfig

ARTIFACT_STATE_FIELDS = {"artifacts_status", "artifacts_published_at", "artifacts_hash", "artifacts_error"}


def config_saving(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """Remember the stored service name: a rename must also remove everything owned under the old name."""
    if raw or instance.pk is None:
        return
    instance._artifacts_previous_service_name = (
        sender.objects.filter(pk=instance.pk).values_list("service_name", flat=True).first()
    )


def config_saved(sender: Any, instance: Any, raw: bool = False, update_fields: Any = None, **kwargs: Any) -> None:
    if raw:
        return
    if update_fields and set(update_fields) <= ARTIFACT_STATE_FIELDS | {"updated_at"}:
        return

    previous = getattr(instance, "_artifacts_previous_service_name", None)
    if previous and previous != instance.service_name:
        artifacts_regenerate_enqueue(service_name=previous, config_id=None)
    artifacts_regenerate_enqueue(service_name=instance.service_name, config_id=instance.pk)


def config_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:

    artifacts_regenerate_enqueue(service_name=instance.service_name, config_id=None)


def connect() -> None:

    pre_save.connect(config_saving, sender=AutoscalingConfig, dispatch_uid="artifacts-config-saving")
    post_save.connect(config_saved, sender=AutoscalingConfig, dispatch_uid="artifacts-config-saved")
    post_delete.connect(config_deleted, sender=AutoscalingConfig, dispatch_uid="artifacts-config-deleted")
