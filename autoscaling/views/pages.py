"""Overview, service page (+ its chart, live-run JSON and instances panel) and diagnostics. Thin: selectors
do the work."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from autoscaling.views import selectors
from autoscaling.views.audit import config_history
from autoscaling.views.whatif import whatif_context, whatif_form_context
from events.views.selectors import event_progress
from ixnode.integrations.prometheus.client import prometheus_client
from policies import selectors as policy_selectors
from policies.choices import ScalingProcess
from policies.whatif import whatif_run_latest
from provisioning import diagnostics
from provisioning.instances import service_instances

VIEW_CONFIG = "autoscaling.view_autoscalingconfig"
MAX_CHART_HOURS = 24 * 7
FRAGMENT_HEADER = "X-IXNode-Fragment"  # sent by static/js/ixnode.js when it loads a panel into its page


def _config_or_404(service_name: str, *, with_policy: bool = False):
    config = selectors.service_get(service_name=service_name, with_policy=with_policy)
    if config is None:
        raise Http404
    return config


@require_GET
@login_required
@permission_required(VIEW_CONFIG, raise_exception=True)
def overview(request: HttpRequest) -> HttpResponse:
    counts = selectors.vm_counts_fetch(client=prometheus_client())
    rows = selectors.service_overview_rows(vm_counts=counts)
    checklist = diagnostics.setup_checklist(use_cache=True)
    context = {
        "rows": rows,
        "count_problem": counts.problem,
        "checklist": checklist,
        "checklist_summary": diagnostics.checks_summary(checklist),
        "setup_incomplete": any(r.ok is not True and not r.optional for r in checklist),
        "health": [r for r in checklist if r.key in diagnostics.HEALTH_KEYS],
        "enabled_count": sum(1 for row in rows if row.config.enabled),
        "running_count": sum(1 for row in rows if row.run),
    }
    return render(request, "autoscaling/overview.html", context)


@require_GET
@login_required
@permission_required(VIEW_CONFIG, raise_exception=True)
def service_detail(request: HttpRequest, service_name: str) -> HttpResponse:
    config = _config_or_404(service_name, with_policy=True)
    run = selectors.service_current_run(config=config)
    policy = policy_selectors.policy_get(config=config)
    context = {
        "config": config,
        "events": selectors.service_recent_events(service_name=config.service_name),
        "warm_vms": selectors.service_warm_vms(config=config),
        "run": event_progress(event=run) if run else None,
        "history": config_history(config=config, user=request.user),
        "webhook_url": diagnostics.webhook_url(config),
        "chart_ranges": [(0.5, "30m"), (1, "1h"), (3, "3h"), (6, "6h"), (24, "24h"), (168, "7d")],
        "policy": policy,
        "policy_summary": policy_selectors.policy_evaluation_summary(policy=policy),
        "processes": [(p.value, p.label, bool(policy and policy.is_suspended(p))) for p in ScalingProcess],
        **whatif_form_context(),
        **whatif_context(whatif_run_latest(config=config), config),
    }
    return render(request, "autoscaling/service.html", context)


@require_GET
@login_required
@permission_required(VIEW_CONFIG, raise_exception=True)
def service_instances_panel(request: HttpRequest, service_name: str) -> HttpResponse:
    """The instances panel. Asked by the service page's script (the ``X-IXNode-Fragment`` header), the panel
    alone, an HTML fragment: the page loads it after itself, so it never waits for vCenter, the F5, Prometheus or
    the PLG host. Asked by a browser (the page's link without JavaScript), the same panel as a page of its own,
    with the site's layout and a way back to the service, its forms coming back to it. A system that does not
    answer is a note in the panel."""
    config = _config_or_404(service_name, with_policy=True)
    fragment = request.headers.get(FRAGMENT_HEADER) == "1"
    context = {
        "config": config,
        "panel": service_instances(config=config),
        "policy": policy_selectors.policy_get(config=config),
        "standalone": not fragment,
    }
    response = render(request, "autoscaling/_instances.html" if fragment else "autoscaling/instances.html", context)
    patch_vary_headers(response, [FRAGMENT_HEADER])  # one URL, two answers: no cache may hand one for the other
    return response


@require_GET
@login_required
@permission_required(VIEW_CONFIG, raise_exception=True)
def service_chart_json(request: HttpRequest, service_name: str) -> JsonResponse:
    config = _config_or_404(service_name)
    try:
        hours = float(request.GET.get("hours", "3"))
    except ValueError:
        return JsonResponse({"error": _("hours must be a number")}, status=400)
    if not 0.1 <= hours <= MAX_CHART_HOURS:
        return JsonResponse({"error": _("hours must be between 0.1 and %(max)s") % {"max": MAX_CHART_HOURS}},
                            status=400)
    data = selectors.service_chart(
        config=config, client=prometheus_client(), end=timezone.now(), hours=hours
    )
    return JsonResponse(data)


@require_GET
@login_required
@permission_required(VIEW_CONFIG, raise_exception=True)
def service_run_json(request: HttpRequest, service_name: str) -> JsonResponse:
    config = _config_or_404(service_name)
    run = selectors.service_current_run(config=config)
    data = event_progress(event=run) if run else None
    return JsonResponse({"active": True, "event": data})


@require_GET
@login_required
@permission_required(VIEW_CONFIG, raise_exception=True)
def service_diagnostics(request: HttpRequest, service_name: str) -> HttpResponse:
    config = _config_or_404(service_name)
    results = diagnostics.service_diagnostics(config=config)
    context = {
        "config": config,
        "results": results,
        "summary": diagnostics.checks_summary(results),
        "health": diagnostics.integration_health(use_cache=False),
    }
    return render(request, "autoscaling/diagnostics.html", context)
