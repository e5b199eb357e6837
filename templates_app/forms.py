"""Forms of templates_app."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ixnode.integrations.problems import explain
from ixnode.integrations.vcenter.interface import VCenterError
from templates_app.models import VCENTER_NAME_VALIDATOR, Template
from templates_app.services import template_create_from_vm


def add_validation_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: on its field when the form has one, else at the top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
    else:
        for error in exc.messages:
            form.add_error(None, error)


def tags_parse(text: str) -> list[str]:
    """``"linux, golden ,  "`` → ``["linux", "golden"]`` (the comma-separated tags the pages and admin take)."""
    return [tag.strip() for tag in text.split(",") if tag.strip()]


class TemplateAdminForm(forms.ModelForm):
    """The admin's Template form: tags typed comma-separated, as the pages show them (stored as a JSON list)."""

    tags = forms.CharField(label=_("tags"), required=False, help_text=_("Comma-separated."))

    class Meta:
        model = Template
        fields = ("name", "source_vm_name", "vcenter_path", "datastore", "description", "tags")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound and self.instance.pk is not None:
            self.initial["tags"] = ", ".join(self.instance.tags or [])

    def clean_tags(self) -> list[str]:
        return tags_parse(self.cleaned_data.get("tags") or "")


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
        return tags_parse(self.cleaned_data.get("tags") or "")

    def create_template(self) -> Template | None:
        """Run ``template_create_from_vm`` on valid data; its errors land on the form (``None`` returned)."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        try:
            return template_create_from_vm(
                source_vm_name=data["source_vm_name"],
                name=data["name"],
                description=data["description"],
                tags=data["tags"],
            )
        except ValidationError as exc:
            add_validation_errors(self, exc)
        except VCenterError as exc:
            self.add_error(None, explain(exc).summary)
        return None
