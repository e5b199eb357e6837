"""Receivers: attach the dry-run plan (VM, IP, F5 member) to every allowed dry-run decision."""

from __future__ import annotations

import logging

from django.dispatch import receiver

from autoscaling.signals import scale_decision_recorded
from policies.services import scale_event_plan_record

logger = logging.getLogger(__name__)


@receiver(scale_decision_recorded, dispatch_uid="policies-dry-run-plan")
def scale_event_dry_run_plan(sender, event, **kwargs) -> None:

    scale_event_plan_record(event=event)
