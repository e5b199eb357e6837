"""django-q2 tasks (thin wrappers named after the services they call)."""

from __future__ import annotations


def policy_evaluate_all() -> int:
    from policies.services import policy_evaluate_all as run

    return run()
