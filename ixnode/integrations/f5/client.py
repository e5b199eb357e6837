"""F5 BIG-IP LTM client on bigrest: nodes and pool members of an autoscaled service.

It implements :class:`~ixnode.integrations.f5.interface.F5` and is built by ``f5_client()`` (the one way):
``ensure_node``, ``add_member`` (idempotent), ``disable_member``, ``wait_drained`` (poll ``serverside.curConns``
until 0 or a timeout), ``remove_member`` and ``delete_node`` (idempotent), ``list_members`` and ``get_member``.
Neutral dataclasses out; bigrest and requests errors become the interface's exceptions, with messages an operator
can act on.

Settings (env): ``IXNODE_F5_HOST`` (``host`` or ``host:port`` of the management interface), ``IXNODE_F5_USER``,
``IXNODE_F5_PASSWORD``, ``IXNODE_F5_VERIFY_TLS`` (``true``, ``false`` or the path of a CA bundle / the device's
certificate), ``IXNODE_F5_PARTITION`` (default ``Common``), ``IXNODE_F5_TIMEOUT`` (seconds per request),
``IXNODE_F5_DRAIN_TIMEOUT`` and ``IXNODE_F5_DRAIN_POLL_INTERVAL`` (seconds).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from bigrest.bigip import BIGIP
from bigrest.common.exceptions import RESTAPIError
from django.conf import settings
from django.utils.translation import gettext_noop

from ixnode.integrations.f5.interface import (
    F5,
    F5AuthenticationError,
    F5BadResponse,
    F5ConfigurationError,
    F5Conflict,
    F5DrainTimeout,
    F5Error,
    F5NotFound,
    F5Unavailable,
    MemberStats,
    Node,
    PoolMember,
)

T = TypeVar("T")
logger = logging.getLogger(__name__)

# --- client ------------------------------------------------------------------------------------------

_STATUS_RE = re.compile(r"Status:\s*(\d{3})")
_F5_CODE_RE = re.compile(r"\b\d{8}:\d\b")
_HTML_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_HTML_TAG_RE = re.compile(r"<[^>]*>")
_MEMBER_PORT_RE = re.compile(r"[:.](\d+)$")  # "addr:port" (IPv4), "addr.port" (IPv6)


def _parse_verify(value: str | bool) -> str | bool:
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower()
    if lowered in ("", "1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    return value  # a CA bundle path


class _BIGIP(BIGIP):
    """bigrest's BIGIP, with an explicit CA path winning over REQUESTS_CA_BUNDLE (requests' env precedence)."""

    def _connect(self) -> None:
        if isinstance(self.session_verify, str):
            self.session.trust_env = False
        super()._connect()


def _split_error(exc: RESTAPIError) -> tuple[int | None, str]:
    text = str(exc)
    match = _STATUS_RE.search(text)
    status = int(match.group(1)) if match else None
    body = text.split("Response Body:", 1)[1].strip() if "Response Body:" in text else text
    try:
        message = json.loads(body).get("message", body)
    except (ValueError, AttributeError):
        message = _html_text(body)
    return status, str(message)[:500]


def _html_text(body: str) -> str:
    """An HTML error page (httpd's own while restjavad is down) as its title, else its text; other text as is."""
    if "<" not in body[:200] or ">" not in body:
        return body
    title = _HTML_TITLE_RE.search(body)
    text = title.group(1) if title else _HTML_TAG_RE.sub(" ", body)
    return " ".join(text.split()) + " (HTML page, not iControl REST)"


def _host_error(host: str, problem: str, *, translate: bool = False) -> F5ConfigurationError:
    """IXNODE_F5_HOST holds something no request URL can be made of: which value, why, and what it should be.
    ``translate``: ``problem`` is one of the client's own msgids (else a library's text, kept as it is)."""
    return F5ConfigurationError(
        gettext_noop(
            "F5 %(host)s: IXNODE_F5_HOST is not configured correctly (%(problem)s). Set it to the BIG-IP's "
            "management address as host or host:port, without a scheme (https:// is implied); an IPv6 address in "
            "brackets, for example [2001:db8::10]:443."
        ),
        {"host": host, "problem": problem},
        translate=("problem",) if translate else (),
    )


class F5Client:
    """BIG-IP LTM client. Thread-safe: one bigrest session, guarded by a lock (pipelines clone in threads)."""

    def __init__(
        self,
        *,
        host: str,
        user: str,
        password: str,
        verify: str | bool = True,
        partition: str = "Common",
        timeout: float = 10.0,
        drain_timeout: float = 300.0,
        drain_poll_interval: float = 2.0,
    ) -> None:
        if not host or not user or not password:
            raise F5ConfigurationError(
                gettext_noop(
                    "F5 is not configured: set IXNODE_F5_HOST (management address, host[:port]), IXNODE_F5_USER "
                    "and IXNODE_F5_PASSWORD."
                ),
                missing=True,
            )
        if "://" in host:  # bigrest puts https:// in front: "https://https://bigip/…" would read as unreachable
            raise _host_error(host, gettext_noop("it starts with a scheme"), translate=True)
        try:
            user.encode("latin-1")
            password.encode("latin-1")
        except UnicodeEncodeError:  # requests encodes basic authentication (the login) as Latin-1, or raises
            raise F5ConfigurationError(
                gettext_noop(
                    "F5 %(host)s: IXNODE_F5_USER or IXNODE_F5_PASSWORD is not configured correctly: the login sends "
                    "them in HTTP basic authentication, which carries Latin-1 characters only; use an F5 account "
                    "whose name and password have no others."
                ),
                {"host": host},
            ) from None
        self.host = host
        self.user = user
        self._password = password
        self.verify = _parse_verify(verify)
        self.partition = partition or "Common"
        self.timeout = timeout
        self.drain_timeout = drain_timeout
        self.drain_poll_interval = drain_poll_interval
        self._bigip: BIGIP | None = None
        self._lock = threading.RLock()

    # ---- plumbing ------------------------------------------------------------------------------------
    def _connect(self) -> BIGIP:
        if self._bigip is None:
            self._bigip = self._translate(
                "log in",
                lambda: _BIGIP(
                    self.host,
                    self.user,
                    self._password,
                    request_token=True,
                    session_verify=self.verify,
                    timeout=int(max(1, self.timeout)),
                ),
            )
        return self._bigip

    def _translate(self, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except RESTAPIError as exc:
            status, message = _split_error(exc)
            raise self._error_for(status, what, message) from None
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ) as exc:  # ValueErrors too, but raised before any connection: no URL can be made of IXNODE_F5_HOST
            raise _host_error(self.host, f"{exc.__class__.__name__}: {str(exc)[:160]}") from None
        except (ValueError, KeyError, TypeError) as exc:  # bigrest reading a 2xx answer that is not iControl JSON
            raise F5BadResponse(
                f"F5 {self.host}: could not {what}: the device answered something that is not iControl REST JSON "
                f"({exc.__class__.__name__}: {str(exc)[:120]}); check that IXNODE_F5_HOST is the BIG-IP's "
                "management address (not a proxy or a login page), or retry if restjavad was restarting."
            ) from None
        except requests.exceptions.SSLError as exc:
            raise F5Unavailable(
                f"F5 {self.host}: TLS verification failed while trying to {what} ({exc.__class__.__name__}). "
                "Set IXNODE_F5_VERIFY_TLS to the path of the device's CA/certificate, or to false on a lab device."
            ) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise F5Unavailable(
                f"F5 {self.host} is unreachable while trying to {what} ({exc.__class__.__name__}); "
                "check IXNODE_F5_HOST and that the management interface accepts HTTPS from this host."
            ) from None

    def _error_for(self, status: int | None, what: str, message: str) -> F5Error:
        prefix = f"F5 {self.host}: could not {what}"
        if status in (401, 403):
            err: F5Error = F5AuthenticationError(
                f"{prefix}: authentication refused ({status}: {message}). Check IXNODE_F5_USER / IXNODE_F5_PASSWORD "
                f"and that "
                "the user has the Manager role on the partition."
            )
        elif status == 404:
            err = F5NotFound(f"{prefix}: not found ({message}).")
        elif status == 409:
            err = F5Conflict(f"{prefix}: conflict ({message}).")
        elif status is not None and status >= 500:
            err = F5Unavailable(
                f"{prefix}: the device answered HTTP {status} ({message}); retry later or check restjavad."
            )
        else:
            err = F5Error(f"{prefix}: the device answered HTTP {status} ({message}).")
        err.status = status
        return err

    def _call(self, what: str, fn: Callable[[BIGIP], T]) -> T:
        """Run one bigrest call; a token the device no longer knows (401: expired, revoked, restjavad restarted) is
        renewed by one new login and the call retried once; a second refusal is final."""
        with self._lock:
            bigip = self._connect()
            try:
                return self._translate(what, lambda: fn(bigip))
            except F5AuthenticationError as first:
                logger.info("F5 %s refused the session token (%s); logging in again", self.host, first.status)
                self._bigip = None
                bigip = self._connect()
                try:
                    return self._translate(what, lambda: fn(bigip))
                except F5AuthenticationError as again:
                    self._bigip = None
                    err = F5AuthenticationError(
                        f"F5 {self.host}: could not {what}: the device refused the token of a fresh login too "
                        f"({again.status}); the user may lack the Manager role on partition {self.partition}, or "
                        "the device's token store is failing (check restjavad)."
                    )
                    err.status = again.status
                    raise err from None

    def _path(self, name: str) -> str:
        return f"~{self.partition}~{name}"

    def _pool_url(self, pool: str) -> str:
        return f"/mgmt/tm/ltm/pool/{self._path(pool)}"

    def _member_url(self, pool: str, address: str, port: int) -> str:
        return f"{self._pool_url(pool)}/members/{self._path(member_name(address, port))}"

    def _member(self, pool: str, props: dict[str, Any]) -> PoolMember:
        name = props.get("name") if isinstance(props, dict) else None
        found = _MEMBER_PORT_RE.search(name) if isinstance(name, str) else None
        if not isinstance(name, str) or found is None:
            raise F5BadResponse(
                f"F5 {self.host}: a member of pool {pool} came back without a usable name ({str(props)[:120]}): "
                "not an iControl REST pool member."
            )
        port = int(found.group(1))
        return PoolMember(
            pool=pool,
            name=name,
            address=str(props.get("address", "")).split("%")[0],
            port=port,
            session=props.get("session", ""),
            state=props.get("state", ""),
        )

    # ---- interface -----------------------------------------------------------------------------------
    def check_pool(self, *, pool: str) -> None:
        """Raise F5NotFound with an actionable message when the service's pool does not exist."""
        try:
            self._call(f"read pool {pool}", lambda b: b.load(self._pool_url(pool)))
        except F5NotFound:
            raise F5NotFound(
                f"F5 pool /{self.partition}/{pool} does not exist on {self.host}: create it on the BIG-IP "
                "or correct the config's F5 pool name."
            ) from None

    def list_members(self, *, pool: str) -> list[PoolMember]:
        try:
            loaded = self._call(f"list members of pool {pool}", lambda b: b.load(f"{self._pool_url(pool)}/members"))
        except F5NotFound:
            raise F5NotFound(
                f"F5 pool /{self.partition}/{pool} does not exist on {self.host}: create it on the BIG-IP "
                "or correct the config's F5 pool name."
            ) from None
        if not isinstance(loaded, list):  # a BIG-IP leaves "items" out of an empty collection
            return []
        return [self._member(pool, obj.properties) for obj in loaded]

    def get_member(self, *, pool: str, address: str, port: int) -> PoolMember | None:
        try:
            obj = self._call(
                f"read member {address}:{port}", lambda b: b.load(self._member_url(pool, address, port))
            )
        except F5NotFound:
            return None
        return self._member(pool, obj.properties)

    def get_node(self, *, address: str) -> Node | None:
        try:
            obj = self._call(f"read node {address}", lambda b: b.load(f"/mgmt/tm/ltm/node/{self._path(address)}"))
        except F5NotFound:
            return None
        return self._node(obj.properties)

    def _node(self, props: dict[str, Any]) -> Node:
        name = props.get("name") if isinstance(props, dict) else None
        address = props.get("address") if isinstance(props, dict) else None
        if not isinstance(name, str) or not isinstance(address, str):
            raise F5BadResponse(
                f"F5 {self.host}: a node came back without a name and address ({str(props)[:120]}): not an "
                "iControl REST node."
            )
        return Node(name=name, address=address)

    def ensure_node(self, *, address: str) -> Node:
        """The node named after ``address``; created when missing."""
        existing = self.get_node(address=address)
        if existing is not None:
            return existing
        body = {"name": address, "address": address, "partition": self.partition}
        try:
            obj = self._call(f"create node {address}", lambda b: b.create("/mgmt/tm/ltm/node", body))
        except F5Conflict:
            found = self.get_node(address=address)
            if found is None:
                raise F5Conflict(
                    f"F5 {self.host}: address {address} already belongs to a node with another name; "
                    "remove or rename it on the BIG-IP."
                ) from None
            return found
        return self._node(obj.properties)

    def add_member(self, *, pool: str, address: str, port: int) -> PoolMember:
        """Add ``address:port`` to ``pool`` (enabled); already present → returned as is (idempotent), enabled again
        when it was left disabled (a drained member of an earlier VM on the same address)."""
        existing = self.get_member(pool=pool, address=address, port=port)
        if existing is not None:
            return existing if existing.enabled else self.enable_member(pool=pool, address=address, port=port)
        self.ensure_node(address=address)
        body = {"name": member_name(address, port), "address": address, "partition": self.partition}
        try:
            obj = self._call(
                f"add member {address}:{port} to pool {pool}",
                lambda b: b.create(f"{self._pool_url(pool)}/members", body),
            )
        except F5Conflict:  # created meanwhile (another run, an operator, a retried request): the same member
            found = self.get_member(pool=pool, address=address, port=port)
            if found is None:
                raise
            return found if found.enabled else self.enable_member(pool=pool, address=address, port=port)
        except F5NotFound:
            self.check_pool(pool=pool)
            raise
        return self._member(pool, obj.properties)

    def enable_member(self, *, pool: str, address: str, port: int) -> PoolMember:
        obj = self._call(
            f"enable member {address}:{port}",
            lambda b: b.modify(self._member_url(pool, address, port), {"session": "user-enabled", "state": "user-up"}),
        )
        return self._member(pool, obj.properties)

    def disable_member(self, *, pool: str, address: str, port: int) -> PoolMember | None:
        """Stop new connections to the member (existing ones continue); missing member → None."""
        try:
            obj = self._call(
                f"disable member {address}:{port}",
                lambda b: b.modify(self._member_url(pool, address, port), {"session": "user-disabled"}),
            )
        except F5NotFound:
            return None
        return self._member(pool, obj.properties)

    def member_stats(self, *, pool: str, address: str, port: int) -> MemberStats:
        obj = self._call(
            f"read statistics of member {address}:{port}", lambda b: b.show(self._member_url(pool, address, port))
        )
        props = obj.properties
        return MemberStats(
            current_connections=int(props.get("serverside.curConns", {}).get("value", 0)),
            availability=props.get("status.availabilityState", {}).get("description", ""),
            enabled_state=props.get("status.enabledState", {}).get("description", ""),
        )

    def wait_drained(
        self, *, pool: str, address: str, port: int, timeout: float | None = None, poll_interval: float | None = None
    ) -> int:
        """Wait until the member has no server-side connections; returns seconds waited (F5DrainTimeout else)."""
        timeout = self.drain_timeout if timeout is None else timeout
        poll = self.drain_poll_interval if poll_interval is None else poll_interval
        start = time.monotonic()
        while True:
            try:
                stats = self.member_stats(pool=pool, address=address, port=port)
            except F5NotFound:
                return 0
            if stats.current_connections <= 0:
                return int(time.monotonic() - start)
            if time.monotonic() - start >= timeout:
                raise F5DrainTimeout(
                    f"F5 member {address}:{port} of pool {pool} still has {stats.current_connections} connection(s) "
                    f"after {timeout:.0f}s of draining; raise IXNODE_F5_DRAIN_TIMEOUT or close the sessions, then "
                    f"retry."
                )
            time.sleep(poll)

    def remove_member(self, *, pool: str, address: str, port: int) -> bool:
        """Delete the member; returns False when it was already gone (idempotent)."""
        try:
            self._call(
                f"remove member {address}:{port} from pool {pool}",
                lambda b: b.delete(self._member_url(pool, address, port)),
            )
        except F5NotFound:
            return False
        return True

    def delete_node(self, *, address: str) -> bool:
        """Delete the node; False when already gone. A node another pool still uses raises F5Conflict."""
        try:
            self._call(f"delete node {address}", lambda b: b.delete(f"/mgmt/tm/ltm/node/{self._path(address)}"))
        except F5NotFound:
            return False
        except F5Error as exc:
            if exc.status == 400 and "01070110" in str(exc):
                raise F5Conflict(
                    f"F5 node {address} is still used by a member of another pool, so it was kept: {exc}"
                ) from None
            raise
        return True


def member_name(address: str, port: int) -> str:
    """F5's member name: ``addr:port`` (IPv4) or ``addr.port`` (IPv6)."""
    return f"{address}.{port}" if ":" in address else f"{address}:{port}"


def f5_client(*, timeout: float | None = None) -> F5:
    """The BIG-IP configured by the F5_* settings: the one way the product builds an F5 client (one per run; its
    bigrest session logs in on first use). ``F5ConfigurationError`` when IXNODE_F5_HOST, IXNODE_F5_USER or
    IXNODE_F5_PASSWORD is missing (``missing``) or cannot be used. ``timeout`` overrides IXNODE_F5_TIMEOUT (seconds
    per request), e.g. for a page that must answer quickly."""
    return F5Client(
        host=settings.IXNODE_F5_HOST,
        user=settings.IXNODE_F5_USER,
        password=settings.IXNODE_F5_PASSWORD,
        verify=settings.IXNODE_F5_VERIFY_TLS,
        partition=settings.IXNODE_F5_PARTITION,
        timeout=settings.IXNODE_F5_TIMEOUT if timeout is None else timeout,
        drain_timeout=settings.IXNODE_F5_DRAIN_TIMEOUT,
        drain_poll_interval=settings.IXNODE_F5_DRAIN_POLL_INTERVAL,
    )
