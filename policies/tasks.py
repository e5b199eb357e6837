"""django-q2 tasks (thin wrappers named after the services they call)."""

from __future__ import annotations

from policies.services import policy_evaluate_all as run
from policies.whatif import whatif_run as _whatif_run


def policy_evaluate_all() -> int:

    return run()


def whatif_run(run_id: int) -> None:
    _whatif_run(run_id=run_id)
