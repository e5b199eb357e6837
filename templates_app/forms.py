"""Forms of templates_app."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from templates_app.models import VCENTER_NAME_VALIDATOR


class TemplateFromVMForm(forms.Form):
    """Create a vCenter template from a running VM (clone to template)."""

    source_vm_name = forms.CharField(label=_("source VM"), max_length=80)
    name = forms.CharField(label=_("template name"), max_length=80, validators=[VCENTER_NAME_VALIDATOR])
    description = forms.CharField(label=_("description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    tags = forms.CharField(label=_("tags"), required=False, help_text=_("Comma-separated."))

    def __init__(self, *args, vm_names: list[str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if vm_names is not None:
            self.fields["source_vm_name"] = forms.ChoiceField(
                label=_("source VM"), choices=[("", "---------")] + [(n, n) for n in vm_names]
            )

    def clean_tags(self) -> list[str]:
        raw = self.cleaned_data.get("tags") or ""
        return [tag.strip() for tag in raw.split(",") if tag.strip()]
