"""``ixnode.guards``' answers to an unavailable database, wherever the error surfaces: a view (the middleware), a DRF
view (the API's exception handler) or outside any view (the 500 handler) — 503 + Retry-After, JSON or a plain page,
one WARNING line without a traceback; any other error stays a 500 (JSON under /api/)."""

from __future__ import annotations

import json
import logging

import pytest
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.test import RequestFactory

from ixnode.api.exceptions import exception_handler
from ixnode.guards import DatabaseUnavailableMiddleware
from ixnode.views import server_error

EXCEPTIONS = [OperationalError("connection to server at \"127.0.0.1\" failed: Connection refused\nIs it running?"),
              InterfaceError("connection already closed"), OperationalError("database is locked")]


@pytest.mark.parametrize("exc", EXCEPTIONS)
@pytest.mark.parametrize("path", ["/api/autoscaling/configs/", "/services/shop/", "/services/shop/chart.json"])
def test_a_view_failing_on_the_database_answers_503(exc, path, settings, caplog):
    settings.IXNODE_HTTP_RETRY_AFTER_SECONDS = 7
    middleware = DatabaseUnavailableMiddleware(lambda request: HttpResponse())
    with caplog.at_level(logging.WARNING, logger="ixnode.guards"):
        response = middleware.process_exception(RequestFactory().get(path), exc)
    assert response is not None and response.status_code == 503
    assert response["Retry-After"] == "7"
    if path.startswith("/api/") or path.endswith(".json"):
        assert json.loads(response.content) == {
            "detail": "The database is unavailable or busy; retry in 7 seconds.", "code": "database_unavailable"}
    else:
        assert response["Content-Type"].startswith("text/html")
        assert b"retry in 7 seconds" in response.content and b"Traceback" not in response.content
    [record] = caplog.records
    assert record.levelno == logging.WARNING and record.exc_info is None and "\n" not in record.getMessage()


def test_other_errors_are_left_to_django(settings):
    middleware = DatabaseUnavailableMiddleware(lambda request: HttpResponse())
    assert middleware.process_exception(RequestFactory().get("/api/x/"), ValueError("bug")) is None


def test_the_api_exception_handler_answers_503():
    request = RequestFactory().post("/api/webhook/autoscale/shop")
    response = exception_handler(OperationalError("server closed the connection unexpectedly"), {"request": request})
    assert response is not None and response.status_code == 503
    assert response["Retry-After"] == "5" and response.data["code"] == "database_unavailable"


def _raise_and_handle(exc: Exception, path: str):
    try:
        raise exc
    except Exception:  # the 500 handler runs inside Django's except block, as here
        return server_error(RequestFactory().get(path))


def test_the_500_handler_turns_an_escaped_database_error_into_503():
    response = _raise_and_handle(OperationalError("terminating connection due to administrator command"), "/events/")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    bug = _raise_and_handle(ValueError("bug"), "/api/events/")
    assert bug.status_code == 500 and json.loads(bug.content)["code"] == "server_error"
    page = _raise_and_handle(ValueError("bug"), "/events/")
    assert page.status_code == 500 and b"Traceback" not in page.content
