"""Enumerations of the autoscaling domain."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ScaleAction(models.TextChoices):
    SCALE_OUT = "scale-out", _("Scale-out")
    SCALE_IN = "scale-in", _("Scale-in")


class Decision(models.TextChoices):
    ALLOW = "ALLOW", _("Allowed")
    BLOCK_MAX = "BLOCK_MAX", _("Blocked: maximum VM count reached")
    BLOCK_MIN = "BLOCK_MIN", _("Blocked: minimum VM count reached")
    BLOCK_COOLDOWN = "BLOCK_COOLDOWN", _("Blocked: in cooldown")
    BLOCK_IN_PROGRESS = "BLOCK_IN_PROGRESS", _("Blocked: a run is already in flight")
    BLOCK_DISABLED = "BLOCK_DISABLED", _("Blocked: config disabled")
    BLOCK_UNKNOWN_COUNT = "BLOCK_UNKNOWN_COUNT", _("Blocked: current VM count unknown")
    BLOCK_IP_POOL = "BLOCK_IP_POOL", _("Blocked: IP pool exhausted")


class ScaleInOrder(models.TextChoices):
    NEWEST_FIRST = "newest_first", _("Newest first (LIFO)")
    OLDEST_FIRST = "oldest_first", _("Oldest first (FIFO)")


class NetworkMode(models.TextChoices):
    SSH_NETPLAN = "ssh_netplan", _("SSH + netplan (seed)")
    GUEST_CUSTOMIZATION = "guest_customization", _("vSphere guest customization")


class ArtifactStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACTIVE = "active", _("Active")
    ERROR = "error", _("Error")
    REMOVED = "removed", _("Removed")


class LeaseState(models.TextChoices):
    LEASED = "leased", _("Leased")
    RELEASED = "released", _("Released")


class ManagedVMState(models.TextChoices):
    PROVISIONING = "provisioning", _("Provisioning")
    IN_SERVICE = "in_service", _("In service")
    DRAINING = "draining", _("Draining")
    WARM = "warm", _("Warm (powered off in the warm pool)")
    DELETED = "deleted", _("Deleted")
