"""The F5 client against the BIG-IP double: bigrest's real code path over HTTPS."""

from __future__ import annotations

import pytest

from ixnode.integrations.f5.client import (
    F5AuthenticationError,
    F5ConfigurationError,
    F5Conflict,
    F5DrainTimeout,
    F5NotFound,
    F5Unavailable,
    f5_client,
)

pytest_plugins = ["tests.fixtures.f5"]

POOL = "auto-vm-test-pool"


@pytest.fixture
def client(f5_settings):
    return f5_client()


def test_add_member_is_idempotent_and_creates_node(client, f5_double):
    member = client.add_member(pool=POOL, address="127.0.48.220", port=80)
    assert (member.name, member.address, member.port, member.enabled) == ("127.0.48.220:80", "127.0.48.220", 80, True)
    again = client.add_member(pool=POOL, address="127.0.48.220", port=80)
    assert again == member
    assert f5_double.member_names(POOL) == {"127.0.48.220:80"}
    assert f5_double.node_names() == {"127.0.48.220"}
    assert [m.name for m in client.list_members(pool=POOL)] == ["127.0.48.220:80"]


def test_empty_pool_lists_nothing(client):
    assert client.list_members(pool=POOL) == []


def test_disable_drain_remove(client, f5_double):
    client.add_member(pool=POOL, address="127.0.48.221", port=80)
    f5_double.set_connections(POOL, "127.0.48.221", 80, 3)
    disabled = client.disable_member(pool=POOL, address="127.0.48.221", port=80)
    assert disabled is not None and not disabled.enabled
    assert f5_double.member(POOL, "127.0.48.221", 80)["session"] == "user-disabled"
    with pytest.raises(F5DrainTimeout, match="still has 3 connection"):
        client.wait_drained(pool=POOL, address="127.0.48.221", port=80, timeout=0.2, poll_interval=0.05)
    f5_double.set_connections(POOL, "127.0.48.221", 80, 0)
    client.wait_drained(pool=POOL, address="127.0.48.221", port=80, timeout=1)
    assert client.remove_member(pool=POOL, address="127.0.48.221", port=80) is True
    assert client.remove_member(pool=POOL, address="127.0.48.221", port=80) is False
    assert client.delete_node(address="127.0.48.221") is True
    assert client.delete_node(address="127.0.48.221") is False
    assert f5_double.node_names() == set() and f5_double.member_names(POOL) == set()
    assert client.disable_member(pool=POOL, address="127.0.48.221", port=80) is None


def test_node_shared_with_another_pool_is_kept(client, f5_double):
    f5_double.add_pool("other-pool")
    client.add_member(pool=POOL, address="127.0.48.222", port=80)
    client.add_member(pool="other-pool", address="127.0.48.222", port=443)
    client.remove_member(pool=POOL, address="127.0.48.222", port=80)
    with pytest.raises(F5Conflict, match="still used by a member of another pool"):
        client.delete_node(address="127.0.48.222")


def test_missing_pool_is_actionable(client):
    with pytest.raises(F5NotFound, match="create it on the BIG-IP or correct the config's F5 pool name"):
        client.add_member(pool="no-such-pool", address="127.0.48.223", port=80)


def test_server_error_is_unavailable(client, f5_double):
    f5_double.inject("POST", r"/members$", 500)
    with pytest.raises(F5Unavailable, match="answered 500"):
        client.add_member(pool=POOL, address="127.0.48.224", port=80)
    assert f5_double.member_names(POOL) == set()


def test_bad_credentials(f5_settings):
    f5_settings.IXNODE_F5_PASSWORD = "wrong"
    with pytest.raises(F5AuthenticationError, match="Check IXNODE_F5_USER / IXNODE_F5_PASSWORD"):
        f5_client().list_members(pool=POOL)


def test_revoked_token_is_renewed(client, f5_double):
    client.list_members(pool=POOL)
    f5_double.revoke_tokens()
    assert client.list_members(pool=POOL) == []
    logins = [p for _, p, _ in f5_double.requests if p == "/mgmt/shared/authn/login"]
    assert len(logins) == 2


def test_tls_verification_is_enforced(f5_settings):
    f5_settings.IXNODE_F5_VERIFY_TLS = "/etc/ssl/certs/ca-certificates.crt"
    with pytest.raises(F5Unavailable, match="TLS verification failed"):
        f5_client().list_members(pool=POOL)


def test_unreachable(f5_settings):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    f5_settings.IXNODE_F5_HOST = f"127.0.0.1:{port}"
    with pytest.raises(F5Unavailable, match="unreachable"):
        f5_client().list_members(pool=POOL)


def test_missing_settings(settings):
    settings.IXNODE_F5_HOST = ""
    with pytest.raises(F5ConfigurationError, match="set IXNODE_F5_HOST"):
        f5_client()
