"""What every background job row of the product records besides its own work (an exporter install, a what-if
replay): its django-q2 task, who asked, when it started and ended, and why it failed."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ixnode.choices import ChoiceLabelsMixin

#: the ``status`` values of a job that has not ended (each job's choices name them ``pending`` and ``running``)
ACTIVE_STATUSES = ("pending", "running")


class BackgroundJob(ChoiceLabelsMixin, models.Model):
    """Abstract: the fields and order every background job shares; each job adds its ``status`` and its work."""

    error = models.TextField(_("error"), blank=True)
    task_id = models.CharField(_("task id"), max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    status: str

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES
