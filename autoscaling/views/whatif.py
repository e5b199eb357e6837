"""The service page's what-if panel: start a replay of the service's own history, follow it, see the figures and
the plot, and switch the service to one of the replayed policies. Thin: ``policies.whatif`` and
``policies.services`` do the work."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from autoscaling.models import AutoscalingConfig
from autoscaling.views import selectors
from policies import constants
from policies import services as policy_services
from policies.choices import PolicyType
from policies.models import WhatIfRun
from policies.whatif import (
    WHATIF_SWITCHABLE,
    whatif_already_running_note,
    whatif_error_text,
    whatif_policy_label,
    whatif_result_rows,
    whatif_run_create,
    whatif_run_get,
)

VIEW_CONFIG = "autoscaling.view_autoscalingconfig"
START_WHATIF = "policies.add_whatifrun"
CHANGE_POLICY = "policies.change_scalingpolicy"


def _config_or_404(service_name: str) -> AutoscalingConfig:
    config = selectors.service_get(service_name=service_name)
    if config is None:
        raise Http404
    return config


def _run_or_404(config: AutoscalingConfig, run_id: int, *, with_plot: bool = False) -> WhatIfRun:
    run = whatif_run_get(config=config, run_id=run_id, with_plot=with_plot)
    if run is None:
        raise Http404
    return run


def whatif_context(run: WhatIfRun | None, config: AutoscalingConfig) -> dict[str, Any]:
    """What the what-if templates show of ``run``: its rows (``policies.whatif.whatif_result_rows``: names and
    parameter lines in the reader's language, the row of the policy in use marked, the switches offered)."""
    if run is None:
        return {"whatif": None}
    result = run.result if isinstance(run.result, dict) else {}
    return {"whatif": run, "whatif_rows": whatif_result_rows(run=run, config=config), "whatif_result": result,
            "whatif_error": whatif_error_text(run=run) if run.status == "failed" else "",
            "whatif_policy_label": whatif_policy_label(result=result)}


def whatif_form_context(*, days: object = constants.WHATIF_DEFAULT_DAYS, error: str = "") -> dict[str, Any]:
    return {"whatif_days": days, "whatif_days_error": error, "whatif_min_days": constants.WHATIF_MIN_DAYS,
            "whatif_max_days": constants.WHATIF_MAX_DAYS}


@login_required
@permission_required(VIEW_CONFIG, raise_exception=True)
@permission_required(START_WHATIF, raise_exception=True)
@require_POST
def whatif_start(request: HttpRequest, service_name: str) -> HttpResponse:
    """Start a replay of the last N days (a background task); bad N → the form again with its error, 400."""
    config = _config_or_404(service_name)
    days = request.POST.get("days", "")
    try:
        run, created = whatif_run_create(config=config, days=days, user=request.user, language=get_language() or "")
    except ValidationError as exc:
        error = " ".join(exc.message_dict.get("days", exc.messages))
        context = {"config": config, **whatif_form_context(days=days, error=error), **whatif_context(None, config)}
        return render(request, "autoscaling/whatif.html", context, status=400)
    if not created:
        messages.info(request, whatif_already_running_note())
    return redirect(reverse("autoscaling:whatif", args=[config.service_name, run.pk]))


@require_GET
@login_required
@permission_required(VIEW_CONFIG, raise_exception=True)
def whatif_detail(request: HttpRequest, service_name: str, run_id: int) -> HttpResponse:
    config = _config_or_404(service_name)
    run = _run_or_404(config, run_id)
    context = {"config": config, **whatif_form_context(days=run.days), **whatif_context(run, config)}
    return render(request, "autoscaling/whatif.html", context)


@require_GET
@login_required
@permission_required(VIEW_CONFIG, raise_exception=True)
def whatif_progress_json(request: HttpRequest, service_name: str, run_id: int) -> JsonResponse:
    config = _config_or_404(service_name)
    run = _run_or_404(config, run_id)
    return JsonResponse({"id": run.pk, "status": run.status, "progress": run.progress, "active": run.is_active,
                         "error": whatif_error_text(run=run) if run.status == "failed" else "",
                         "rows": (run.result or {}).get("rows", []) if run.status == "succeeded" else []})


@require_GET
@login_required
@permission_required(VIEW_CONFIG, raise_exception=True)
def whatif_plot(request: HttpRequest, service_name: str, run_id: int) -> HttpResponse:
    config = _config_or_404(service_name)
    run = _run_or_404(config, run_id, with_plot=True)
    if not run.plot_png:
        raise Http404
    response = HttpResponse(bytes(run.plot_png), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@permission_required(VIEW_CONFIG, raise_exception=True)
@permission_required(CHANGE_POLICY, raise_exception=True)
@require_POST
def whatif_switch(request: HttpRequest, service_name: str, run_id: int) -> HttpResponse:
    """Apply one of the replayed policies to the service (``policies.services.policy_type_set``, which records
    the change in the policy's history with the operator as its author)."""
    config = _config_or_404(service_name)
    run = _run_or_404(config, run_id)
    policy_type = request.POST.get("policy_type", "")
    if policy_type not in WHATIF_SWITCHABLE:
        messages.error(request, _("Unknown policy; nothing was changed."))
        return redirect(reverse("autoscaling:whatif", args=[config.service_name, run.pk]))
    try:
        policy_services.policy_type_set(config=config, policy_type=policy_type)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(reverse("autoscaling:whatif", args=[config.service_name, run.pk]))
    messages.success(request, _("%(service)s now scales by the %(policy)s policy.") % {
        "service": config.service_name, "policy": PolicyType(policy_type).label})
    return redirect(reverse("autoscaling:service", args=[config.service_name]) + "#whatif")
