"""The F5 client against the BIG-IP double: bigrest's real code path over HTTPS."""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from ixnode.integrations.f5.client import (
    F5AuthenticationError,
    F5BadResponse,
    F5ConfigurationError,
    F5Conflict,
    F5DrainTimeout,
    F5NotFound,
    F5Unavailable,
    f5_client,
)
from ixnode.integrations.problems import BAD_ANSWER, NOT_CONFIGURED, SERVER_ERROR, explain, explain_text

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
    with pytest.raises(F5Unavailable, match="answered HTTP 500"):
        client.add_member(pool=POOL, address="127.0.48.224", port=80)
    assert f5_double.member_names(POOL) == set()


def test_apache_503_page_while_restjavad_restarts_is_unavailable_in_words(client, f5_double):
    f5_double.inject("POST", r"/members$", 503, html=True)
    with pytest.raises(F5Unavailable, match=r"answered HTTP 503 \(503 Service Unavailable \(HTML page") as caught:
        client.add_member(pool=POOL, address="127.0.48.224", port=80)
    assert "<" not in str(caught.value)  # the page's title, not its markup
    problem = explain(caught.value)
    assert (problem.kind, problem.summary) == (SERVER_ERROR, "F5 BIG-IP at 127.0.0.1 answered with a server error "
                                                             "(HTTP 503).")
    assert f5_double.member_names(POOL) == set()


@pytest.mark.parametrize(
    ("method", "path", "body", "call"),
    [
        ("GET", r"/members$", "<html><body>Please log in</body></html>", "list"),  # a proxy's login page
        ("GET", r"/members$", '{"kind": "tm:ltm:pool:members:membersco', "list"),  # a truncated answer
        ("POST", r"/authn/login$", "<html>maintenance</html>", "list"),  # the login itself
        ("POST", r"/members$", "", "add"),  # 200 with no body at all
    ],
)
def test_answer_that_is_not_icontrol_json_is_a_bad_response(client, f5_double, method, path, body, call):
    f5_double.inject(method, path, 200, raw=body, content_type="text/html")
    with pytest.raises(F5BadResponse, match="not iControl REST JSON.*IXNODE_F5_HOST") as caught:
        if call == "list":
            client.list_members(pool=POOL)
        else:
            client.add_member(pool=POOL, address="127.0.48.225", port=80)
    assert explain(caught.value).kind == BAD_ANSWER
    assert explain_text(str(caught.value)).kind == BAD_ANSWER  # the same words from the stored message


def test_members_that_are_not_members_are_a_bad_response(client, f5_double):
    f5_double.inject("GET", r"/members$", 200, raw='{"items": [{"kind": "tm:ltm:pool:members:membersstate"}]}')
    with pytest.raises(F5BadResponse, match="without a usable name"):
        client.list_members(pool=POOL)


def test_token_refused_again_after_a_fresh_login_fails_once_clearly(client, f5_double):
    client.list_members(pool=POOL)
    f5_double.revoke_tokens()
    f5_double.inject("GET", r"/members$", 401, times=2)
    with pytest.raises(F5AuthenticationError, match="refused the token of a fresh login too") as caught:
        client.list_members(pool=POOL)
    assert caught.value.status == 401
    logins = [p for _, p, _ in f5_double.requests if p == "/mgmt/shared/authn/login"]
    assert len(logins) == 2  # one renewal, no loop
    assert client.list_members(pool=POOL) == []  # the next call logs in afresh


def test_adding_a_member_left_disabled_enables_it(client, f5_double):
    f5_double.add_member(POOL, "127.0.48.226", 80, session="user-disabled")
    member = client.add_member(pool=POOL, address="127.0.48.226", port=80)
    assert member.enabled and f5_double.member(POOL, "127.0.48.226", 80)["session"] != "user-disabled"


