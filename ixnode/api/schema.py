"""``/api/schema/`` (OpenAPI) and ``/api/docs/`` (Swagger UI): behind sign-in unless ``IXNODE_API_SCHEMA_PUBLIC``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseBase
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from ixnode.api.permissions import SchemaAccess


class SchemaView(SpectacularAPIView):
    """The OpenAPI document, for signed-in users (a token or a session) unless the setting opens it. Its errors
    (401, 403, a ``?format=`` it does not know) are JSON like every other API answer, not an OpenAPI YAML body."""

    permission_classes = [SchemaAccess]

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


class SchemaDocsView(SpectacularSwaggerView):
    """Swagger UI of the schema; a browser that is not signed in goes to the sign-in page and back."""

    permission_classes: list = []  # checked in get(): a browser is sent to sign in rather than shown a 401
    # A page, not an API: DRF's OPTIONS answer would be rendered through the page's template renderer (a 500).
    http_method_names = ["get", "head"]

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not SchemaAccess().has_permission(request, self):
            return redirect_to_login(request.get_full_path())
        return super().get(request, *args, **kwargs)


# --- Routine answers in every operation's documentation (drf-spectacular postprocessing hook) -------------------

ERROR_SCHEMA = {
    "type": "object",
    "description": "What went wrong, in a sentence; `code` names the kind of error where the product sets one.",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "description": "Field errors: `{field: [messages]}` (nested sections nest), or `{detail, code}` for a body "
                   "that is not JSON, nested too deeply or otherwise unreadable.",
    "additionalProperties": True,
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before retrying."}}


def _error(description: str, schema: str = "Error", headers: dict | None = None) -> dict:
    answer: dict = {"description": description,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}
    if headers:
        answer["headers"] = headers
    return answer


def routine_responses(result: dict, generator: object, request: object, public: bool) -> dict:
    """Add the answers every operation can give to the ones its view documents (a view's own wins):
    400 field errors (a body or query parameters), 401/403 (authenticated operations), 404 (path parameters or a
    page number), 413 (a body above ``DATA_UPLOAD_MAX_MEMORY_SIZE``), 415 (a body that is not JSON), 503 + Retry-After
    (the database unavailable)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR_SCHEMA)
    schemas.setdefault("FieldErrors", FIELD_ERRORS_SCHEMA)
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in {"get", "put", "patch", "post", "delete"}:
                continue
            parameters = operation.get("parameters", [])
            answers = {
                "503": _error("The database is unavailable or busy; retry after `Retry-After` seconds.",
                              headers=RETRY_AFTER),
            }
            if operation.get("security") != [{}]:
                answers["401"] = _error("No or a wrong credential.")
                answers["403"] = _error("The credential lacks the permission.")
            if any(p.get("in") == "path" for p in parameters) or any(p.get("name") == "page" for p in parameters):
                answers["404"] = _error("No such object (or page).")
            if "requestBody" in operation or any(p.get("in") == "query" for p in parameters):
                answers["400"] = _error("Invalid input.", schema="FieldErrors")
            if "requestBody" in operation:
                answers["413"] = _error("The body is larger than the limit (`DATA_UPLOAD_MAX_MEMORY_SIZE`).")
                answers["415"] = _error("The body is not `application/json`.")
            responses = operation.setdefault("responses", {})
            for status, answer in answers.items():
                responses.setdefault(status, answer)
            for status, documented in responses.items():
                if status.isdigit() and int(status) >= 400 and "content" not in documented:
                    # A view's description only: the error's shape is the product's (field errors or detail).
                    shape = _error("", schema="FieldErrors" if status == "400" else "Error")
                    responses[status] = {**shape, **documented, "content": shape["content"]}
            responses["503"].setdefault("headers", RETRY_AFTER)
    return result
