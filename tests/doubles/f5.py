"""A BIG-IP iControl REST double: an HTTPS server on 127.0.0.1 that answers like a BIG-IP LTM does.

Written from F5's iControl REST documentation (token login at ``/mgmt/shared/authn/login``, the
``X-F5-Auth-Token`` header, ``/mgmt/tm/ltm/pool``, ``.../members``, ``/mgmt/tm/ltm/node``, ``.../stats``)
so that bigrest runs its real code path against it. What it reproduces, because clients trip on it:

- Basic auth or a token from the login endpoint; tokens expire after ``token_timeout`` seconds and
  can be revoked (``revoke_tokens()``); a bad token answers 401 with F5's ``:resterrorresponse`` body.
- Object names in URLs as ``~Partition~name``, query strings (``?ver=``, ``$select``) ignored.
- Creating a pool member creates its node when no node with that name exists (as tmsh does); deleting
  a member leaves the node; deleting a node still referenced by a member answers 400 (01070110).
- 404 (01020036) and 409 (01020066) with F5's message formats, ``{"code", "message", "errorStack",
  "apiError"}``.
- An empty collection has no ``items`` key at all (a real BIG-IP quirk).
- Member ``session``/``state`` follow PATCHes of user-enabled/user-disabled and user-up/user-down; the
  member's ``serverside.curConns`` statistic is whatever the test sets (``set_connections``).
- Faults on demand: ``inject(method, path_regex, status, times=...)`` answers the next matching
  requests with that status and an F5-shaped body (5xx included) instead of serving them. With ``html=True`` the
  answer is the page the device's Apache front end serves when restjavad is down or restarting (``503 Service
  Unavailable``, ``text/html``) rather than iControl's JSON; ``raw=...`` answers any other body as is (a proxy's
  page, a truncated answer), with ``content_type``.

The double keeps a request log (``requests``) so contract tests can assert what a client sent.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import secrets
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

LOGIN_PATH = "/mgmt/shared/authn/login"
BASE = "https://localhost"
VERSION = "15.1.10"


def make_self_signed_cert(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """Write a throw-away self-signed certificate for ``host`` (IP SAN) into ``directory``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bigip-double.localdomain")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "bigip.crt"
    key_path = directory / "bigip.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class F5HttpError(Exception):
    def __init__(self, status: int, body: dict):
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body


def _tm_error(status: int, message: str) -> F5HttpError:
    """The error body /mgmt/tm endpoints answer with."""
    return F5HttpError(status, {"code": status, "message": message, "errorStack": [], "apiError": 3})


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern
    status: int
    times: int
    message: str
    raw: bytes | None = None
    content_type: str = "application/json; charset=UTF-8"


#: What httpd on the BIG-IP management interface answers while restjavad (the iControl REST daemon) is down or
#: restarting: Apache's own error page, not iControl's JSON.
APACHE_503 = (
    '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>503 Service Unavailable</title>\n'
    "</head><body>\n<h1>Service Unavailable</h1>\n<p>The server is temporarily unable to service your\n"
    "request due to maintenance downtime or capacity\nproblems. Please try again later.</p>\n</body></html>\n"
)


@dataclass
class _Token:
    user: str
    expires: float
    timeout: int


@dataclass
class F5State:
    users: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, _Token] = field(default_factory=dict)
    # keyed by full path "/Common/name"
    nodes: dict[str, dict] = field(default_factory=dict)
    pools: dict[str, dict] = field(default_factory=dict)
    # pool full path -> member full path "/Common/node:port" -> member dict
    members: dict[str, dict[str, dict]] = field(default_factory=dict)
    # (pool full path, member full path) -> current server-side connections
    connections: dict[tuple[str, str], int] = field(default_factory=dict)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value.split("%")[0])
    except ValueError:
        return False
    return True


def _split_member(name: str) -> tuple[str, int]:
    """``10.0.0.1:80`` -> (``10.0.0.1``, 80); IPv6 members use ``addr.port``."""
    if ":" in name and name.count(":") == 1:
        node, port = name.rsplit(":", 1)
    elif "." in name:
        node, port = name.rsplit(".", 1)
    else:
        raise ValueError(name)
    return node, int(port)


