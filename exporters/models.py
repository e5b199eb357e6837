"""Exporter install jobs (Node Exporter / Promtail over SSH) and their per-host results."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from exporters.choices import BinarySource, HostStatus, InstallAction, JobStatus
from ixnode.choices import ChoiceLabelsMixin
from ixnode.jobs import BackgroundJob


class ExporterInstall(BackgroundJob):
    """One background job installing (or removing) monitoring agents on a set of hosts."""

    action = models.CharField(_("action"), max_length=16, choices=InstallAction.choices, default=InstallAction.INSTALL)
    components = models.JSONField(_("components"), default=list)
    config = models.ForeignKey(
        "autoscaling.AutoscalingConfig",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="exporter_installs",
        verbose_name=_("service"),
        help_text=_("The hosts are registered as targets of this service's Prometheus job."),
    )
    ssh_user = models.CharField(_("SSH user"), max_length=32)
    ssh_key_path = models.CharField(_("SSH key path"), max_length=512)
    ssh_port = models.PositiveIntegerField(
        _("SSH port"), default=22, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    source = models.CharField(
        _("Node Exporter source"), max_length=16, choices=BinarySource.choices, default=BinarySource.PACKAGE
    )
    listen_host = models.CharField(
        _("exporter listen address"), max_length=64, blank=True, help_text=_("Empty: all interfaces.")
    )
    exporter_port = models.PositiveIntegerField(
        _("exporter port"), default=9100, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    status = models.CharField(_("status"), max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)

    class Meta(BackgroundJob.Meta):
        verbose_name = _("exporter install")
        verbose_name_plural = _("exporter installs")

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {', '.join(self.components)}"


class ExporterInstallHost(ChoiceLabelsMixin, models.Model):
    """One host of an install job: its progress, log and verified result."""

    install = models.ForeignKey(ExporterInstall, on_delete=models.CASCADE, related_name="hosts")
    vm_name = models.CharField(_("VM name"), max_length=80, blank=True)
    address = models.CharField(_("address"), max_length=255)
    status = models.CharField(_("status"), max_length=16, choices=HostStatus.choices, default=HostStatus.PENDING)
    step = models.CharField(_("step"), max_length=128, blank=True)
    log = models.TextField(_("log"), blank=True)
    changed = models.BooleanField(_("changed something"), default=False)
    metrics_ok = models.BooleanField(_("/metrics answered"), null=True, blank=True)
    target = models.CharField(_("Prometheus target"), max_length=255, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["install", "id"]
        verbose_name = _("exporter install host")
        verbose_name_plural = _("exporter install hosts")

    def __str__(self) -> str:
        return f"{self.vm_name or self.address} ({self.status})"
