"""Every URL the product serves answers hostile input with a 4xx (or its usual answer), never a 500, and a refused
write changes nothing in the database.

The routes are read from the URL resolver (``ixnode/urls.py`` and every app's ``urls``; the admin's pages of the
product's models), so a new endpoint is swept without editing this module; a route whose path parameter this
module cannot fill fails ``test_every_route_is_swept`` until ``PATH_VALUES`` names it. Each route gets, as a
superuser, as a signed-in user without permissions and unauthenticated: every HTTP method; then, as the superuser,
query strings with NUL, control characters, a lone surrogate (``%ED%A0%80``), bytes that are not UTF-8, 10,000
characters and junk page/ordering/limit values; and, on the methods that are not 405, bodies that are not JSON
objects, NaN, 1e400, duplicate keys, a NUL or lone-surrogate key, broken UTF-8, form-encoded and wrong content
types. The deep and oversized bodies are ``test_request_limits``; hostile path parameters ``test_path_params``.

Run it on PostgreSQL too (``DATABASE_URL=postgres://…``): jsonb and text columns refuse ``\\u0000``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin import helpers
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from ixnode.admin_guards import SelectedRowsGuardMixin

PRODUCT_APPS = ("autoscaling", "events", "policies", "exporters", "templates_app", "artifacts", "provisioning",
                "notifications")
WEBHOOK_TOKEN = "test-webhook-token"

# The value of each path parameter, from the objects of ``world`` (a new parameter name must be added here).
PATH_VALUES: dict[str, Callable[[dict[str, Any]], object]] = {
    "service_name": lambda w: w["config"].service_name,
    "run_id": lambda w: w["whatif"].pk,
    "event_id": lambda w: w["run"].pk,
    "install_id": lambda w: w["install"].pk,
    "vm_id": lambda w: w["vm"].pk,
    "name": lambda w: w["vm"].name,
    "target": lambda w: "127.0.48.221:9100",
    "pk": lambda w: w["template"].pk,
    "uidb64": lambda w: "MQ",
    "token": lambda w: "set-password",
}
QUERY_NAMES = ["page", "ordering", "limit", "offset", "q", "o", "p", "e", "service", "action", "decision", "status",
               "date_from", "date_to", "hours", "days", "templates", "next", "page_size", "format", "_to_field",
               "_changelist_filters", "config__id__exact"]
QUERY_VALUES = ["%00", "%01%1b%7f%C2%85", "%ED%A0%80", "%FF%FE", "x" * 10_000, "-1", "99999999999999999999",
                "__class__"]
JSON = "application/json"
BODIES: list[tuple[bytes | str, str]] = [
    ("[]", JSON), ('"text"', JSON), ("null", JSON), ("1e400", JSON), ('{"minVms": NaN, "days": Infinity}', JSON),
    ('{"a": 1, "a": {"b": 2}}', JSON), ('{"\\u0000": "\\ud800", "serviceName": "a\\u0000b"}', JSON),
    (b'{"a": "\xff\xfe"}', JSON), ("", JSON), ("{", JSON),
    ("a=1&b=%00&c=%ED%A0%80", "application/x-www-form-urlencoded"), ('{"a": 1}', "text/plain"),
    ('{"a": 1}', "application/json; charset=latin-1"),
]
# Deliberate answers about what is outside the request: an integration not configured or answering an error (502),
# the database busy (503, Retry-After).
OK_5XX = {502, 503, 504}
HTML_API_PAGES = ("/api/docs/",)  # the API's documentation is a page (Swagger UI): its errors are pages too


def _walk(patterns: list, prefix: str = "") -> Iterator[str]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def _product_route(route: str) -> bool:
    if not route.startswith("admin/"):
        return True
    return any(route.startswith(f"admin/{app}/") for app in PRODUCT_APPS)


ROUTES = sorted({route for route in _walk(get_resolver().url_patterns) if _product_route(route)})


def _admin_object(route: str, world: dict[str, Any]) -> object | None:
    for model, obj in world["admin_objects"].items():
        if route.startswith(f"admin/{model._meta.app_label}/{model._meta.model_name}/"):
            return obj
    return None


def route_url(route: str, world: dict[str, Any]) -> str | None:
    """The URL of ``route`` with its parameters filled from ``world``; None for a route no client can reach with a
    value of its own (the admin's regex-only history pages and app index are reached from their links)."""
    path = route.lstrip("^").replace("$", "")
    if "<path:object_id>" in path:
        obj = _admin_object(route, world)
        if obj is None:
            return None
        path = path.replace("<path:object_id>", str(obj.pk))
    if "([^/]+)" in path or "(?P<app_label>" in path:
        return None
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(PATH_VALUES[m.group(1)](world)), path)
    path = re.sub(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)", lambda m: str(PATH_VALUES[m.group(1)](world)), path)
    return "/" + path.replace("\\", "")


