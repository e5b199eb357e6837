"""Serializers of templates_app's API."""

from __future__ import annotations

from rest_framework import serializers

from templates_app.models import Template


class TemplateSerializer(serializers.ModelSerializer):
    """A template as the API shows it: camelCase fields, like the config API."""

    # A list of strings, never null (the model column is NOT NULL; a bare JSONField let null and objects through).
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False)

    class Meta:
        model = Template
        fields = ["id", "name", "sourceVmName", "vcenterPath", "datastore", "createdAt", "description", "tags",
                  "updatedAt"]
        extra_kwargs = {
            "sourceVmName": {"source": "source_vm_name"},
            "vcenterPath": {"source": "vcenter_path"},
            "createdAt": {"source": "created_at"},
            "updatedAt": {"source": "updated_at"},
        }
        read_only_fields = ["id", "vcenterPath", "datastore", "createdAt", "updatedAt"]

    def validate_name(self, value: str) -> str:
        if self.instance is not None and value != self.instance.name:
            raise serializers.ValidationError(
                "The name is vCenter's template name: rename the template in vCenter, then sync."
            )
        return value


class TemplateFromVMSerializer(serializers.Serializer):
    source_vm_name = serializers.CharField(max_length=80)
    name = serializers.CharField(max_length=80)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False, default=list)


class TemplatesSyncResultSerializer(serializers.Serializer):
    created = serializers.ListField(child=serializers.CharField())
    updated = serializers.ListField(child=serializers.CharField())
    unchanged = serializers.ListField(child=serializers.CharField())
    missing_in_vcenter = serializers.ListField(child=serializers.CharField())


class VCenterVMSerializer(serializers.Serializer):
    name = serializers.CharField()
    moref = serializers.CharField()
    power_state = serializers.CharField()
    is_template = serializers.BooleanField()
    path = serializers.CharField()
    datastores = serializers.ListField(child=serializers.CharField())
    ip_address = serializers.CharField()
    guest_ips = serializers.ListField(child=serializers.CharField())
    guest_hostname = serializers.CharField()
    tools_running = serializers.BooleanField()
