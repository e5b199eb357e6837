"""django-q2 tasks of the pipelines (thin wrappers named after the service they call)."""

from __future__ import annotations

from dataclasses import asdict


def pipeline_reconcile_task() -> dict:
    """The periodic reconcile (schedule ``ixnode-pipelines-reconcile``)."""
    from autoscaling.pipelines.reconcile import pipeline_reconcile

    return asdict(pipeline_reconcile())
