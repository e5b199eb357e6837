"""Admin actions for generated artifacts, mixed into the AutoscalingConfig admin:
"Regenerate artifacts" (runs the regeneration now and reports per component) and "Preview artifacts"
(rendered text beside what is deployed on the PLG host, with a diff). Thin: they call the services."""

from __future__ import annotations

import difflib

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from artifacts.services import artifacts_deployed, artifacts_regenerate, artifacts_render
from autoscaling.models import artifacts_status_label
from ixnode.integrations.plg.interface import PlgError
from ixnode.integrations.problems import explain, explain_text


@admin.action(description=_("Regenerate artifacts"), permissions=["change"])
def regenerate_artifacts(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    for config in queryset:
        outcome = artifacts_regenerate(service_name=config.service_name, config_id=config.pk)
        summary = gettext("%(name)s: %(status)s — PLG: %(plg)s; Jenkins: %(jenkins)s; Grafana: %(grafana)s") % {
            "name": outcome.service_name, "status": artifacts_status_label(status=outcome.status),
            "plg": outcome.plg, "jenkins": outcome.jenkins, "grafana": outcome.grafana}
        if outcome.errors:
            problems = " ".join(explain_text(line).summary for line in outcome.errors)
            modeladmin.message_user(request, f"{summary}. {problems}", messages.ERROR)
        else:
            modeladmin.message_user(request, summary, messages.SUCCESS)


@admin.action(description=_("Preview artifacts"), permissions=["view"])
def preview_artifacts(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> TemplateResponse:
    previews = []
    for config in queryset[:10]:
        rendered = artifacts_render(config=config, mask_secrets=True)
        deployed, deployed_error, publishing_off = {}, "", settings.IXNODE_PLG_MODE == "off"
        if not publishing_off:
            try:
                deployed = artifacts_deployed(config=config)
            except PlgError as exc:
                deployed_error = explain(exc).summary
        files = []
        for name, text in rendered.items():
            live = deployed.get(name)
            diff = "".join(
                difflib.unified_diff(
                    (live or "").splitlines(keepends=True), text.splitlines(keepends=True), "deployed", "rendered"
                )
            )
            files.append({"name": name, "rendered": text, "deployed": live, "diff": diff,
                          "same": live is not None and live == text})
        previews.append({"config": config, "files": files, "deployed_error": deployed_error,
                         "publishing_off": publishing_off})
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Preview artifacts"),
        "opts": modeladmin.model._meta,
        "previews": previews,
    }
    return TemplateResponse(request, "admin/artifacts/artifacts_preview.html", context)


class ArtifactsAdminMixin:
    """Mix into the AutoscalingConfig ModelAdmin (``class AutoscalingConfigAdmin(ArtifactsAdminMixin, ModelAdmin)``):
    adds the two actions and shows the artifact state read-only."""

    artifact_actions = (regenerate_artifacts, preview_artifacts)
    artifact_readonly_fields = ("artifacts_status", "artifacts_published_at", "artifacts_hash", "artifacts_error")

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)  # type: ignore[misc]
        wanted = [self.get_action(func) for func in self.artifact_actions]  # type: ignore[attr-defined]
        for func, name, description in self._filter_actions_by_permissions(request, wanted):  # type: ignore[attr-defined]
            actions.setdefault(name, (func, name, description))
        return actions

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> tuple:
        fields = tuple(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        return fields + tuple(f for f in self.artifact_readonly_fields if f not in fields)
