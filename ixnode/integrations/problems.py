"""Integration failures as a sentence for people, with the technical text kept aside.

The clients raise their own exceptions with an English message meant for a log or a terminal
(``Prometheus at http://… is unreachable: NewConnectionError: HTTPConnection(host=…): Failed to establish a new
connection: [Errno 111] Connection refused``). Pages show :attr:`Problem.summary` instead — one translated sentence
saying which system, where, and what kind of failure (``Prometheus at http://… is not reachable (connection
refused).``) — and fold :attr:`Problem.detail`, the client's own text, into a ``<details>`` element.

:func:`explain` classifies an exception by the exceptions it was raised from (``__cause__``/``__context__``,
urllib3's ``reason``, the ``args`` of requests' wrappers) and by the project exception's class; :func:`explain_text`
does the same from a stored message alone (a reason or an error column written earlier), by the wording the
operating system, urllib3, requests and the clients use. Both answer in the active language.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ixnode.integrations.alertmanager.interface import AlertmanagerError
from ixnode.integrations.f5.interface import (
    F5AuthenticationError,
    F5BadResponse,
    F5ConfigurationError,
    F5Conflict,
    F5DrainTimeout,
    F5Error,
    F5NotFound,
    F5Unavailable,
)
from ixnode.integrations.grafana.interface import GrafanaError
from ixnode.integrations.jenkins.interface import (
    JenkinsAuthError,
    JenkinsError,
    JenkinsNotFoundError,
    JenkinsUnavailableError,
)
from ixnode.integrations.plg.interface import PlgConnectionError, PlgError
from ixnode.integrations.prometheus.interface import (
    PrometheusBadResponse,
    PrometheusError,
    PrometheusJobUnknown,
    PrometheusQueryError,
    PrometheusUnavailable,
)
from ixnode.integrations.ssh.interface import (
    SSHAuthError,
    SSHConfigError,
    SSHError,
    SSHHostKeyError,
    SSHUnavailable,
)
from ixnode.integrations.vcenter.interface import (
    VCenterAlreadyExists,
    VCenterAuthError,
    VCenterConfigError,
    VCenterError,
    VCenterNotFound,
    VCenterPermissionDenied,
    VCenterTimeout,
    VCenterTLSError,
    VCenterUnavailable,
)

# Kinds of failure, most specific first where a message could match several.
REFUSED = "refused"
DNS = "dns"
TIMEOUT = "timeout"
TLS = "tls"
AUTH = "auth"
PERMISSION = "permission"
NOT_CONFIGURED = "not_configured"
NOT_FOUND = "not_found"
CONFLICT = "conflict"
SERVER_ERROR = "server_error"
HTTP_STATUS = "http_status"
BAD_ANSWER = "bad_answer"
REJECTED = "rejected"
UNREACHABLE = "unreachable"
OTHER = "other"

# One sentence per kind, with and without the address (gettext_noop: translated when shown).
SENTENCES: dict[str, tuple[str, str]] = {
    REFUSED: (gettext_noop("%(system)s at %(where)s is not reachable (connection refused)."),
              gettext_noop("%(system)s is not reachable (connection refused).")),
    DNS: (gettext_noop("%(system)s at %(where)s is not reachable (the host name does not resolve)."),
          gettext_noop("%(system)s is not reachable (the host name does not resolve).")),
    TIMEOUT: (gettext_noop("%(system)s at %(where)s did not answer in time."),
              gettext_noop("%(system)s did not answer in time.")),
    TLS: (gettext_noop("%(system)s at %(where)s: the TLS certificate is not trusted."),
          gettext_noop("%(system)s: the TLS certificate is not trusted.")),
    AUTH: (gettext_noop("%(system)s at %(where)s refused the credentials."),
           gettext_noop("%(system)s refused the credentials.")),
    PERMISSION: (gettext_noop("%(system)s at %(where)s: the account lacks a permission."),
                 gettext_noop("%(system)s: the account lacks a permission.")),
    NOT_CONFIGURED: (gettext_noop("%(system)s is not configured."),
                     gettext_noop("%(system)s is not configured.")),
    NOT_FOUND: (gettext_noop("%(system)s at %(where)s: the object asked for does not exist."),
                gettext_noop("%(system)s: the object asked for does not exist.")),
    CONFLICT: (gettext_noop("%(system)s at %(where)s refused the change (conflict)."),
               gettext_noop("%(system)s refused the change (conflict).")),
    SERVER_ERROR: (gettext_noop("%(system)s at %(where)s answered with a server error (HTTP %(code)s)."),
                   gettext_noop("%(system)s answered with a server error (HTTP %(code)s).")),
    HTTP_STATUS: (gettext_noop("%(system)s at %(where)s answered HTTP %(code)s."),
                  gettext_noop("%(system)s answered HTTP %(code)s.")),
    BAD_ANSWER: (gettext_noop("%(system)s at %(where)s answered something that is not its API."),
                 gettext_noop("%(system)s answered something that is not its API.")),
    REJECTED: (gettext_noop("%(system)s at %(where)s rejected the request."),
               gettext_noop("%(system)s rejected the request.")),
    UNREACHABLE: (gettext_noop("%(system)s at %(where)s is not reachable."),
                  gettext_noop("%(system)s is not reachable.")),
    OTHER: (gettext_noop("%(system)s at %(where)s reported an error."),
            gettext_noop("%(system)s reported an error.")),
}


@dataclass(frozen=True)
class System:
    """An external system: its name on pages, the setting holding its address, how its messages start."""

    key: str
    name: str
    address_setting: str
    exception: type[BaseException]
    prefixes: tuple[str, ...]


SYSTEMS: tuple[System, ...] = (
    System("prometheus", "Prometheus", "IXNODE_PROMETHEUS_URL", PrometheusError, ("Prometheus",)),
    System("alertmanager", "Alertmanager", "IXNODE_ALERTMANAGER_URL", AlertmanagerError, ("Alertmanager",)),
    System("vcenter", "vCenter", "IXNODE_VCENTER_HOST", VCenterError, ("vCenter",)),
    System("f5", "F5 BIG-IP", "IXNODE_F5_HOST", F5Error, ("F5",)),
    System("jenkins", "Jenkins", "IXNODE_JENKINS_URL", JenkinsError, ("Jenkins",)),
    System("grafana", "Grafana", "IXNODE_GRAFANA_URL", GrafanaError, ("Grafana",)),
    System("plg", gettext_noop("PLG host"), "IXNODE_PLG_SSH_HOST", PlgError, ("PLG",)),
    System("ssh", "SSH", "", SSHError, ("SSH",)),
)

# Project exception classes whose kind is known from the class alone (checked most specific first).
KIND_BY_CLASS: tuple[tuple[type[BaseException], str], ...] = (
    (VCenterConfigError, NOT_CONFIGURED),
    (F5ConfigurationError, NOT_CONFIGURED),
    (SSHConfigError, NOT_CONFIGURED),
    (VCenterTLSError, TLS),
    (SSHHostKeyError, TLS),
    (VCenterPermissionDenied, PERMISSION),
    (VCenterAuthError, AUTH),
    (F5AuthenticationError, AUTH),
    (JenkinsAuthError, AUTH),
    (SSHAuthError, AUTH),
    (VCenterNotFound, NOT_FOUND),
    (F5NotFound, NOT_FOUND),
    (JenkinsNotFoundError, NOT_FOUND),
    (PrometheusJobUnknown, NOT_FOUND),
    (VCenterAlreadyExists, CONFLICT),
    (F5Conflict, CONFLICT),
    (VCenterTimeout, TIMEOUT),
    (F5DrainTimeout, TIMEOUT),
    (PrometheusQueryError, REJECTED),
    (PrometheusBadResponse, BAD_ANSWER),
    (F5BadResponse, BAD_ANSWER),
)
# Classes meaning "could not be reached" when nothing more precise is found in what they were raised from.
UNREACHABLE_CLASSES: tuple[type[BaseException], ...] = (
    PrometheusUnavailable, F5Unavailable, JenkinsUnavailableError, VCenterUnavailable, PlgConnectionError,
    SSHUnavailable,
)

# The wording of the operating system, urllib3, requests, paramiko and the clients, for stored messages.
TEXT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (NOT_CONFIGURED, re.compile(r"is not configured|not configured:|needs [A-Z0-9_]+ and|is not set\b", re.I)),
    (REFUSED, re.compile(r"connection refused|refused the connection|errno 111\b|ECONNREFUSED", re.I)),
    (DNS, re.compile(r"name or service not known|temporary failure in name resolution|nodename nor servname|"
                     r"failed to resolve|cannot resolve|getaddrinfo failed|NameResolutionError|errno -[23]\b", re.I)),
    (TLS, re.compile(r"CERTIFICATE_VERIFY_FAILED|certificate verify failed|TLS verification failed|"
                     r"certificate is not trusted|pinned thumbprint|TLS handshake|SSLError|host key", re.I)),
    (TIMEOUT, re.compile(r"timed out|did not answer within|did not answer in time|timeout", re.I)),
    (AUTH, re.compile(r"authentication refused|rejected the login|refused the token|\[40[13]\]|HTTP 40[13]\b|"
                      r"unauthorized|authentication failed", re.I)),
    (PERMISSION, re.compile(r"lacks .* needed to|permission denied|forbidden", re.I)),
    (NOT_FOUND, re.compile(r"\bnot found\b|no such|does not exist|has no job|no VM or template named", re.I)),
    (CONFLICT, re.compile(r"\bconflict\b|already exists", re.I)),
    (SERVER_ERROR, re.compile(r"HTTP (5\d\d)\b")),
    (HTTP_STATUS, re.compile(r"HTTP ([1-4]\d\d)\b")),
    (BAD_ANSWER, re.compile(r"malformed|not a Prometheus API|not UTF-8|not iControl REST", re.I)),
    (REJECTED, re.compile(r"rejected", re.I)),
    (UNREACHABLE, re.compile(r"unreachable|cannot connect|could not be reached|network is unreachable|"
                             r"no route to host|connection reset|connection aborted|remote end closed|"
                             r"ConnectionError|NewConnectionError|MaxRetryError", re.I)),
)
URL_RE = re.compile(r"\bhttps?://[^\s,;()<>'\"]+", re.I)
# "vCenter vc.example.test:443 refused …", "F5 10.0.0.5: could not …": a host name with a dot, or one with a port.
HOST_AFTER_NAME_RE = re.compile(
    r"^(?:vCenter|F5)\s+(?:(?P<dotted>[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+|\[[0-9A-Fa-f:]+\])(?::\d+)?"
    r"|(?P<ported>[A-Za-z0-9_-]+):\d+)(?=[\s:,;)]|$)"
)
STATUS_RE = re.compile(r"HTTP (\d{3})\b|\[(\d{3})\]")


@dataclass(frozen=True)
class Problem:
    """What went wrong, for people (``summary``, in the active language) and for the record (``detail``)."""

    summary: str
    detail: str
    kind: str = OTHER
    system: str = ""

    def __str__(self) -> str:
        return self.summary


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it was raised from or wraps (each once)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        item = todo.pop(0)
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        for nested in (item.__cause__, item.__context__, getattr(item, "reason", None)):
            if isinstance(nested, BaseException):
                todo.append(nested)
        todo.extend(arg for arg in getattr(item, "args", ()) if isinstance(arg, BaseException))


def _kind_of_chain(exc: BaseException) -> str:
    chain = list(_chain(exc))
    for item in chain:
        for cls, kind in KIND_BY_CLASS:
            if isinstance(item, cls):
                return kind
    for item in chain:
        if isinstance(item, ConnectionRefusedError):
            return REFUSED
        if isinstance(item, socket.gaierror) or type(item).__name__ == "NameResolutionError":
            return DNS
        if isinstance(item, ssl.SSLError) or type(item).__name__ in ("SSLError", "CertificateError"):
            return TLS
    for item in chain:
        name = type(item).__name__
        if name == "NewConnectionError":
            continue  # urllib3 makes it a ConnectTimeoutError subclass: a refused connection is not a timeout
        if isinstance(item, TimeoutError | socket.timeout) or "Timeout" in name:
            return TIMEOUT
    return ""


def _kind_of_text(text: str) -> tuple[str, str]:
    """The kind of failure a message describes, and the HTTP status it names (or "")."""
    for kind, pattern in TEXT_PATTERNS:
        if pattern.search(text):
            code = ""
            if kind in (SERVER_ERROR, HTTP_STATUS, AUTH):
                found = STATUS_RE.search(text)
                code = next((g for g in found.groups() if g), "") if found else ""
            return kind, code
    return OTHER, ""


def _system_of_exception(exc: BaseException) -> System | None:
    for item in _chain(exc):
        for system in SYSTEMS:
            if isinstance(item, system.exception):
                return system
    return None


def _system_of_text(text: str) -> System | None:
    stripped = text.lstrip()
    for system in SYSTEMS:
        if any(stripped.startswith(prefix) for prefix in system.prefixes):
            return system
    return None


def system_by_key(key: str) -> System | None:
    return next((system for system in SYSTEMS if system.key == key), None)


def _where(text: str, system: System | None) -> str:
    found = URL_RE.search(text)
    if found:
        return found.group(0).rstrip(".:")
    host = HOST_AFTER_NAME_RE.search(text.lstrip())
    if host:
        return host.group("dotted") or host.group("ported")
    if system is not None and system.address_setting:
        return str(getattr(settings, system.address_setting, "") or "")
    return ""


def _sentence(kind: str, *, system: str, where: str, code: str) -> str:
    with_where, without = SENTENCES[kind]
    if kind in (SERVER_ERROR, HTTP_STATUS) and not code:
        kind, (with_where, without) = OTHER, SENTENCES[OTHER]
    template = with_where if where else without
    return _(template) % {"system": system, "where": where, "code": code}


def explain(exc: BaseException, *, system: str = "", where: str = "") -> Problem:
    """A project exception (or any exception) as a sentence for people and its technical text.

    ``system`` names the system when the exception is not one of the clients' (e.g. a ``requests`` error of a
    call to this server's own URL); ``where`` its address when the message does not say it."""
    detail = str(exc) or exc.__class__.__name__
    if str(exc) and not isinstance(exc, tuple(s.exception for s in SYSTEMS)):
        detail = f"{exc.__class__.__name__}: {exc}"
    known = _system_of_exception(exc)
    kind = _kind_of_chain(exc)
    code = ""
    text_kind, text_code = _kind_of_text(detail)
    if not kind:
        kind, code = text_kind, text_code
    elif kind == AUTH:
        code = text_code
    if kind == OTHER and isinstance(exc, UNREACHABLE_CLASSES):
        kind = UNREACHABLE
    if known is None and not system and kind == OTHER:  # not an integration's failure: the product's own words
        return Problem(str(exc) or detail, "" if str(exc) else detail, OTHER, "")
    name = system or (str(_(known.name)) if known else _("The system"))
    address = where or _where(detail, known)
    return Problem(_sentence(kind, system=name, where=address, code=code), detail, kind,
                   known.key if known else "")