STATE_MODELS = [model for model in apps.get_models()
                if model._meta.app_label in (*PRODUCT_APPS, "django_q") and not model.__name__.startswith("Historical")]


def database_state() -> str:
    """A digest of every row of the product's tables (and the task queue): equal before and after = unchanged."""
    digest = hashlib.sha256()
    for model in STATE_MODELS:
        digest.update(repr(list(model.objects.order_by("pk").values_list())).encode())
    return digest.hexdigest()


@pytest.fixture
def world(config, make_event, make_run, template, settings) -> dict[str, Any]:
    """One object of each kind a route names; stored values as a hostile client could have left them."""
    from autoscaling.models import CooldownState, IPLease, ManagedVM
    from exporters.models import ExporterInstall
    from notifications.models import SentNotification
    from policies.models import ScalingPolicy, WhatIfRun

    settings.IXNODE_WEBHOOK_TOKEN = WEBHOOK_TOKEN
    event = make_event(config, reason='=HYPERLINK("http://evil.invalid","x")', alert_name="+cmd|' /C calc'!A0")
    objects = {
        "config": config,
        "event": event,
        "run": make_run(config),
        "vm": ManagedVM.objects.create(config=config, name="auto-vm-test-20260101000000", ip_address="127.0.48.221"),
        "policy": ScalingPolicy.objects.create(config=config),
        "whatif": WhatIfRun.objects.create(config=config, days=1, status="succeeded", result={"rows": []}),
        "install": ExporterInstall.objects.create(config=config, ssh_user="ubuntu", ssh_key_path="/keys/id"),
        "cooldown": CooldownState.objects.create(config=config),
        "lease": IPLease.objects.create(config=config, ip_address="127.0.48.222"),
        "notification": SentNotification.objects.create(service_name=config.service_name, kind="run_failed",
                                                        key="k", text="t", last_sent_at=timezone.now()),
        "template": template,
    }
    objects["admin_objects"] = {type(obj): obj for obj in objects.values()}
    return objects


@pytest.fixture
def clients(world, admin_user, django_user_model) -> dict[str, Client]:
    superuser = Client(raise_request_exception=False)
    superuser.force_login(admin_user)
    nobody = Client(raise_request_exception=False)
    nobody.force_login(django_user_model.objects.create_user("sweep-nobody", password="sweep-pass-123"))
    return {"superuser": superuser, "nobody": nobody, "anonymous": Client(raise_request_exception=False)}


def _send(client: Client, method: str, url: str, body: bytes | str | None = None, content_type: str = JSON) -> Any:
    extra = {"HTTP_AUTHORIZATION": f"Bearer {WEBHOOK_TOKEN}"} if url.startswith("/api/webhook/") else {}
    if body is None:
        return getattr(client, method)(url, **extra)
    return getattr(client, method)(url, data=body, content_type=content_type, **extra)


def _check(response: Any, what: str) -> None:
    assert response.status_code < 500 or response.status_code in OK_5XX, (
        what, response.status_code, response.content[:300])
    path = what.split()[1]
    if path.startswith("/api/") and not path.startswith(HTML_API_PAGES) and response.status_code >= 400 and (
            response.status_code != 405):
        assert "json" in response.get("Content-Type", ""), (what, response.status_code, response["Content-Type"])


def test_every_route_is_swept(world):
    unreachable = [route for route in ROUTES if route_url(route, world) is None]
    assert len(ROUTES) - len(unreachable) > 100, ROUTES
    assert all("history/([^/]+)" in route or "app_label" in route for route in unreachable), unreachable


@pytest.mark.parametrize("route", ROUTES)
def test_route_answers_hostile_input_without_a_500_or_a_write(route, world, clients):
    url = route_url(route, world)
    if url is None:
        pytest.skip("reached only from a link (admin regex route)")
    writable = []
    for who, client in clients.items():
        if "logout" in url and who != "anonymous":
            continue  # signing out would end the session the rest of the sweep uses
        for method in ("get", "post", "put", "patch", "delete", "options"):
            writes = method in ("post", "put", "patch", "delete") and who == "superuser"
            before = database_state() if writes else None
            response = _send(client, method, url, "{}" if method in ("post", "put", "patch") else None)
            _check(response, f"{method} {url} as {who}")
            if before is not None and response.status_code >= 400:
                assert database_state() == before, f"{method} {url} as {who}: refused but written"
            if writes and method != "delete" and response.status_code != 405 and (
                    method == "post" or url.startswith("/api/")):  # a page's form is posted
                writable.append(method)
    superuser = clients["superuser"]
    if "logout" in url:
        return
    for value in QUERY_VALUES:
        query = "&".join(f"{name}={value}" for name in QUERY_NAMES)
        _check(_send(superuser, "get", f"{url}?{query}"), f"get {url}?…={value[:12]}")
    for index, method in enumerate(writable):
        for body, content_type in BODIES if index == 0 else BODIES[:4]:  # every body once, a few per other method
            before = database_state()
            response = _send(superuser, method, url, body, content_type)
            what = f"{method} {url} {content_type} {body[:40]!r}"
            _check(response, what)
            if response.status_code >= 400:
                assert database_state() == before, f"{what}: refused but written"


