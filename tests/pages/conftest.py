"""Fixtures of the operator page tests: users with and without permissions, events, stages."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

_seq = itertools.count(1)

VIEW_PERMS = [
    ("autoscaling", "view_autoscalingconfig"),
    ("events", "view_scaleevent"),
    ("exporters", "view_exporterinstall"),
]


@pytest.fixture
def operator(django_user_model):
    """A non-staff operator who may view configs, events and exporter installs."""
    user = django_user_model.objects.create_user("operator", password="operator-pass-123")
    for app, codename in VIEW_PERMS:
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    return user


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def nobody_client(django_user_model):
    """Logged in, but without any permission (its own client: ``client`` stays anonymous)."""
    from django.test import Client

    other = Client()
    other.force_login(django_user_model.objects.create_user("nobody", password="nobody-pass-123"))
    return other


@pytest.fixture
def make_config(template, config_values):
    """Build more valid configs: ``make_config("shop-web", pool_octet=60)``."""
    from autoscaling.models import AutoscalingConfig

    def factory(name: str, octet: int | None = None, **overrides):
        octet = octet if octet is not None else 100 + next(_seq) % 100
        values = dict(config_values)
        values.update(
            service_name=name,
            prometheus_job_name=f"{name}-job",
            vm_prefix=name,
            f5_pool_name=f"{name}-pool",
            ip_pool_start=f"127.0.{octet}.220",
            ip_pool_end=f"127.0.{octet}.228",
            gateway=f"127.0.{octet}.1",
            subnet_cidr=f"127.0.{octet}.0/24",
            f5_vip_address=f"127.0.{octet}.229",
        )
        values.update(overrides)
        obj = AutoscalingConfig(**values)
        obj.full_clean()
        obj.save()
        return obj

    return factory


@pytest.fixture
def make_event():
    from events.models import ScaleEvent

    def factory(config=None, *, service_name: str | None = None, minutes_ago: float = 0, **fields):
        values = {
            "service_name": service_name or (config.service_name if config else "svc"),
            "config": config,
            "action": "scale-out",
            "decision": "ALLOW",
            "status": "succeeded",
            "reason": "cpu high",
            "before_count": 2,
            "after_count": 3,
            "vm_names": ["svc-20260101000000"],
        }
        values.update(fields)
        event = ScaleEvent.objects.create(**values)
        if minutes_ago:
            ScaleEvent.objects.filter(pk=event.pk).update(
                created_at=timezone.now() - dt.timedelta(minutes=minutes_ago)
            )
            event.refresh_from_db()
        return event

    return factory


SCALE_OUT_STAGES = [  # the scale-out pipeline's stage names (autoscaling/pipelines/scale_out.py)
    "allocate_ip",
    "clone",
    "power_on",
    "network",
    "health",
    "f5_add",
    "target_add",
    "complete",
]


@pytest.fixture
def make_run(make_event):
    """A scale-out run in flight with its stages (first stage running)."""
    from events.models import ScaleEventStage

    def factory(config, **fields):
        fields.setdefault("status", "running")
        fields.setdefault("current_stage", SCALE_OUT_STAGES[0])
        fields.setdefault("after_count", None)
        event = make_event(config, **fields)
        for position, name in enumerate(SCALE_OUT_STAGES, start=1):
            ScaleEventStage.objects.create(
                event=event,
                position=position,
                name=name,
                status="running" if position == 1 else "pending",
                started_at=timezone.now() if position == 1 else None,
                log="leased 127.0.48.221\n" if position == 1 else "",
            )
        return event

    return factory
