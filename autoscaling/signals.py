"""Signals of the autoscaling domain: hook points for notifications (sent after the transaction commits).

- ``scale_decision_recorded(sender=ScaleEvent, event=ScaleEvent)``: every decision, ALLOW or BLOCK.
- ``vm_count_unknown(sender=AutoscalingConfig, config=AutoscalingConfig, event=ScaleEvent, error=str)``:
  Prometheus could not give the VM count (BLOCK_UNKNOWN_COUNT); the operator must be told.
- ``scale_run_finished(sender=ScaleEvent, event=ScaleEvent)``: a run ended (succeeded, failed, rolled back).

Receivers must not raise: ``send_robust`` is used and failures are logged.
"""

import logging

from django.dispatch import Signal

scale_decision_recorded = Signal()
vm_count_unknown = Signal()
scale_run_finished = Signal()


def send_logged(signal: Signal, sender: object, **kwargs: object) -> None:
    """Send ``signal`` robustly: a failing receiver is logged, never breaks the caller."""

    for receiver, response in signal.send_robust(sender=sender, **kwargs):
        if isinstance(response, Exception):
            logging.getLogger(__name__).error("receiver %r of a signal failed: %r", receiver, response)