def explain_text(text: str, *, system: str = "", where: str = "") -> Problem:
    """A stored message (written by a client's exception earlier) as a sentence for people and its text.

    A message that names no known system and no known kind of failure is the product's own sentence: it is
    returned as the summary, unchanged, with no detail."""
    text = (text or "").strip()
    known = system_by_key(system) if system else None
    known = known or _system_of_text(text)
    kind, code = _kind_of_text(text)
    if known is None and not system and kind == OTHER:
        return Problem(text, "", OTHER, "")
    name = str(_(known.name)) if known else (system or _("The system"))
    address = where or _where(text, known)
    return Problem(_sentence(kind, system=name, where=address, code=code), text, kind, known.key if known else "")


# Short causes, for a list of things that failed each in its own way (targets down, hosts unreachable).
CAUSES: dict[str, str] = {
    REFUSED: gettext_noop("connection refused"),
    DNS: gettext_noop("host name does not resolve"),
    TIMEOUT: gettext_noop("no answer in time"),
    TLS: gettext_noop("TLS certificate not trusted"),
    AUTH: gettext_noop("credentials refused"),
    PERMISSION: gettext_noop("permission missing"),
    NOT_FOUND: gettext_noop("not found"),
    UNREACHABLE: gettext_noop("not reachable"),
}


def short_cause(text: str) -> str:
    """A few words for the failure ``text`` describes ("connection refused", "HTTP 500"), "" when unknown."""
    if not text:
        return ""
    kind, code = _kind_of_text(text)
    if kind in (SERVER_ERROR, HTTP_STATUS) and code:
        return f"HTTP {code}"
    return _(CAUSES[kind]) if kind in CAUSES else ""
