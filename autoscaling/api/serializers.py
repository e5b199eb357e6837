"""The config API's JSON shape: camelCase, nested monitoring/network/f5 sections.

Field names map onto model fields through ``source``; the nested groups use ``source="*"``, so the
validated data is flat model field values, handed to the services (which run ``full_clean()``). Model
validation errors come back mapped onto the same nested camelCase paths, with the admin's messages.
Additions to the seed's shape: ``scaleInOrder``; ``monitoring.alertRepeatIntervalSeconds`` and
``monitoring.nodeExporterPort``; ``network.mode`` and ``network.dnsServers``; read-only ``artifacts``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.settings import api_settings

from autoscaling.models import AutoscalingConfig, ManagedVM
from autoscaling.services.configs import config_create, config_update, validation_error_dict
from templates_app.models import Template

MONITORING = {
    "cpuThreshold": "scale_out_cpu_threshold",
    "memoryThreshold": "scale_out_memory_threshold",
    "durationMinutes": "scale_out_duration_minutes",
    "scaleInCpuThreshold": "scale_in_cpu_threshold",
    "scaleInMemoryThreshold": "scale_in_memory_threshold",
    "scaleInDurationMinutes": "scale_in_duration_minutes",
    "cooldownSeconds": "cooldown_seconds",
    "alertRepeatIntervalSeconds": "alert_repeat_interval_seconds",
    "nodeExporterPort": "node_exporter_port",
}
NETWORK = {
    "mode": "network_mode",
    "ipPoolStart": "ip_pool_start",
    "ipPoolEnd": "ip_pool_end",
    "gateway": "gateway",
    "subnetCidr": "subnet_cidr",
    "vlanId": "vlan_id",
    "dnsServers": "dns_servers",
}
F5 = {
    "poolName": "f5_pool_name",
    "vipAddress": "f5_vip_address",
    "vipPort": "f5_vip_port",
    "healthCheckPath": "f5_health_check_path",
}
ARTIFACTS = {
    "status": "artifacts_status",
    "publishedAt": "artifacts_published_at",
    "hash": "artifacts_hash",
    "error": "artifacts_error",
}
TOP = {
    "serviceName": "service_name",
    "prometheusJobName": "prometheus_job_name",
    "vmPrefix": "vm_prefix",
    "minVms": "min_vms",
    "maxVms": "max_vms",
    "scaleOutStep": "scale_out_step",
    "scaleInStep": "scale_in_step",
    "scaleInOrder": "scale_in_order",
    "warmPoolSize": "warm_pool_size",
    "sshUser": "ssh_user",
    "sshKeyPath": "ssh_key_path",
    "enabled": "enabled",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
}
GROUPS = {"monitoring": MONITORING, "network": NETWORK, "f5": F5, "artifacts": ARTIFACTS}
READ_ONLY = {"createdAt", "updatedAt"}
# Derived from the service name when left out on create (autoscaling.naming): serviceName-service, serviceName,
# serviceName-pool.
DERIVED = {"prometheusJobName", "vmPrefix", "poolName"}

# model field name -> path in the JSON document
FIELD_PATHS: dict[str, tuple[str, ...]] = {model: (name,) for name, model in TOP.items()}
FIELD_PATHS["template"] = ("templateId",)
for _group, _fields in GROUPS.items():
    FIELD_PATHS.update({model: (_group, name) for name, model in _fields.items()})


def _kwargs(camel: str, model_field: str, **kwargs: Any) -> dict[str, Any]:
    if camel != model_field:
        kwargs["source"] = model_field
    return kwargs


def _group_serializer(name: str, fields: dict[str, str], *, read_only: bool = False) -> type:
    extra: dict[str, dict[str, Any]] = {}
    for camel, model_field in fields.items():
        # Uniqueness and cross-field rules are checked by full_clean() with the admin's messages.
        extra[camel] = _kwargs(camel, model_field) if read_only else _kwargs(camel, model_field, validators=[])
        if camel in DERIVED and not read_only:
            extra[camel]["required"] = False
    meta = type("Meta", (), {
        "model": AutoscalingConfig,
        "fields": list(fields),
        "extra_kwargs": extra,
        "read_only_fields": list(fields) if read_only else [],
    })
    return type(name, (serializers.ModelSerializer,), {"Meta": meta, "__module__": __name__})


MonitoringSerializer = _group_serializer("MonitoringSerializer", MONITORING)
NetworkSerializer = _group_serializer("NetworkSerializer", NETWORK)
F5Serializer = _group_serializer("F5Serializer", F5)
ArtifactsSerializer = _group_serializer("ArtifactsSerializer", ARTIFACTS, read_only=True)


def nest_errors(errors: dict[str, list[str]]) -> dict[str, Any]:
    """Model field errors → the JSON document's nested camelCase paths."""
    nested: dict[str, Any] = {}
    for field, messages in errors.items():
        if field == NON_FIELD_ERRORS:
            nested.setdefault(api_settings.NON_FIELD_ERRORS_KEY, []).extend(messages)
            continue
        path = FIELD_PATHS.get(field, (field,))
        node = nested
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node.setdefault(path[-1], []).extend(messages)
    return nested


class AutoscalingConfigSerializer(serializers.ModelSerializer):
    """An autoscaling config as the API shows it (camelCase, nested sections)."""

    templateId = serializers.PrimaryKeyRelatedField(  # noqa: N815
        source="template", queryset=Template.objects.all(), help_text="Id of the VM template (see /api/templates/).",
        pk_field=serializers.IntegerField(),  # an integer first: 1e400 (infinity) reached the query as an OverflowError
    )
    monitoring = MonitoringSerializer(source="*")
    network = NetworkSerializer(source="*")
    f5 = F5Serializer(source="*")
    artifacts = ArtifactsSerializer(source="*", read_only=True)

    class Meta:
        model = AutoscalingConfig
        fields = ["id", *[name for name in TOP if name not in ("createdAt", "updatedAt")], "templateId",
                  "monitoring", "network", "f5", "artifacts", "createdAt", "updatedAt"]
        extra_kwargs = {
            name: _kwargs(name, model, read_only=True) if name in READ_ONLY else _kwargs(name, model, validators=[])
            for name, model in TOP.items()
        }
        for name in DERIVED & set(TOP):
            extra_kwargs[name]["required"] = False
        read_only_fields = ["id"]

    def create(self, validated_data: dict[str, Any]) -> AutoscalingConfig:
        try:
            return config_create(values=validated_data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(nest_errors(validation_error_dict(exc))) from exc

    def update(self, instance: AutoscalingConfig, validated_data: dict[str, Any]) -> AutoscalingConfig:
        try:
            return config_update(config=instance, values=validated_data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(nest_errors(validation_error_dict(exc))) from exc


class ManualScaleSerializer(serializers.Serializer):
    """An operator's scale-out or scale-in by ``count`` VMs (never past min/max)."""

    action = serializers.ChoiceField(choices=["scale-out", "scale-in"])
    count = serializers.IntegerField(min_value=1, max_value=100, default=1)


class DesiredCountSerializer(serializers.Serializer):
    """Move the service to ``desiredCount`` VMs (between its min and max)."""

    desiredCount = serializers.IntegerField(min_value=0)  # noqa: N815


class VMProtectionSerializer(serializers.ModelSerializer):
    service_name = serializers.CharField(source="config.service_name", read_only=True)

    class Meta:
        model = ManagedVM
        fields = ["name", "service_name", "state", "ip_address", "scale_in_protected"]
        read_only_fields = ["name", "service_name", "state", "ip_address"]
