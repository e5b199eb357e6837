"""The exporter install form: VMs from vCenter (with their IPs) and/or typed hosts, SSH access, agents."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, cast

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from autoscaling.models import AutoscalingConfig
from exporters.choices import BinarySource, Component, InstallAction
from exporters.services import HostSpec

HOST_RE = re.compile(r"^[A-Za-z0-9._-]{1,253}$")


class ExporterInstallForm(forms.Form):
    vms = forms.MultipleChoiceField(label=_("VMs from vCenter"), required=False, widget=forms.CheckboxSelectMultiple)
    extra_hosts = forms.CharField(
        label=_("Other hosts"), required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 40}),
        help_text=_("One per line: an address, or a name and an address."),
    )
    action = forms.ChoiceField(label=_("Action"), choices=InstallAction.choices, initial=InstallAction.INSTALL)
    components = forms.MultipleChoiceField(label=_("Components"), choices=Component.choices,
                                           initial=[Component.NODE_EXPORTER], widget=forms.CheckboxSelectMultiple)
    config = forms.ModelChoiceField(label=_("Service (register targets in its Prometheus job)"), required=False,
                                    queryset=AutoscalingConfig.objects.order_by("service_name"),
                                    to_field_name="service_name")
    ssh_user = forms.CharField(label=_("SSH user"), max_length=32, initial="ubuntu")
    ssh_key_path = forms.CharField(label=_("SSH key path"), max_length=512)
    ssh_port = forms.IntegerField(label=_("SSH port"), min_value=1, max_value=65535, initial=22)
    source = forms.ChoiceField(label=_("Node Exporter source"), choices=BinarySource.choices,
                               initial=BinarySource.PACKAGE)
    exporter_port = forms.IntegerField(label=_("Exporter port"), min_value=1, max_value=65535, initial=9100)

    def __init__(self, *args, vm_choices: list[tuple[str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.MultipleChoiceField, self.fields["vms"]).choices = vm_choices or []
        self.fields["ssh_key_path"].initial = settings.IXNODE_SSH_KEY_PATH

    def clean_extra_hosts(self) -> list[HostSpec]:
        hosts = []
        for number, line in enumerate(self.cleaned_data["extra_hosts"].splitlines(), start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) > 2 or not all(HOST_RE.match(p) for p in parts):
                message = _("Line %(n)d: write an address, or a name and an address.")
                raise forms.ValidationError(message % {"n": number})
            name, address = (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])
            try:
                ipaddress.ip_address(address)
            except ValueError:
                if not re.match(r"^[A-Za-z0-9.-]+$", address):
                    message = _("Line %(n)d: %(a)s is not an address.")
                    raise forms.ValidationError(message % {"n": number, "a": address}) from None
            hosts.append(HostSpec(address=address, vm_name=name))
        return hosts

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        picked = [HostSpec(address=value.split("|", 1)[1], vm_name=value.split("|", 1)[0])
                  for value in cleaned.get("vms") or []]
        hosts = picked + list(cleaned.get("extra_hosts") or [])
        if not hosts and not self.errors:
            raise forms.ValidationError(_("Pick at least one VM or type a host."))
        cleaned["hosts"] = hosts
        return cleaned
