"""What the product asks of the F5 BIG-IP (:class:`F5`), the neutral data it gets back and the errors it can raise.

Product code depends on this module only; ``client.py`` holds the bigrest implementation and ``f5_client()``, the
one way to build it. Members are addressed by pool name (in IXNODE_F5_PARTITION), address and service port.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from django.utils.translation import gettext

# --- errors ----------------------------------------------------------------------------------------


class F5Error(Exception):
    """Base of every F5 client error; ``str()`` is the operator-facing reason."""

    status: int | None = None


class F5ConfigurationError(F5Error):
    """The F5 settings are missing (``missing``) or set to something the client cannot use (a host no request URL
    can be made of, credentials basic authentication cannot carry).

    Like every client error, ``str()`` is the English message: logs and stored run errors keep it, and pages explain
    a stored one in the reader's language (:mod:`ixnode.integrations.problems`). The sentence (an English msgid)
    and its parameters are kept apart too, so a page holding the exception itself shows it in the reader's language
    (:meth:`translated`); ``translate`` names the parameters that are msgids themselves."""

    def __init__(self, text: str, params: Mapping[str, str] | None = None, *, missing: bool = False,
                 translate: tuple[str, ...] = ()) -> None:
        self.text = text
        self.params = dict(params or {})
        self.missing = missing
        self.translate = translate
        super().__init__(text % self.params if self.params else text)

    def translated(self) -> str:
        """The message in the active language."""
        if not self.params:
            return gettext(self.text)
        values = {key: gettext(value) if key in self.translate else value for key, value in self.params.items()}
        return gettext(self.text) % values


class F5Unavailable(F5Error):
    """The BIG-IP could not be reached, timed out or answered a server error (5xx); retrying may help."""


class F5AuthenticationError(F5Error):
    """The BIG-IP refused the credentials (401/403)."""


class F5NotFound(F5Error):
    """A pool, member or node does not exist."""


class F5Conflict(F5Error):
    """The BIG-IP refused a change because of another object (409, or a node still in use)."""


class F5BadResponse(F5Error):
    """The device answered something that is not iControl REST (HTML, a truncated or foreign JSON document)."""


class F5DrainTimeout(F5Error):
    """A disabled member still had connections when the drain timeout ran out."""


# --- neutral data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolMember:
    pool: str  # pool name (without partition)
    name: str  # "<node>:<port>"
    address: str
    port: int
    session: str  # monitor-enabled | user-enabled | user-disabled
    state: str  # up | down | unchecked | user-down | ...

    @property
    def enabled(self) -> bool:
        return self.session != "user-disabled"


@dataclass(frozen=True)
class Node:
    name: str
    address: str


@dataclass(frozen=True)
class MemberStats:
    current_connections: int
    availability: str
    enabled_state: str


# --- the port ----------------------------------------------------------------------------------------


class F5(Protocol):
    """The BIG-IP LTM operations the product uses. Every method raises only :class:`F5Error` subclasses."""

    def check_pool(self, *, pool: str) -> None:
        """:class:`F5NotFound` with an actionable message when the pool does not exist."""
        ...

    def list_members(self, *, pool: str) -> list[PoolMember]: ...

    def get_member(self, *, pool: str, address: str, port: int) -> PoolMember | None: ...

    def get_node(self, *, address: str) -> Node | None: ...

    def ensure_node(self, *, address: str) -> Node:
        """The node named after ``address``; created when missing."""
        ...

    def add_member(self, *, pool: str, address: str, port: int) -> PoolMember:
        """Add ``address:port`` to ``pool`` (enabled); already present → returned (idempotent), enabled if it was
        disabled."""
        ...

    def enable_member(self, *, pool: str, address: str, port: int) -> PoolMember: ...

    def disable_member(self, *, pool: str, address: str, port: int) -> PoolMember | None:
        """Stop new connections to the member (existing ones continue); missing member → None."""
        ...

    def member_stats(self, *, pool: str, address: str, port: int) -> MemberStats: ...

    def wait_drained(
        self, *, pool: str, address: str, port: int, timeout: float | None = None, poll_interval: float | None = None
    ) -> int:
        """Wait until the member has no server-side connections; seconds waited (:class:`F5DrainTimeout` past
        ``timeout``, default IXNODE_F5_DRAIN_TIMEOUT)."""
        ...

    def remove_member(self, *, pool: str, address: str, port: int) -> bool:
        """Delete the member; False when it was already gone (idempotent)."""
        ...

    def delete_node(self, *, address: str) -> bool:
        """Delete the node; False when already gone. A node another pool still uses raises :class:`F5Conflict`."""
        ...
