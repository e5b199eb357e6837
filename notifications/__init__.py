"""Operator notifications: scale events, failures, bounds reached, IP pool exhausted, integrations down."""
