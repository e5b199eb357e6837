"""``host:port`` text, written once: Prometheus instances and targets, file_sd entries, F5-free addresses.

IPv6 addresses carry their port in brackets (``[::1]:9100``); a bare IPv6 address (``::1``) has no port. Every
place that splits or joins such text uses these functions, so an IPv6 target is never cut at its last colon.
"""

from __future__ import annotations

import ipaddress


class HostPortError(ValueError):
    """The text is not ``host``, ``host:port``, ``[v6]`` or ``[v6]:port``; ``str()`` says what is wrong."""


def split_host_port(value: str) -> tuple[str, str]:
    """``(host, port)`` of ``value`` — the port as written, "" when there is none; brackets removed from IPv6.

    A URL (``http://10.0.0.5:9100/metrics``) is reduced to its authority first. Raises :class:`HostPortError`
    for an unclosed bracket or text after one that is not ``:port``.
    """
    text = str(value).strip()
    if "://" in text:
        text = text.split("://", 1)[1].split("/", 1)[0]
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise HostPortError(f"'{value}' is missing ']'.")
        host, rest = text[1:end], text[end + 1:]
        if rest and not rest.startswith(":"):
            raise HostPortError(f"'{value}' has text after ']' that is not ':port'.")
        return host, rest[1:]
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, port
    return text, ""  # a host without port, or a bare IPv6 address


def address_of(value: str) -> str:
    """The host of ``value`` (``10.0.0.5``, ``10.0.0.5:9100``, ``[fe80::1]:9100``, a URL), an IP address in its
    canonical form; the text itself when it cannot be split."""
    try:
        host, _port = split_host_port(value)
    except HostPortError:
        return str(value).strip()
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def join_host_port(host: str, port: int | str) -> str:
    """``host:port``, with brackets around an IPv6 address."""
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{ipaddress.ip_address(host).compressed}]:{port}"
    except ValueError:
        pass
    return f"{host}:{port}"
