"""django-q2 tasks (thin wrappers named after the services they call)."""

from __future__ import annotations

from policies.services import policy_evaluate_all as run


def policy_evaluate_all() -> int:

    return run()
