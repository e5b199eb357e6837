"""Signals of the provisioning app, for the apps above it (notifications connects to both).

- ``ip_pool_exhausted(sender=ScaleEvent, event=ScaleEvent, text=str)``: a scale-out found no free address at
  run time (the decision counted one that is gone by now); the run fails and the operators must be told.
- ``integration_down(sender=str, system=str, text=str)``: a diagnostics probe found an external system
  unreachable.

Both are sent with ``autoscaling.signals.send_logged``: a failing receiver is logged, never fails the sender.
"""

from django.dispatch import Signal

ip_pool_exhausted = Signal()
integration_down = Signal()
