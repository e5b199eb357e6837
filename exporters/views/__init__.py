"""Exporter install pages."""