class F5Double:
    """The BIG-IP REST double. Use as a context manager or ``start()``/``stop()``."""

    def __init__(
        self,
        *,
        username: str = "admin",
        password: str | None = None,
        token_timeout: int = 1200,
        workdir: Path | None = None,
    ):
        self.username = username
        self.password = password or secrets.token_urlsafe(12)
        self.token_timeout = token_timeout
        self.state = F5State(users={username: self.password})
        self.lock = threading.RLock()
        self.faults: list[_Fault] = []
        self.requests: list[tuple[str, str, dict | None]] = []
        self._operation = 1000
        self._tmp = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="f5-double-")
            workdir = Path(self._tmp.name)
        self.workdir = workdir
        self.cert_path, self.key_path = make_self_signed_cert(workdir)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle --------------------------------------------------------------------------------
    def start(self) -> F5Double:
        handler = type("BoundF5Handler", (_Handler,), {"double": self})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, self.key_path)
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="f5-double", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> F5Double:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def device(self) -> str:
        """What bigrest calls the device: ``host:port``."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"https://{self.device}"

    # ---- test controls ----------------------------------------------------------------------------
    def add_pool(self, name: str, *, partition: str = "Common", monitor: str = "/Common/http") -> dict:
        with self.lock:
            return self._create_pool({"name": name, "partition": partition, "monitor": monitor})

    def add_member(self, pool: str, address: str, port: int, *, partition: str = "Common", **props) -> dict:
        """Create a member as an operator would (``session="user-disabled"``: one left disabled)."""
        with self.lock:
            return self._create_member(f"/{partition}/{pool}",
                                       {"name": f"{address}:{port}", "address": address, **props})

    def set_connections(self, pool: str, address: str, port: int, count: int, *, partition: str = "Common") -> None:
        with self.lock:
            self.state.connections[(f"/{partition}/{pool}", f"/{partition}/{address}:{port}")] = count

    def inject(self, method: str, path_regex: str, status: int, *, times: int = 1, message: str = "",
               html: bool = False, raw: str | bytes | None = None, content_type: str = "") -> None:
        """Answer the next ``times`` requests matching method + path regex with ``status`` (``times=-1``: always):
        an F5-shaped JSON error, Apache's HTML error page (``html``) or the ``raw`` body as is."""
        body: bytes | None = None
        if html:
            body, content_type = APACHE_503.encode(), content_type or "text/html; charset=iso-8859-1"
        elif raw is not None:
            body = raw.encode() if isinstance(raw, str) else raw
        with self.lock:
            self.faults.append(_Fault(method.upper(), re.compile(path_regex), status, times, message, body,
                                      content_type or "application/json; charset=UTF-8"))

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def revoke_tokens(self) -> None:
        with self.lock:
            self.state.tokens.clear()

    def member_names(self, pool: str, *, partition: str = "Common") -> set[str]:
        with self.lock:
            return {m["name"] for m in self.state.members.get(f"/{partition}/{pool}", {}).values()}

    def member(self, pool: str, address: str, port: int, *, partition: str = "Common") -> dict | None:
        with self.lock:
            found = self.state.members.get(f"/{partition}/{pool}", {}).get(f"/{partition}/{address}:{port}")
            return dict(found) if found else None

    def node_names(self) -> set[str]:
        with self.lock:
            return {n["name"] for n in self.state.nodes.values()}

    # ---- request handling (called by the handler with the lock held) ------------------------------
    def next_operation_id(self) -> int:
        self._operation += 1
        return self._operation

    def take_fault(self, method: str, path: str) -> _Fault | None:
        for fault in self.faults:
            if fault.method in (method, "*") and fault.pattern.search(path):
                if fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self.faults.remove(fault)
                return fault
        return None

    def login(self, body: dict) -> dict:
        user = body.get("username", "")
        if self.state.users.get(user) != body.get("password") or not user:
            raise F5HttpError(
                401,
                {
                    "code": 401,
                    "message": "Authentication failed.",
                    "referer": "127.0.0.1",
                    "restOperationId": self.next_operation_id(),
                    "kind": ":resterrorresponse",
                },
            )
        token = "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(26))
        now = time.time()
        self.state.tokens[token] = _Token(user=user, expires=now + self.token_timeout, timeout=self.token_timeout)
        micros = int(now * 1_000_000)
        return {
            "username": user,
            "loginReference": {"link": f"{BASE}/mgmt/cm/system/authn/providers/tmos/1/login"},
            "loginProviderName": body.get("loginProviderName", "tmos"),
            "token": {
                "token": token,
                "name": token,
                "userName": user,
                "authProviderName": "local",
                "user": {"link": f"{BASE}/mgmt/shared/authz/users/{user}"},
                "groupReferences": [],
                "timeout": self.token_timeout,
                "startTime": dt.datetime.now(dt.UTC).isoformat(),
                "address": "127.0.0.1",
                "partition": "[All]",
                "generation": 1,
                "lastUpdateMicros": micros,
                "expirationMicros": micros + self.token_timeout * 1_000_000,
                "kind": "shared:authz:tokens:authtokenitemstate",
                "selfLink": f"{BASE}/mgmt/shared/authz/tokens/{token}",
            },
            "generation": 0,
            "lastUpdateMicros": 0,
        }

    def authenticate(self, headers, path: str) -> None:
        token = headers.get("X-F5-Auth-Token")
        if token:
            found = self.state.tokens.get(token)
            if found is None or found.expires < time.time():
                self.state.tokens.pop(token, None)
                raise F5HttpError(
                    401,
                    {
                        "code": 401,
                        "message": "X-F5-Auth-Token does not exist.",
                        "referer": "127.0.0.1",
                        "restOperationId": self.next_operation_id(),
                        "kind": ":resterrorresponse",
                    },
                )
            return
        auth = headers.get("Authorization", "")
        if auth.startswith("Basic "):
            import base64

            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                user, password = "", None
            if user and self.state.users.get(user) == password:
                return
            raise F5HttpError(401, {"code": 401, "message": "Authentication failed.", "kind": ":resterrorresponse"})
        raise F5HttpError(
            401,
            {
                "code": 401,
                "message": f"Authorization failed: no user authentication header or token detected. "
                f"Uri:http://localhost:8100{path} Referrer:127.0.0.1 Sender:127.0.0.1",
                "referer": "127.0.0.1",
                "restOperationId": self.next_operation_id(),
                "kind": ":resterrorresponse",
            },
        )

    # ---- LTM objects --------------------------------------------------------------------------------
    @staticmethod
    def full_path(name: str, partition: str = "Common") -> str:
        if name.startswith("/"):
            return name
        return f"/{partition}/{name}"

    @staticmethod
    def url_name(full_path: str) -> str:
        return full_path.replace("/", "~")

    def _pool_view(self, pool: dict) -> dict:
        link = f"{BASE}/mgmt/tm/ltm/pool/{self.url_name(pool['fullPath'])}"
        view = dict(pool)
        view["selfLink"] = f"{link}?ver={VERSION}"
        view["membersReference"] = {"link": f"{link}/members?ver={VERSION}", "isSubcollection": True}
        return view

    def _member_view(self, pool_path: str, member: dict) -> dict:
        view = dict(member)
        view["selfLink"] = (
            f"{BASE}/mgmt/tm/ltm/pool/{self.url_name(pool_path)}/members/"
            f"{self.url_name(member['fullPath'])}?ver={VERSION}"
        )
        return view

    def _node_view(self, node: dict) -> dict:
        view = dict(node)
        view["selfLink"] = f"{BASE}/mgmt/tm/ltm/node/{self.url_name(node['fullPath'])}?ver={VERSION}"
        return view

    def _create_pool(self, body: dict) -> dict:
        name = body.get("name")
        if not name:
            raise _tm_error(400, "01070734:3: Configuration error: a pool name is required.")
        partition = body.get("partition", "Common")
        path = self.full_path(name, partition)
        if path in self.state.pools:
            raise _tm_error(409, f"01020066:3: The requested Pool ({path}) already exists in partition {partition}.")
        pool = {
            "kind": "tm:ltm:pool:poolstate",
            "name": path.rsplit("/", 1)[1],
            "partition": path.split("/")[1],
            "fullPath": path,
            "generation": 1,
            "allowNat": "yes",
            "allowSnat": "yes",
            "loadBalancingMode": body.get("loadBalancingMode", "round-robin"),
            "minActiveMembers": 0,
            "monitor": body.get("monitor", ""),
            "queueOnConnectionLimit": "disabled",
            "serviceDownAction": "none",
            "slowRampTime": 10,
        }
        self.state.pools[path] = pool
        self.state.members[path] = {}
        return self._pool_view(pool)

    def _create_node(self, body: dict) -> dict:
        name = body.get("name")
        partition = body.get("partition", "Common")
        address = body.get("address") or (name if name and _is_ip(name) else None)
        if not name:
            raise _tm_error(400, "01070734:3: Configuration error: a node name is required.")
        if not address or not _is_ip(address):
            raise _tm_error(400, f"01070734:3: Configuration error: invalid address ({address}) for node {name}.")
        path = self.full_path(name, partition)
        if path in self.state.nodes:
            raise _tm_error(409, f"01020066:3: The requested Node ({path}) already exists in partition {partition}.")
        for node in self.state.nodes.values():
            if node["address"] == address:
                raise _tm_error(
                    409, f"01020066:3: The requested Node ({node['fullPath']}) already exists in partition {partition}."
                )
        node = {
            "kind": "tm:ltm:node:nodestate",
            "name": path.rsplit("/", 1)[1],
            "partition": path.split("/")[1],
            "fullPath": path,
            "generation": 1,
            "address": address,
            "connectionLimit": 0,
            "dynamicRatio": 1,
            "ephemeral": "false",
            "fqdn": {"addressFamily": "ipv4", "autopopulate": "disabled", "downInterval": 5, "interval": "3600"},
            "logging": "disabled",
            "monitor": "default",
            "rateLimit": "disabled",
            "ratio": 1,
            "session": "user-enabled",
            "state": "unchecked",
        }
        self.state.nodes[path] = node
        return self._node_view(node)

    def _pool(self, pool_path: str) -> dict:
        pool = self.state.pools.get(pool_path)
        if pool is None:
            raise _tm_error(404, f"01020036:3: The requested Pool ({pool_path}) was not found.")
        return pool

    def _create_member(self, pool_path: str, body: dict) -> dict:
        pool = self._pool(pool_path)
        raw = body.get("name", "")
        partition = body.get("partition", pool["partition"])
        short = raw.rsplit("/", 1)[-1]
        try:
            node_name, port = _split_member(short)
        except ValueError:
            raise _tm_error(
                400, f"01070587:3: The requested pool member name ({raw}) is invalid: use <node>:<port>."
            ) from None
        node_path = self.full_path(node_name, partition)
        member_path = f"{node_path}:{port}"
        members = self.state.members[pool_path]
        if member_path in members:
            raise _tm_error(
                409,
                f"01020066:3: The requested Pool Member ({pool_path} {node_path} {port}) already exists "
                f"in partition {partition}.",
            )
        node = self.state.nodes.get(node_path)
        if node is None:
            address = body.get("address") or (node_name if _is_ip(node_name) else None)
            if not address:
                raise _tm_error(404, f"01020036:3: The requested Node ({node_path}) was not found.")
            node = self._create_node_record(node_name, partition, address)
        elif body.get("address") and body["address"] != node["address"]:
            raise _tm_error(
                400,
                f"01070734:3: Configuration error: the address {body['address']} does not match node "
                f"{node_path} ({node['address']}).",
            )
        monitored = bool(pool.get("monitor"))
        member = {
            "kind": "tm:ltm:pool:members:membersstate",
            "name": f"{node['name']}:{port}",
            "partition": partition,
            "fullPath": member_path,
            "generation": 1,
            "address": node["address"],
            "connectionLimit": int(body.get("connectionLimit", 0)),
            "dynamicRatio": 1,
            "ephemeral": "false",
            "fqdn": {"autopopulate": "disabled"},
            "inheritProfile": "enabled",
            "logging": "disabled",
            "monitor": "default",
            "priorityGroup": 0,
            "rateLimit": "disabled",
            "ratio": int(body.get("ratio", 1)),
            "session": "monitor-enabled" if monitored else "user-enabled",
            "state": "up" if monitored else "unchecked",
        }
        self._apply_member_patch(member, body, monitored)
        members[member_path] = member
        self.state.connections.setdefault((pool_path, member_path), 0)
        return self._member_view(pool_path, member)

    def _create_node_record(self, name: str, partition: str, address: str) -> dict:
        self._create_node({"name": name, "partition": partition, "address": address})
        return self.state.nodes[self.full_path(name, partition)]

    @staticmethod
    def _apply_member_patch(member: dict, body: dict, monitored: bool) -> None:
        session = body.get("session")
        if session is not None:
            if session not in ("user-enabled", "user-disabled"):
                raise _tm_error(400, f'01070734:3: Configuration error: invalid session value "{session}".')
            member["session"] = ("monitor-enabled" if monitored else "user-enabled") if session == "user-enabled" \
                else "user-disabled"
        state = body.get("state")
        if state is not None:
            if state not in ("user-up", "user-down"):
                raise _tm_error(400, f'01070734:3: Configuration error: invalid state value "{state}".')
            member["state"] = "user-down" if state == "user-down" else ("up" if monitored else "unchecked")
        for key in ("ratio", "connectionLimit", "description", "priorityGroup"):
            if key in body:
                member[key] = body[key]
        # bigrest's save() turns enabled/disabled booleans around; a BIG-IP accepts them on members too.
        if body.get("disabled") is True:
            member["session"] = "user-disabled"
        if body.get("enabled") is True:
            member["session"] = "monitor-enabled" if monitored else "user-enabled"

    def _member_stats(self, pool_path: str, member: dict) -> dict:
        conns = self.state.connections.get((pool_path, member["fullPath"]), 0)
        enabled = member["session"] != "user-disabled"
        available = member["state"] in ("up", "unchecked")
        node_path, port = member["fullPath"].rsplit(":", 1)
        link = (
            f"{BASE}/mgmt/tm/ltm/pool/{self.url_name(pool_path)}/members/{self.url_name(member['fullPath'])}"
        )
        nested = f"{link}/{self.url_name(member['fullPath'])}/stats"
        return {
            "kind": "tm:ltm:pool:members:membersstats",
            "generation": member["generation"],
            "selfLink": f"{link}/stats?ver={VERSION}",
            "entries": {
                nested: {
                    "nestedStats": {
                        "entries": {
                            "addr": {"description": member["address"]},
                            "connq.depth": {"value": 0},
                            "curSessions": {"value": conns},
                            "monitorRule": {"description": "default (pool monitor)"},
                            "monitorStatus": {"description": "up" if available else "down"},
                            "nodeName": {"description": node_path},
                            "poolName": {"description": pool_path},
                            "port": {"value": int(port)},
                            "serverside.bitsIn": {"value": 0},
                            "serverside.bitsOut": {"value": 0},
                            "serverside.curConns": {"value": conns},
                            "serverside.maxConns": {"value": conns},
                            "serverside.totConns": {"value": conns},
                            "sessionStatus": {"description": "enabled" if enabled else "user-disabled"},
                            "status.availabilityState": {"description": "available" if available else "offline"},
                            "status.enabledState": {"description": "enabled" if enabled else "disabled"},
                            "status.statusReason": {
                                "description": "Pool member is available"
                                if enabled
                                else "Pool member is available, user disabled"
                            },
                            "totRequests": {"value": 0},
                        }
                    }
                }
            },
        }

    def handle(self, method: str, path: str, body: dict | None) -> tuple[int, dict | None]:
        """Route one authenticated /mgmt/tm request; returns (status, json body)."""
        parts = [unquote(p) for p in path.strip("/").split("/")]
        # parts: mgmt tm ltm <kind> [name] [members] [member] [stats]
        if parts[:3] != ["mgmt", "tm", "ltm"] or len(parts) < 4:
            raise F5HttpError(
                404,
                {"code": 404, "message": f"Public URI path not registered: {path}", "referer": "127.0.0.1",
                 "restOperationId": self.next_operation_id(), "kind": ":resterrorresponse"},
            )
        kind, rest = parts[3], parts[4:]
        if kind == "pool":
            return self._handle_pool(method, rest, body)
        if kind == "node":
            return self._handle_node(method, rest, body)
        raise F5HttpError(
            404,
            {"code": 404, "message": f"Public URI path not registered: {path}", "referer": "127.0.0.1",
             "restOperationId": self.next_operation_id(), "kind": ":resterrorresponse"},
        )

    @staticmethod
    def _path_from_url(segment: str) -> str:
        if segment.startswith("~"):
            return segment.replace("~", "/")
        return f"/Common/{segment}"

    def _collection(self, kind: str, self_path: str, items: list[dict]) -> dict:
        body = {"kind": kind, "selfLink": f"{BASE}{self_path}?ver={VERSION}"}
        if items:  # a BIG-IP leaves "items" out of an empty collection
            body["items"] = items
        return body

    def _handle_pool(self, method: str, rest: list[str], body: dict | None) -> tuple[int, dict | None]:
        if not rest:
            if method == "GET":
                items = [self._pool_view(p) for p in self.state.pools.values()]
                return 200, self._collection("tm:ltm:pool:poolcollectionstate", "/mgmt/tm/ltm/pool", items)
            if method == "POST":
                return 200, self._create_pool(body or {})
            raise _tm_error(405, f"Method {method} not allowed on a collection.")
        pool_path = self._path_from_url(rest[0])
        pool = self._pool(pool_path)
        if len(rest) == 1:
            if method == "GET":
                return 200, self._pool_view(pool)
            if method in ("PATCH", "PUT"):
                for key in ("loadBalancingMode", "monitor", "description", "slowRampTime"):
                    if body and key in body:
                        pool[key] = body[key]
                pool["generation"] += 1
                return 200, self._pool_view(pool)
            if method == "DELETE":
                del self.state.pools[pool_path]
                self.state.members.pop(pool_path, None)
                return 200, None
        if rest[1] != "members":
            raise _tm_error(404, f"01020036:3: The requested object ({'/'.join(rest)}) was not found.")
        members = self.state.members[pool_path]
        if len(rest) == 2:
            if method == "GET":
                items = [self._member_view(pool_path, m) for m in members.values()]
                return 200, self._collection(
                    "tm:ltm:pool:members:memberscollectionstate",
                    f"/mgmt/tm/ltm/pool/{self.url_name(pool_path)}/members",
                    items,
                )
            if method == "POST":
                return 200, self._create_member(pool_path, body or {})
            raise _tm_error(405, f"Method {method} not allowed on a collection.")
        member_path = self._path_from_url(rest[2])
        member = members.get(member_path)
        if member is None:
            node_path, _, port = member_path.rpartition(":")
            raise _tm_error(
                404, f"01020036:3: The requested Pool Member ({pool_path} {node_path} {port}) was not found."
            )
        if len(rest) == 4 and rest[3] == "stats" and method == "GET":
            return 200, self._member_stats(pool_path, member)
        if len(rest) != 3:
            raise _tm_error(404, f"01020036:3: The requested object ({'/'.join(rest)}) was not found.")
        if method == "GET":
            return 200, self._member_view(pool_path, member)
        if method in ("PATCH", "PUT"):
            self._apply_member_patch(member, body or {}, bool(pool.get("monitor")))
            member["generation"] += 1
            return 200, self._member_view(pool_path, member)
        if method == "DELETE":
            del members[member_path]
            self.state.connections.pop((pool_path, member_path), None)
            return 200, None
        raise _tm_error(405, f"Method {method} not allowed.")

    def _handle_node(self, method: str, rest: list[str], body: dict | None) -> tuple[int, dict | None]:
        if not rest:
            if method == "GET":
                items = [self._node_view(n) for n in self.state.nodes.values()]
                return 200, self._collection("tm:ltm:node:nodecollectionstate", "/mgmt/tm/ltm/node", items)
            if method == "POST":
                return 200, self._create_node(body or {})
            raise _tm_error(405, f"Method {method} not allowed on a collection.")
        node_path = self._path_from_url(rest[0])
        node = self.state.nodes.get(node_path)
        if node is None:
            raise _tm_error(404, f"01020036:3: The requested Node ({node_path}) was not found.")
        if method == "GET" and len(rest) == 1:
            return 200, self._node_view(node)
        if method in ("PATCH", "PUT") and len(rest) == 1:
            for key in ("session", "state", "description", "ratio", "connectionLimit"):
                if body and key in body:
                    node[key] = body[key]
            node["generation"] += 1
            return 200, self._node_view(node)
        if method == "DELETE" and len(rest) == 1:
            for pool_path, members in self.state.members.items():
                for member_path in members:
                    if member_path.rsplit(":", 1)[0] == node_path:
                        raise _tm_error(
                            400,
                            f"01070110:3: Node address '{node_path}' is referenced by a member of pool "
                            f"'{pool_path}'.",
                        )
            del self.state.nodes[node_path]
            return 200, None
        raise _tm_error(405, f"Method {method} not allowed.")


