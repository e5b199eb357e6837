"""Event history, one event's page, its live progress and the CSV export. Views stay thin."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from autoscaling.models import AutoscalingConfig
from events.views.forms import EventFilterForm
from events.views.selectors import (
    event_csv_rows,
    event_get,
    event_list,
    event_list_columns,
    event_progress,
    stage_duration,
    stage_label,
)

PAGE_SIZE = 50
VIEW_EVENTS = "events.view_scaleevent"


def _filter_form(request: HttpRequest) -> EventFilterForm:
    form = EventFilterForm(request.GET or None)
    if form.is_bound:
        form.is_valid()
    return form


@require_GET
@login_required
@permission_required(VIEW_EVENTS, raise_exception=True)
def event_history(request: HttpRequest) -> HttpResponse:
    form = _filter_form(request)
    paginator = Paginator(event_list_columns(event_list(filters=form.filters())), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "filtered": any(request.GET.get(name) for name in form.fields),
        "service_names": AutoscalingConfig.objects.order_by("service_name").values_list("service_name", flat=True),
    }
    return render(request, "events/list.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_GET
@login_required
@permission_required(VIEW_EVENTS, raise_exception=True)
def event_export_csv(request: HttpRequest) -> StreamingHttpResponse | HttpResponse:
    form = _filter_form(request)
    if form.is_bound and form.errors:
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain; charset=utf-8")
    writer = csv.writer(_Echo())
    rows = (writer.writerow(row) for row in event_csv_rows(filters=form.filters()))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="scale-events-{stamp}.csv"'
    return response


@require_GET
@login_required
@permission_required(VIEW_EVENTS, raise_exception=True)
def event_detail(request: HttpRequest, event_id: int) -> HttpResponse:
    event = event_get(event_id=event_id)
    if event is None:
        raise Http404
    stages = [(stage, stage_duration(stage), stage_label(stage.name)) for stage in event.stages.all()]
    live = event_progress(event=event) if event.is_in_flight else None
    return render(request, "events/detail.html", {"event": event, "stages": stages, "live": live})


@require_GET
@login_required
@permission_required(VIEW_EVENTS, raise_exception=True)
def event_progress_json(request: HttpRequest, event_id: int) -> JsonResponse:
    event = event_get(event_id=event_id)
    if event is None:
        return JsonResponse({"error": _("no such event")}, status=404)
    data = event_progress(event=event)
    return JsonResponse({"active": data["in_flight"], "event": data})
