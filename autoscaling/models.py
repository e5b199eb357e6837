"""Autoscaling configs and the state the decision engine and pipelines keep per service."""

from __future__ import annotations

import ipaddress
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from autoscaling import constants
from autoscaling.choices import ArtifactStatus, LeaseState, ManagedVMState, NetworkMode, ScaleInOrder
from autoscaling.validation import config_errors, validate_absolute_path, validate_dns_servers
from ixnode.history import HistoricalActorModel, history_user_of

PERCENT = [MinValueValidator(0), MaxValueValidator(100)]
PUBLISHING_OFF_LABEL = _("Not published – publishing is off")


def artifacts_status_label(*, status: str) -> str:
    """The one wording of an artifacts status, for the pages, the admin and the diagnostics alike.

    While publishing is off nothing is written to Prometheus or Alertmanager, so a pending status (an enabled
    config) and a removed one (a disabled config) both read "not published – publishing is off"."""
    if settings.IXNODE_PLG_MODE == "off" and status in (ArtifactStatus.PENDING, ArtifactStatus.REMOVED):
        return str(PUBLISHING_OFF_LABEL)
    return str(ArtifactStatus(status).label) if status in ArtifactStatus.values else status


class AutoscalingConfig(models.Model):
    """How one service scales: template, bounds, thresholds, network, F5 pool and SSH access."""

    # Service
    service_name = models.CharField(
        _("service name"),
        max_length=63,
        unique=True,
        validators=[
            RegexValidator(
                constants.SERVICE_NAME_RE,
                _("Use lower-case letters, digits and hyphens (a DNS label, at most 63 characters)."),
            )
        ],
    )
    prometheus_job_name = models.CharField(
        _("Prometheus job name"),
        max_length=128,
        unique=True,
        validators=[
            RegexValidator(
                constants.PROMETHEUS_JOB_RE,
                _("Use letters, digits, '.', '_' and '-', starting with a letter or digit."),
            )
        ],
    )
    template = models.ForeignKey(
        "templates_app.Template", on_delete=models.PROTECT, related_name="configs", verbose_name=_("template")
    )
    vm_prefix = models.CharField(
        _("VM name prefix"),
        max_length=50,
        unique=True,
        validators=[
            RegexValidator(
                constants.VM_PREFIX_RE, _("Use letters, digits and hyphens (at most 50, no leading/trailing hyphen).")
            )
        ],
    )
    enabled = models.BooleanField(_("enabled"), default=False)

    # Scaling
    min_vms = models.PositiveIntegerField(_("minimum VMs"), default=2, validators=[MinValueValidator(1)])
    max_vms = models.PositiveIntegerField(_("maximum VMs"), default=4, validators=[MinValueValidator(1)])
    scale_out_step = models.PositiveIntegerField(_("scale-out step"), default=1, validators=[MinValueValidator(1)])
    scale_in_step = models.PositiveIntegerField(_("scale-in step"), default=1, validators=[MinValueValidator(1)])
    scale_in_order = models.CharField(
        _("scale-in order"), max_length=16, choices=ScaleInOrder.choices, default=ScaleInOrder.NEWEST_FIRST
    )
    warm_pool_size = models.PositiveIntegerField(
        _("warm pool size"),
        default=0,
        help_text=_(
            "VMs a scale-in keeps prepared and powered off instead of destroying them (they keep their IP); a "
            "scale-out powers them on first, skipping the clone. 0 turns the warm pool off."
        ),
    )

    # Monitoring
    scale_out_cpu_threshold = models.FloatField(_("scale-out CPU %"), default=80, validators=PERCENT)
    scale_out_memory_threshold = models.FloatField(_("scale-out memory %"), default=80, validators=PERCENT)
    scale_out_duration_minutes = models.PositiveIntegerField(
        _("scale-out duration (minutes)"), default=1, validators=[MaxValueValidator(1440)]
    )
    scale_in_cpu_threshold = models.FloatField(_("scale-in CPU %"), default=30, validators=PERCENT)
    scale_in_memory_threshold = models.FloatField(_("scale-in memory %"), default=30, validators=PERCENT)
    scale_in_duration_minutes = models.PositiveIntegerField(
        _("scale-in duration (minutes)"), default=5, validators=[MaxValueValidator(1440)]
    )
    cooldown_seconds = models.PositiveIntegerField(
        _("cooldown (seconds)"), default=constants.DEFAULT_COOLDOWN_SECONDS, validators=[MaxValueValidator(86400)]
    )
    alert_repeat_interval_seconds = models.PositiveIntegerField(
        _("Alertmanager repeat interval (seconds)"),
        default=constants.DEFAULT_REPEAT_INTERVAL_SECONDS,
        validators=[MinValueValidator(1), MaxValueValidator(86400)],
    )
    node_exporter_port = models.PositiveIntegerField(
        _("node exporter port"),
        default=constants.DEFAULT_NODE_EXPORTER_PORT,
        validators=[MinValueValidator(1), MaxValueValidator(65535)],
    )

    # Network
    network_mode = models.CharField(
        _("network setup"), max_length=24, choices=NetworkMode.choices, default=NetworkMode.SSH_NETPLAN
    )
    ip_pool_start = models.GenericIPAddressField(_("IP pool start"))
    ip_pool_end = models.GenericIPAddressField(_("IP pool end"))
    gateway = models.GenericIPAddressField(_("gateway"))
    subnet_cidr = models.CharField(_("subnet (CIDR)"), max_length=64)
    vlan_id = models.PositiveIntegerField(
        _("VLAN id"), default=0, validators=[MaxValueValidator(4094)], help_text=_("0 for untagged.")
    )
    dns_servers = models.CharField(
        _("DNS servers"),
        max_length=255,
        blank=True,
        validators=[validate_dns_servers],
        help_text=_("Comma-separated IP addresses; written into netplan."),
    )

    # F5
    f5_pool_name = models.CharField(
        _("F5 pool name"),
        max_length=128,
        validators=[RegexValidator(constants.F5_NAME_RE, _("Use letters, digits, '.', '_' and '-'."))],
    )
    f5_vip_address = models.GenericIPAddressField(_("F5 VIP address"))
    f5_vip_port = models.PositiveIntegerField(
        _("F5 VIP / service port"), default=80, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    f5_health_check_path = models.CharField(
        _("health-check path"),
        max_length=255,
        default="/health",
        validators=[RegexValidator(constants.HEALTH_PATH_RE, _("Enter a URL path starting with '/'."))],
    )

    # SSH
    ssh_user = models.CharField(
        _("SSH user"),
        max_length=32,
        default="ubuntu",
        validators=[RegexValidator(constants.SSH_USER_RE, _("Enter a valid Unix user name."))],
    )
    ssh_key_path = models.CharField(
        _("SSH key path"),
        max_length=512,
        blank=True,
        validators=[validate_absolute_path],
        help_text=_("Absolute path of the private key file on the host running pipelines (mode 600)."),
    )

    # Generated artifacts (Prometheus job/rules, Alertmanager route, Grafana, Jenkins)
    artifacts_status = models.CharField(
        _("artifacts status"), max_length=16, choices=ArtifactStatus.choices, default=ArtifactStatus.PENDING
    )
    artifacts_published_at = models.DateTimeField(_("artifacts published at"), null=True, blank=True)
    artifacts_hash = models.CharField(_("artifacts content hash"), max_length=64, blank=True)
    artifacts_error = models.TextField(_("artifacts error"), blank=True)

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # Audit trail: who changed what and when (django-simple-history; admin, API and pages alike).
    history = HistoricalRecords(excluded_fields=["updated_at"], bases=[HistoricalActorModel], get_user=history_user_of)

    class Meta:
        ordering = ["service_name"]
        verbose_name = _("autoscaling config")
        verbose_name_plural = _("autoscaling configs")

    def __str__(self) -> str:
        return self.service_name

    def get_absolute_url(self) -> str:
        """The service page (the admin's "View on site" links there)."""
        return reverse("autoscaling:service", args=[self.service_name])

    def clean(self) -> None:
        values = {field.name: getattr(self, field.attname) for field in self._meta.concrete_fields}
        errors = config_errors(values)
        if not errors.get("ip_pool_start") and not errors.get("ip_pool_end"):
            errors = {**ip_pool_overlap_errors(config=self), **errors}
        if errors:
            raise ValidationError(errors)

    @property
    def artifacts_status_text(self) -> str:
        """The artifacts status as shown to operators; says so when publishing is switched off."""
        return artifacts_status_label(status=self.artifacts_status)

    @property
    def managed_vm_regex(self) -> str:
        """Regex matching names of VMs this config's pipelines created."""
        return "^" + re.escape(self.vm_prefix) + constants.MANAGED_VM_SUFFIX_RE


class CooldownState(models.Model):
    """Per service: when each direction last started its cooldown (separate cooldowns, one duration)."""

    config = models.OneToOneField(
        AutoscalingConfig, on_delete=models.CASCADE, primary_key=True, related_name="cooldown",
        verbose_name=_("autoscaling config"),
    )
    last_scale_out_at = models.DateTimeField(_("last scale-out at"), null=True, blank=True)
    last_scale_in_at = models.DateTimeField(_("last scale-in at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("cooldown state")
        verbose_name_plural = _("cooldown states")

    def __str__(self) -> str:
        return f"cooldown of {self.config_id}"


class IPLease(models.Model):
    """An address of a config's pool handed to a VM; never handed out twice while leased."""

    config = models.ForeignKey(AutoscalingConfig, on_delete=models.CASCADE, related_name="ip_leases",
                               verbose_name=_("autoscaling config"))
    ip_address = models.GenericIPAddressField(_("IP address"))
    state = models.CharField(_("state"), max_length=16, choices=LeaseState.choices, default=LeaseState.LEASED)
    vm_name = models.CharField(_("VM name"), max_length=80, blank=True)
    event = models.ForeignKey(
        "events.ScaleEvent", on_delete=models.SET_NULL, null=True, blank=True, related_name="ip_leases",
        verbose_name=_("scale event"),
    )
    leased_at = models.DateTimeField(_("leased at"), auto_now_add=True)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)

    class Meta:
        ordering = ["-leased_at"]
        verbose_name = _("IP lease")
        verbose_name_plural = _("IP leases")
        constraints = [
            models.UniqueConstraint(
                fields=["ip_address"], condition=Q(state="leased"), name="ip_lease_one_active_per_address"
            )
        ]

    def __str__(self) -> str:
        return f"{self.ip_address} ({self.state})"


class ManagedVM(models.Model):
    """A VM an autoscaling pipeline created; only these are ever picked for scale-in."""

    config = models.ForeignKey(AutoscalingConfig, on_delete=models.CASCADE, related_name="managed_vms",
                               verbose_name=_("autoscaling config"))
    name = models.CharField(_("name"), max_length=80, unique=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    moref = models.CharField(_("vCenter managed object id"), max_length=64, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=ManagedVMState.choices, default=ManagedVMState.PROVISIONING
    )
    scale_in_protected = models.BooleanField(
        _("scale-in protection"), default=False, help_text=_("Protected VMs are never picked for scale-in.")
    )
    warm_fingerprint = models.CharField(
        _("warm pool fingerprint"),
        max_length=64,
        blank=True,
        help_text=_("Template and network settings the VM was prepared with when it entered the warm pool."),
    )
    created_by_event = models.ForeignKey(
        "events.ScaleEvent", on_delete=models.SET_NULL, null=True, blank=True, related_name="created_vms",
        verbose_name=_("created by scale event"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    in_service_at = models.DateTimeField(_("in service at"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)

    class Meta:
        ordering = ["config", "created_at"]
        verbose_name = _("managed VM")
        verbose_name_plural = _("managed VMs")

    def __str__(self) -> str:
        return self.name


def ip_pool_overlap_errors(*, config: AutoscalingConfig) -> dict[str, list[str]]:
    """Field errors when ``config``'s IP pool overlaps another config's pool (two services must never be
    able to hand out the same address); empty when the pool bounds are not valid addresses — the pure
    validation reports those."""
    try:
        start = ipaddress.ip_address(str(config.ip_pool_start))
        end = ipaddress.ip_address(str(config.ip_pool_end))
    except ValueError:
        return {}
    if start.version != end.version or int(start) > int(end):
        return {}
    others = AutoscalingConfig.objects.exclude(pk=config.pk) if config.pk else AutoscalingConfig.objects.all()
    for name, other_start, other_end in others.values_list("service_name", "ip_pool_start", "ip_pool_end"):
        try:
            low, high = ipaddress.ip_address(str(other_start)), ipaddress.ip_address(str(other_end))
        except ValueError:
            continue
        if low.version != start.version or int(start) > int(high) or int(end) < int(low):
            continue
        message = gettext("The IP pool %(start)s–%(end)s overlaps the pool %(low)s–%(high)s of service %(name)s.") % {
            "start": start, "end": end, "low": low, "high": high, "name": name}
        return {"ip_pool_start": [message], "ip_pool_end": [message]}
    return {}
