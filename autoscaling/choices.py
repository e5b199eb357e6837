"""Enumerations of the autoscaling domain."""

from django.db import models
from django.utils.translation import gettext_lazy as _


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
