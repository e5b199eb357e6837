"""django-q2 task of the artifacts (a thin wrapper named after the service it calls)."""

from __future__ import annotations

from artifacts.services import artifacts_regenerate


def artifacts_regenerate_task(service_name: str, config_id: int | None = None) -> str:

    outcome = artifacts_regenerate(service_name=service_name, config_id=config_id)
    return f"{outcome.service_name}: {outcome.status} {outcome.error}".strip()
