"""VM templates that autoscaling configs clone from."""

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ixnode.history import HistoricalActorModel, history_user_of

VCENTER_NAME_VALIDATOR = RegexValidator(
    r"^[^%/\\]{1,80}$",
    _("vCenter names are 1–80 characters and may not contain %%, / or \\."),
)


class Template(models.Model):
    """A vSphere VM template and the metadata operators keep about it."""

    name = models.CharField(_("name"), max_length=80, unique=True, validators=[VCENTER_NAME_VALIDATOR])
    source_vm_name = models.CharField(_("source VM name"), max_length=80, blank=True)
    vcenter_path = models.CharField(_("vCenter path"), max_length=512, blank=True)
    datastore = models.CharField(_("datastore"), max_length=255, blank=True)
    description = models.TextField(_("description"), blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # Audit trail: who changed what and when (django-simple-history).
    history = HistoricalRecords(excluded_fields=["updated_at"], bases=[HistoricalActorModel], get_user=history_user_of)

    class Meta:
        ordering = ["name"]
        verbose_name = _("template")
        verbose_name_plural = _("templates")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:

        if not isinstance(self.tags, list) or not all(isinstance(tag, str) for tag in self.tags):
            raise ValidationError({"tags": _("Tags must be a list of strings.")})