def _admin_actions() -> list[tuple[str, str]]:
    cases = []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in PRODUCT_APPS:
            cases.append((f"{model._meta.app_label}/{model._meta.model_name}", model_admin))
    return sorted(((label, admin_obj) for label, admin_obj in cases), key=lambda case: case[0])


@pytest.mark.parametrize(("label", "model_admin"), _admin_actions(), ids=lambda value: str(value).split()[0])
def test_admin_actions_refuse_selected_rows_that_are_not_ids(label, model_admin, world, clients, rf, admin_user):
    """Django runs an action on ``pk__in=<the posted values>``: ``abc``, empty, NUL or beyond the column's range
    was a 500 from the database layer. Now a 400 with the message, nothing run; real ids still work."""
    assert isinstance(model_admin, SelectedRowsGuardMixin), f"{label}: add SelectedRowsGuardMixin (first base)"
    request = rf.get("/")
    request.user = admin_user
    actions = sorted(model_admin.get_actions(request))
    superuser = clients["superuser"]
    url = f"/admin/{label}/"
    for action in actions:
        for selected in ("abc", "", "%00", "%ED%A0%80", "-1.5", "99999999999999999999", "1e400"):
            before = database_state()
            body = f"action={action}&index=0&{helpers.ACTION_CHECKBOX_NAME}={selected}"
            response = superuser.post(url, body, content_type="application/x-www-form-urlencoded")
            assert response.status_code == 400, (label, action, selected, response.status_code)
            assert "no action was run" in response.content.decode(), response.content[:200]
            assert database_state() == before, (label, action, selected)
    if "delete_selected" in actions:  # a real id still reaches the action (its confirmation page)
        obj = _admin_object(f"admin/{label}/", world)
        response = superuser.post(url, {"action": "delete_selected", "index": "0",
                                        helpers.ACTION_CHECKBOX_NAME: [str(obj.pk)]})
        assert response.status_code == 200 and "post" in response.content.decode()


def test_admin_action_message_is_korean_too(world, clients):
    body = f"action=delete_selected&index=0&{helpers.ACTION_CHECKBOX_NAME}=abc"
    response = clients["superuser"].post("/admin/templates_app/template/", body,
                                         content_type="application/x-www-form-urlencoded", HTTP_ACCEPT_LANGUAGE="ko")
    assert response.status_code == 400
    assert "작업을 실행하지 않았습니다" in response.content.decode(), response.content.decode()


def test_the_sweep_catches_a_500(world, clients, monkeypatch):
    """The sweep is not blind: a view that raises is reported."""
    from events.views import pages

    def boom(*args: Any, **kwargs: Any) -> None:
        raise ValueError("boom")

    monkeypatch.setattr(pages, "_filter_form", boom)
    with pytest.raises(AssertionError, match="500"):
        test_route_answers_hostile_input_without_a_500_or_a_write("events/", world, clients)


# --- Field by field: each field of a JSON body of a write endpoint gets a hostile value ------------------------------

RAW_VALUES = ['"\\ud800"', '"a\\u0000b"', "1e400", "99999999999999999999", '"true"', "null", "{}",
              '"' + "x" * 10_000 + '"']
MARKER = "__hostile__"


