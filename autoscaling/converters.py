"""URL path converters for the names that appear in the product's URLs.

Every URLconf that takes a service name or a VM / target name uses these instead of ``<str:…>``, so a path
parameter that no config could have (a NUL byte, a control character, upper case, a slash…) never resolves: the
request is answered 404 by the URL resolver, before any view runs a query with it (PostgreSQL refuses NUL in a
string literal with a ``DataError``).
"""

from __future__ import annotations

from django.urls import register_converter

from autoscaling import constants


class ServiceNameConverter:
    """A service name (``<service:service_name>``): a DNS label, as ``AutoscalingConfig.service_name`` requires."""

    regex = constants.SERVICE_NAME_RE.pattern.removeprefix("^").removesuffix("$")

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class NameConverter:
    """A VM name or a scrape target (``<name:…>``): 1-255 characters, no slash, no control character (a space is
    let through, for the view to say why the name is wrong)."""

    regex = r"[^/\x00-\x1f\x7f]{1,255}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


def converters_register() -> None:
    """Register ``service`` and ``name`` (called once, from ``AutoscalingAppConfig.ready()``)."""
    register_converter(ServiceNameConverter, "service")
    register_converter(NameConverter, "name")