def test_conflict_on_add_is_the_same_member_enabled(client, f5_double):
    """Another writer created the member between the client's read and its POST: the 409 is success."""
    f5_double.add_member(POOL, "127.0.48.227", 80, session="user-disabled")
    f5_double.inject("GET", r"/members/~Common~127\.0\.48\.227:80$", 404)
    member = client.add_member(pool=POOL, address="127.0.48.227", port=80)
    assert member.enabled and f5_double.member_names(POOL) == {"127.0.48.227:80"}
    assert any(m == "POST" and p.endswith("/members") for m, p, _ in f5_double.requests)


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
    with pytest.raises(F5ConfigurationError, match="set IXNODE_F5_HOST") as caught:
        f5_client()
    assert caught.value.missing
    with translation.override("ko"):
        assert caught.value.translated().startswith("F5가 설정되지 않았습니다: IXNODE_F5_HOST")


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        ("[bad", r"\(InvalidURL: Failed to parse: '\[bad' is not a valid host or port\)"),
        ("bigip.example:99999", r"\(InvalidURL: Failed to parse: https://bigip\.example:99999/"),
        ("2001:db8::10", r"\(InvalidURL: Failed to parse: '2001:db8::10' is not a valid host or port\)"),
        ("http://[bad", r"\(it starts with a scheme\)"),
        ("ftp://x", r"\(it starts with a scheme\)"),
        ("https://192.0.2.10", r"\(it starts with a scheme\)"),
    ],
)
def test_a_host_no_url_can_be_made_of_is_a_configuration_error(settings, host, problem):
    """requests' InvalidURL (a ValueError, raised before any connection) is IXNODE_F5_HOST's fault, not the device's;
    a value with a scheme would become https://http://… and read as unreachable."""
    settings.IXNODE_F5_HOST, settings.IXNODE_F5_USER, settings.IXNODE_F5_PASSWORD = host, "admin", "pw"
    with pytest.raises(F5ConfigurationError) as caught:
        f5_client().list_members(pool=POOL)
    message = str(caught.value)
    assert re.match(rf"F5 {re.escape(host)}: IXNODE_F5_HOST is not configured correctly {problem}", message), message
    assert "host or host:port, without a scheme" in message and "not iControl REST" not in message
    assert explain(caught.value).kind == NOT_CONFIGURED
    assert explain_text(message).kind == NOT_CONFIGURED  # the same words from a stored message
    # Raised in English whatever the active language (as every client's error: logs and stored errors keep it);
    # the exception also tells its sentence in the reader's language, for a page that holds it.
    with translation.override("ko"), pytest.raises(F5ConfigurationError) as korean:
        f5_client().list_members(pool=POOL)
    assert str(korean.value) == message
    with translation.override("ko"):
        assert "IXNODE_F5_HOST 설정이" in korean.value.translated()
        assert "host 또는 host:port" in korean.value.translated()
    assert korean.value.translated() == message


def test_credentials_basic_authentication_cannot_carry_are_a_configuration_error(settings):
    settings.IXNODE_F5_HOST, settings.IXNODE_F5_USER, settings.IXNODE_F5_PASSWORD = "127.0.0.1:1", "admin", "비밀번호"
    with pytest.raises(F5ConfigurationError, match="IXNODE_F5_USER or IXNODE_F5_PASSWORD is not configured correctly"
                       ".*Latin-1") as caught:
        f5_client()
    assert "비밀번호" not in str(caught.value)
    assert not caught.value.missing  # set, to something unusable: not the same as unset
    with translation.override("ko"):
        assert "IXNODE_F5_USER 또는 IXNODE_F5_PASSWORD 설정이" in caught.value.translated()


def test_a_token_that_cannot_be_sent_back_is_the_devices_bad_answer(client, f5_double):
    """requests' InvalidHeader here can only come from the token the device answered (the client's other headers are
    constants): the device's fault, not a setting's."""
    f5_double.inject("POST", r"/authn/login$", 200, raw='{"token": {"token": "ABC\\nDEF", "timeout": 1200}}')
    with pytest.raises(F5BadResponse, match=r"not iControl REST JSON \(InvalidHeader"):
        client.list_members(pool=POOL)

