"""Trace-driven simulator: replays a load trace through the real decision code on a simulated clock."""
