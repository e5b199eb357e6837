"""Writes of templates_app: make templates in vCenter and keep Template rows in step with it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ixnode.integrations.vcenter.client import vcenter_client
from ixnode.integrations.vcenter.interface import VCenter, VCenterError
from templates_app.models import Template

logger = logging.getLogger(__name__)


@dataclass
class TemplatesSyncResult:
    """What ``templates_sync`` did: names created, updated, unchanged, and rows whose template is gone."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    missing_in_vcenter: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = _("%(created)d created, %(updated)d updated, %(unchanged)d unchanged, %(missing)d missing in vCenter")
        return text % {
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "missing": len(self.missing_in_vcenter),
        }


def template_create_from_vm(
    *,
    source_vm_name: str,
    name: str,
    description: str = "",
    tags: list[str] | None = None,
    client: VCenter | None = None,
) -> Template:
    """Clone VM ``source_vm_name`` to a new vCenter template ``name`` (the source keeps running) and record it.

    Bad input raises ``ValidationError`` before vCenter is touched; a vCenter failure raises ``VCenterError``.
    When the row cannot be saved after the clone, the new vCenter template is destroyed again.
    """
    row = Template(name=name, source_vm_name=source_vm_name, description=description, tags=list(tags or []))
    row.full_clean(exclude=["vcenter_path", "datastore"])
    client = client or vcenter_client()
    source = client.vm_find(source_vm_name)
    if source is None:
        raise ValidationError({"source_vm_name": _("vCenter has no VM named '%(name)s'.") % {"name": source_vm_name}})
    if source.is_template:
        raise ValidationError(
            {"source_vm_name": _("'%(name)s' is already a template; pick a VM.") % {"name": source_vm_name}}
        )
    if client.vm_find(name) is not None:
        raise ValidationError({"name": _("vCenter already has a VM or template named '%(name)s'.") % {"name": name}})

    created = client.vm_clone_to_template(source=source, name=name)
    row.vcenter_path = created.path
    row.datastore = created.datastore
    try:
        with transaction.atomic():
            row.save()
    except (IntegrityError, ValidationError) as exc:
        logger.warning("template %s: saving the row failed (%s); destroying the new vCenter template", name, exc)
        try:
            client.vm_destroy(created)
        except VCenterError as cleanup_error:
            raise ValidationError(
                _("Template '%(name)s' was created in vCenter but could not be recorded (%(error)s) and could not "
                  "be removed again (%(cleanup)s); remove it in vCenter.")
                % {"name": name, "error": exc, "cleanup": cleanup_error}
            ) from exc
        raise ValidationError(
            _("Template '%(name)s' could not be recorded (%(error)s); the vCenter template was removed again.")
            % {"name": name, "error": exc}
        ) from exc
    logger.info("template %s created from VM %s at %s", name, source_vm_name, created.path)
    return row


def templates_sync(*, client: VCenter | None = None) -> TemplatesSyncResult:
    """Import vCenter's templates as Template rows and refresh their path/datastore.

    Rows whose template no longer exists in vCenter are reported, never deleted (configs may use them).
    """
    client = client or vcenter_client()
    result = TemplatesSyncResult()
    found = {vm.name: vm for vm in client.templates_list()}
    with transaction.atomic():
        existing = {row.name: row for row in Template.objects.select_for_update()}
        for name, vm in sorted(found.items()):
            row = existing.get(name)
            if row is None:
                Template.objects.create(name=name, vcenter_path=vm.path, datastore=vm.datastore)
                result.created.append(name)
            elif (row.vcenter_path, row.datastore) != (vm.path, vm.datastore):
                row.vcenter_path, row.datastore = vm.path, vm.datastore
                row.save(update_fields=["vcenter_path", "datastore", "updated_at"])
                result.updated.append(name)
            else:
                result.unchanged.append(name)
        result.missing_in_vcenter = sorted(set(existing) - set(found))
    return result
