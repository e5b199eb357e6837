"""The config form of the create/edit pages: the original design's sections, each field with its rule.

The form only parses (the model fields' own form fields: types, choices, lengths); every rule — the fields'
validators, the cross-field rules, uniqueness, the overlap of IP pools — is the model's ``full_clean``, run by the
config service (``policies.services.config_save_with_policy`` → ``autoscaling.services.configs.config_build``), the
same path as the admin and the API, and its field errors are put back on the form's fields (``add_model_errors``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.forms.models import fields_for_model
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from autoscaling import naming
from autoscaling.models import AutoscalingConfig
from policies.choices import PolicyType
from policies.models import ScalingPolicy
from policies.services import POLICY_PAGE_FIELDS
from templates_app.models import Template

# The config's sections in the design's order (service, template, monitoring, scaling, network, F5, SSH), then the
# policy.
SECTIONS: list[tuple[str, Any, tuple[str, ...]]] = [
    ("service", _("Service"), ("service_name", "prometheus_job_name", "vm_prefix")),
    ("template", _("Template"), ("template",)),
    ("monitoring", _("Monitoring"), (
        "scale_out_cpu_threshold", "scale_out_memory_threshold", "scale_out_duration_minutes",
        "scale_in_cpu_threshold", "scale_in_memory_threshold", "scale_in_duration_minutes",
        "cooldown_seconds", "alert_repeat_interval_seconds", "node_exporter_port")),
    ("scaling", _("Scaling"), ("min_vms", "max_vms", "scale_out_step", "scale_in_step", "scale_in_order",
                               "warm_pool_size")),
    ("network", _("Network"), ("network_mode", "ip_pool_start", "ip_pool_end", "gateway", "subnet_cidr", "vlan_id",
                               "dns_servers")),
    ("f5", _("F5"), ("f5_pool_name", "f5_vip_address", "f5_vip_port", "f5_health_check_path")),
    ("ssh", _("SSH"), ("ssh_user", "ssh_key_path")),
    ("policy", _("Policy"), POLICY_PAGE_FIELDS),
]
CONFIG_FIELDS = tuple(name for _key, _title, names in SECTIONS[:-1] for name in names)

_format_lazy = lazy(lambda text, values: str(text) % values, str)

# The rules each field must follow, shown under it before saving (the messages of a failed save say the same).
RULES: dict[str, Any] = {
    "service_name": _("Lower-case letters, digits and hyphens, at most 63 (a DNS label). It names the webhook "
                      "(/api/webhook/autoscale/<name>) and the generated artifacts; it cannot be changed here later."),
    "prometheus_job_name": _format_lazy(
        _("Letters, digits, '.', '_' and '-'; unique. The VM count is the number of this job's targets. Empty: "
          "<service name>%(suffix)s."), {"suffix": naming.JOB_SUFFIX}),
    "vm_prefix": _("Letters, digits and hyphens, at most 50; unique. New VMs are named <prefix>-YYYYMMDDHHmmss and "
                   "only VMs named so are ever scaled in. Empty: the service name."),
    "template": _("Cloned for every new VM. Enabling checks that vCenter has it."),
    "scale_out_cpu_threshold": _("0–100 %. Scale out when the busiest VM stays above it for the duration."),
    "scale_out_memory_threshold": _("0–100 %. Scale out when the busiest VM stays above it for the duration."),
    "scale_out_duration_minutes": _("Minutes the threshold must hold (at most 1440)."),
    "scale_in_cpu_threshold": _("0–100 %, below the scale-out CPU threshold. Scale in when every VM stays below "
                                "both scale-in thresholds."),
    "scale_in_memory_threshold": _("0–100 %, below the scale-out memory threshold."),
    "scale_in_duration_minutes": _("Minutes the thresholds must hold (at most 1440)."),
    "cooldown_seconds": _("Seconds after each run (and after reaching min/max) before the same direction acts "
                          "again; at most 86400."),
    "alert_repeat_interval_seconds": _("How often Alertmanager repeats a firing alert (1–86400 s)."),
    "node_exporter_port": _("1–65535: the port Prometheus scrapes on every VM."),
    "min_vms": _("At least 1. Scale-in never goes below it."),
    "max_vms": _("At least the minimum. Scale-out never goes above it."),
    "scale_out_step": _("VMs one scale-out adds (at least 1, never past the maximum)."),
    "scale_in_step": _("VMs one scale-in removes (at least 1, never past the minimum)."),
    "warm_pool_size": _("0 turns the warm pool off; at most maximum − minimum."),
    "ip_pool_start": _("Inside the subnet. The pool must hold at least maximum − minimum addresses and must not "
                       "overlap another service's pool."),
    "ip_pool_end": _("Inside the subnet, not before the start."),
    "gateway": _("Inside the subnet, outside the IP pool."),
    "subnet_cidr": _("CIDR with no host bits set, e.g. 10.255.48.0/24."),
    "vlan_id": _("0–4094; 0 for untagged."),
    "f5_pool_name": _format_lazy(
        _("Letters, digits, '.', '_' and '-'. The pool must exist on the BIG-IP. Empty: <service name>%(suffix)s."),
        {"suffix": naming.POOL_SUFFIX}),
    "f5_vip_address": _("Inside the subnet, outside the IP pool."),
    "f5_vip_port": _("1–65535: the port the pool members serve on (the F5 member port)."),
    "f5_health_check_path": _("A URL path starting with '/'; a new VM joins the pool once it answers 200 there."),
    "ssh_user": _("A Unix user name the VMs accept the key for."),
    "ssh_key_path": _("Absolute path on this host, readable by the pipelines' user only (chmod 600). Needed for "
                      "SSH + netplan; enabling checks it."),
    "policy_type": _("Recommended: the seed's band, decided every minute on the freshest measurement (tested "
                     "settings). Step: the seed's alert-driven scaling. Target tracking and predictive are "
                     "evaluated every minute; their other settings are in the admin and the policy API."),
    "metric": _("The metric target tracking keeps at the target."),
    "target_utilisation": _("1–100 %: target tracking and predictive keep the average here."),
}


class AutoscalingConfigForm(forms.Form):
    """Create (``instance`` None) or edit a config and its policy settings."""

    def __init__(self, *args: Any, instance: AutoscalingConfig | None = None, policy: ScalingPolicy | None = None,
                 with_policy: bool = True, **kwargs: Any) -> None:
        self.instance = instance
        initial = kwargs.pop("initial", None) or {}
        if instance is not None:
            initial = {name: getattr(instance, name) for name in CONFIG_FIELDS if name != "template"}
            initial["template"] = instance.template_id
        if with_policy:
            # a new config is offered the default policy (recommended); an existing one without a policy row
            # scales by the seed's step policy and shows that
            source = policy or (ScalingPolicy(policy_type=PolicyType.STEP) if instance is not None
                                else ScalingPolicy())
            initial.update({name: getattr(source, name) for name in POLICY_PAGE_FIELDS})
        kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        self.fields.update(fields_for_model(AutoscalingConfig, fields=CONFIG_FIELDS))
        if with_policy:
            self.fields.update(fields_for_model(ScalingPolicy, fields=POLICY_PAGE_FIELDS))
        template = self.fields["template"]
        assert isinstance(template, forms.ModelChoiceField)
        template.queryset = Template.objects.order_by("name")
        template.empty_label = _("Choose a template…")
        for name, field in self.fields.items():
            if name in RULES:
                field.help_text = RULES[name]
            field.widget.attrs.setdefault("aria-describedby", f"hint-{name}")
        if instance is None:
            # Left empty, these are derived from the service name (the page fills them in as the name is typed).
            for name in naming.DERIVED_FIELDS:
                self.fields[name].required = False
                self.fields[name].widget.attrs["data-derived"] = name
            self.fields["service_name"].widget.attrs.update({
                "data-job-suffix": naming.JOB_SUFFIX, "data-pool-suffix": naming.POOL_SUFFIX,
                "data-prefix-max": str(naming.VM_PREFIX_MAX), "autofocus": True,
            })
        else:
            self.fields["service_name"].disabled = True
        self.with_policy = with_policy

    def sections(self) -> list[tuple[str, Any, list[forms.BoundField]]]:
        return [(key, title, [self[name] for name in names if name in self.fields])
                for key, title, names in SECTIONS if any(name in self.fields for name in names)]

    def config_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in CONFIG_FIELDS
                if name in self.cleaned_data and not self.fields[name].disabled}

    def policy_values(self) -> dict[str, Any]:
        if not self.with_policy:
            return {}
        return {name: self.cleaned_data[name] for name in POLICY_PAGE_FIELDS if name in self.cleaned_data}

    def add_model_errors(self, errors: dict[str, list[str]]) -> None:
        """Put the service's field errors (model field names) on the form's fields; others on the form. A derived
        name left empty is not reported while the service name it follows is wrong (it follows once that is fixed)."""
        if self.instance is None and "service_name" in errors:
            errors = {name: messages for name, messages in errors.items()
                      if not (name in naming.DERIVED_FIELDS and not self.cleaned_data.get(name))}
        for name, messages in errors.items():
            if name in self.fields and name != NON_FIELD_ERRORS:
                self.add_error(name, messages)
            else:
                label = next((f.verbose_name for f in AutoscalingConfig._meta.fields if f.name == name), "")
                self.add_error(None, [f"{label}: {m}" if label else m for m in messages])
