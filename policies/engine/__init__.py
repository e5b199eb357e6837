"""Pure policy functions: no database, no network, no clock of their own.

The live evaluation loop (``policies.services``) and the simulator (``policies.simulator``) both call
these functions and then ``autoscaling.decision.decide()``, so the safety rules are shared.
"""
