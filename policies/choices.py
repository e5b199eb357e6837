"""Enumerations of scaling policies."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PolicyType(models.TextChoices):
    RECOMMENDED = "recommended", _("Recommended (the seed's band, decided on the freshest measurement)")
    STEP = "step", _("Step (seed: alert-driven, fixed step, cooldown)")
    TARGET_TRACKING = "target_tracking", _("Target tracking")
    PREDICTIVE = "predictive", _("Predictive (forecast + target tracking)")


class PolicyMetric(models.TextChoices):
    CPU = "cpu", _("CPU %")
    MEMORY = "memory", _("Memory %")


class ScalingProcess(models.TextChoices):
    SCALE_OUT = "scale_out", _("Scale-out")
    SCALE_IN = "scale_in", _("Scale-in")
    SCHEDULED = "scheduled", _("Scheduled actions")
    PREDICTIVE = "predictive", _("Predictive")


class WhatIfStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
