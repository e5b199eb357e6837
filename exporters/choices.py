"""Enumerations of exporter installs."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Component(models.TextChoices):
    NODE_EXPORTER = "node_exporter", _("Node Exporter")
    PROMTAIL = "promtail", _("Promtail")


class InstallAction(models.TextChoices):
    INSTALL = "install", _("Install")
    UNINSTALL = "uninstall", _("Uninstall")


class BinarySource(models.TextChoices):
    PACKAGE = "package", _("Host package manager (apt-get)")
    UPLOAD = "upload", _("Upload the binary configured on this server")


class JobStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    PARTIAL = "partial", _("Partly failed")
    FAILED = "failed", _("Failed")


class HostStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