class _Handler(BaseHTTPRequestHandler):
    double: F5Double
    server_version = "Apache"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - silence the default stderr access log
        return

    def setup(self):
        super().setup()
        try:
            self.connection.do_handshake()
        except (ssl.SSLError, OSError):
            self.close_connection = True

    def _send(self, status: int, body: dict | None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Frame-Options", "SAMEORIGIN")
        self.end_headers()
        self.wfile.write(payload)

    def _send_raw(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _body(self) -> dict | None:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return None
        raw = self.rfile.read(length)
        try:
            return json.loads(raw)
        except ValueError:
            raise _tm_error(400, "Found invalid JSON body in the request.") from None

    def _dispatch(self, method: str) -> None:
        double = self.double
        path = urlsplit(self.path).path
        try:
            body = self._body()
        except F5HttpError as exc:
            self._send(exc.status, exc.body)
            return
        with double.lock:
            double.requests.append((method, path, body))
            fault = double.take_fault(method, path)
            if fault is not None and fault.raw is not None:
                self._send_raw(fault.status, fault.raw, fault.content_type)
                return
            if fault is not None:
                message = fault.message or {
                    401: "X-F5-Auth-Token does not exist.",
                    404: "01020036:3: The requested object was not found.",
                    409: "01020066:3: The requested object already exists.",
                    503: "The service is temporarily unavailable (restjavad restarting).",
                }.get(fault.status, "java.net.ConnectException: Connection refused (Connection refused)")
                self._send(fault.status, {"code": fault.status, "message": message, "errorStack": [], "apiError": 1})
                return
            try:
                if path.rstrip("/") == LOGIN_PATH and method == "POST":
                    self._send(200, double.login(body or {}))
                    return
                double.authenticate(self.headers, path)
                if path.startswith("/mgmt/shared/authz/tokens/") and method == "DELETE":
                    double.state.tokens.pop(path.rsplit("/", 1)[1], None)
                    self._send(200, None)
                    return
                if path.rstrip("/") == "/mgmt/shared/echo-query":
                    self._send(200, {"kind": "shared:echo-query:echorequeststate", "selfLink": f"{BASE}{path}"})
                    return
                status, response = double.handle(method, path, body)
            except F5HttpError as exc:
                self._send(exc.status, exc.body)
                return
        self._send(status, response)

    def do_GET(self):  # noqa: N802
        self._dispatch("GET")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self):  # noqa: N802
        self._dispatch("PUT")

    def do_PATCH(self):  # noqa: N802
        self._dispatch("PATCH")

    def do_DELETE(self):  # noqa: N802
        self._dispatch("DELETE")