def _leaves(value: Any, path: tuple = ()) -> Iterator[tuple]:
    """The path of every value in ``value`` (a dict's keys, a list's first item), the containers included."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list) and value:
        yield from _leaves(value[0], (*path, 0))


def _with_raw(base: Any, path: tuple, raw: str) -> str:
    """``base`` as JSON text with the value at ``path`` replaced by the JSON text ``raw``."""
    data = json.loads(json.dumps(base))
    if not path:
        return raw
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = MARKER
    return json.dumps(data).replace(f'"{MARKER}"', raw)


def _bodies(world: dict[str, Any], client: Client) -> list[tuple[str, str, Any]]:
    """(method, path, a valid-looking body) of every JSON write the API offers, from what its GETs answer."""
    from policies.models import ScheduledAction

    ScheduledAction.objects.create(policy=world["policy"], name="night", weekdays="mon", start_time="01:00",
                                   end_time="02:00", min_vms=2, max_vms=4, desired_vms=2)
    config = client.get("/api/autoscaling/configs/auto-vm-test/").json()
    policy = client.get("/api/policies/auto-vm-test/").json()
    template = client.get(f"/api/templates/{world['template'].pk}/").json()
    service = "/api/autoscaling/configs/auto-vm-test"
    return [
        ("post", "/api/autoscaling/configs/", {**config, "serviceName": "new-svc", "vmPrefix": "new-svc"}),
        ("patch", f"{service}/", config),
        ("put", "/api/policies/auto-vm-test/", policy),
        ("post", "/api/templates/", {**template, "name": "new-template"}),
        ("patch", f"/api/templates/{world['template'].pk}/", template),
        ("post", "/api/templates/from-vm/", {"sourceVmName": "golden-src", "name": "t2", "tags": ["a"]}),
        ("post", f"{service}/scale/", {"action": "scale-out", "count": 1}),
        ("post", f"{service}/desired-count/", {"desiredCount": 3}),
        ("post", f"{service}/targets/", {"target": "127.0.48.230:9100"}),
        ("post", "/api/policies/auto-vm-test/suspend", {"processes": ["scale-in"]}),
        ("post", "/api/policies/auto-vm-test/dry-run", {"enabled": True}),
        ("post", "/api/policies/auto-vm-test/whatif-runs/", {"days": 1}),
        ("patch", f"/api/managed-vms/{world['vm'].name}/protection", {"scaleInProtected": True}),
        ("post", f"/api/runs/{world['run'].pk}/steps/", {"stage": "allocate-ip", "build_url": "http://j.invalid/1/"}),
    ]


def test_every_field_of_every_json_write_refuses_hostile_values(world, clients):
    """A lone surrogate in a choice (DRF quotes it in the message: the 400 was a 500 while encoding the answer),
    infinity as the template id (an OverflowError in the query), NUL, 1e400, wrong types, 10,000 characters: each
    answers below 500, and a refused body writes nothing."""
    superuser = clients["superuser"]
    for method, path, base in _bodies(world, superuser):
        state = database_state()
        for leaf in _leaves(base):
            for raw in RAW_VALUES:
                response = getattr(superuser, method)(path, data=_with_raw(base, leaf, raw), content_type=JSON)
                what = f"{method} {path} {'.'.join(map(str, leaf))}={raw[:20]}"
                _check(response, what)
                after = database_state()
                if response.status_code >= 400:
                    assert after == state, f"{what}: refused but written"
                state = after


@pytest.mark.parametrize("raw", ['"\\ud800"', '"scale\\udfffx"'])
def test_a_quoted_lone_surrogate_is_shown_escaped(world, clients, raw):
    body = f'{{"scaleInOrder": {raw}, "network": {{"mode": {raw}}}}}'
    response = clients["superuser"].patch("/api/autoscaling/configs/auto-vm-test/", data=body, content_type=JSON)
    assert response.status_code == 400, response.content
    answer = json.loads(response.content)  # valid UTF-8 JSON
    assert "\\ud" in answer["scaleInOrder"][0] and "is not a valid choice" in answer["scaleInOrder"][0], answer


@pytest.mark.parametrize("raw", ["1e400", "-1e400", "99999999999999999999", "1.5", '"{pk}"'])
def test_template_id_that_is_no_integer_is_a_field_error(world, clients, raw):
    """1e400 (infinity) was an OverflowError in the query (a 500); 1.5 was read as template 1."""
    body = f'{{"templateId": {raw.format(pk=world["template"].pk)}}}'
    response = clients["superuser"].patch("/api/autoscaling/configs/auto-vm-test/", data=body, content_type=JSON)
    if raw == '"{pk}"':  # the id as a string is still the id
        assert response.status_code == 200, response.content
    else:
        assert response.status_code == 400, response.content
        assert response.json()["templateId"], response.json()


@pytest.mark.parametrize(("path", "status", "korean"), [
    ("/services/auto-vm-test/chart.json?hours=abc", 400, "숫자여야"),
    ("/services/auto-vm-test/chart.json?hours=1e400", 400, "사이여야"),
    ("/services/auto-vm-test/chart.json?hours=nan", 400, "사이여야"),
    ("/events/999999999/progress.json", 404, "이벤트가 없습니다"),
    ("/exporters/999999999/progress.json", 404, "설치 작업이 없습니다"),
])
def test_page_json_errors_in_the_readers_language(world, clients, path, status, korean):
    response = clients["superuser"].get(path, HTTP_ACCEPT_LANGUAGE="ko")
    assert response.status_code == status, response.content
    assert korean in response.json()["error"], response.json()
    english = clients["superuser"].get(path, HTTP_ACCEPT_LANGUAGE="en").json()["error"]
    assert english.isascii() and english, english
