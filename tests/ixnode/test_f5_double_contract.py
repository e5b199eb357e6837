"""Contract tests of the BIG-IP double: it answers as iControl REST documents, through bigrest's real code."""

from __future__ import annotations

import pytest
import requests
from bigrest.bigip import BIGIP
from bigrest.common.exceptions import RESTAPIError

pytest_plugins = ["tests.fixtures.f5"]

POOL = "/mgmt/tm/ltm/pool/~Common~auto-vm-test-pool"


@pytest.fixture(autouse=True)
def _no_env_ca_bundle(monkeypatch):
    # requests lets REQUESTS_CA_BUNDLE override a session's verify path; these tests pin the double's cert.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


@pytest.fixture
def bigip(f5_double):
    return BIGIP(
        f5_double.device,
        f5_double.username,
        f5_double.password,
        request_token=True,
        session_verify=str(f5_double.cert_path),
    )


def test_token_login_shape(f5_double):
    response = requests.post(
        f"{f5_double.url}/mgmt/shared/authn/login",
        json={"username": f5_double.username, "password": f5_double.password, "loginProviderName": "tmos"},
        verify=str(f5_double.cert_path),
        timeout=5,
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert token["timeout"] == 1200 and len(token["token"]) >= 20
    pools = requests.get(
        f"{f5_double.url}/mgmt/tm/ltm/pool", headers={"X-F5-Auth-Token": token["token"]},
        verify=str(f5_double.cert_path), timeout=5,
    )
    assert pools.status_code == 200
    assert pools.json()["items"][0]["fullPath"] == "/Common/auto-vm-test-pool"


def test_bad_password_is_401_with_f5_body(f5_double):
    with pytest.raises(RESTAPIError) as info:
        BIGIP(f5_double.device, "admin", "wrong", request_token=True, session_verify=str(f5_double.cert_path))
    assert "401" in str(info.value) and "Authentication failed." in str(info.value)


def test_unauthenticated_and_bad_token_are_401(f5_double):
    verify = str(f5_double.cert_path)
    bare = requests.get(f"{f5_double.url}{POOL}", verify=verify, timeout=5)
    assert bare.status_code == 401 and "no user authentication header" in bare.json()["message"]
    bad = requests.get(f"{f5_double.url}{POOL}", headers={"X-F5-Auth-Token": "NOPE"}, verify=verify, timeout=5)
    assert bad.status_code == 401 and bad.json() == {
        "code": 401, "message": "X-F5-Auth-Token does not exist.", "referer": "127.0.0.1",
        "restOperationId": bad.json()["restOperationId"], "kind": ":resterrorresponse",
    }


def test_basic_auth_works(f5_double):
    bigip = BIGIP(f5_double.device, f5_double.username, f5_double.password, session_verify=str(f5_double.cert_path))
    assert bigip.load(POOL).properties["name"] == "auto-vm-test-pool"


def test_tls_is_real(f5_double):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{f5_double.url}/mgmt/shared/echo-query", verify="/etc/ssl/certs/ca-certificates.crt", timeout=5)


def test_member_lifecycle(bigip, f5_double):
    # empty collection: no "items" key, so bigrest returns one object, not a list
    empty = bigip.load(f"{POOL}/members")
    assert not isinstance(empty, list) and "items" not in empty.properties

    created = bigip.create(f"{POOL}/members", {"name": "127.0.48.220:80", "address": "127.0.48.220"})
    assert created.properties["fullPath"] == "/Common/127.0.48.220:80"
    assert created.properties["session"] == "monitor-enabled" and created.properties["state"] == "up"
    # the node was created with the member, named after its address
    assert bigip.load("/mgmt/tm/ltm/node/~Common~127.0.48.220").properties["address"] == "127.0.48.220"

    with pytest.raises(RESTAPIError) as dup:
        bigip.create(f"{POOL}/members", {"name": "127.0.48.220:80", "address": "127.0.48.220"})
    assert "409" in str(dup.value) and "01020066:3" in str(dup.value)

    member = f"{POOL}/members/~Common~127.0.48.220:80"
    disabled = bigip.modify(member, {"session": "user-disabled"})
    assert disabled.properties["session"] == "user-disabled"
    f5_double.set_connections("auto-vm-test-pool", "127.0.48.220", 80, 7)
    stats = bigip.show(member)
    assert stats.properties["serverside.curConns"]["value"] == 7
    assert stats.properties["status.enabledState"]["description"] == "disabled"

    enabled = bigip.modify(member, {"session": "user-enabled", "state": "user-up"})
    assert enabled.properties["session"] == "monitor-enabled"
    forced = bigip.modify(member, {"session": "user-disabled", "state": "user-down"})
    assert forced.properties["state"] == "user-down"

    listed = bigip.load(f"{POOL}/members")
    assert [m.properties["name"] for m in listed] == ["127.0.48.220:80"]

    with pytest.raises(RESTAPIError) as referenced:
        bigip.delete("/mgmt/tm/ltm/node/~Common~127.0.48.220")
    assert "400" in str(referenced.value) and "01070110:3" in str(referenced.value)

    bigip.delete(member)
    assert not bigip.exist(member)
    bigip.delete("/mgmt/tm/ltm/node/~Common~127.0.48.220")
    assert f5_double.node_names() == set()


def test_not_found_bodies(bigip):
    with pytest.raises(RESTAPIError) as missing_pool:
        bigip.load("/mgmt/tm/ltm/pool/~Common~nope")
    assert "404" in str(missing_pool.value) and "The requested Pool (/Common/nope) was not found." in str(
        missing_pool.value
    )
    with pytest.raises(RESTAPIError) as missing_member:
        bigip.load(f"{POOL}/members/~Common~127.0.48.221:80")
    assert "Pool Member (/Common/auto-vm-test-pool /Common/127.0.48.221 80) was not found" in str(missing_member.value)


def test_node_conflict_and_create(bigip):
    bigip.create("/mgmt/tm/ltm/node", {"name": "127.0.48.222", "address": "127.0.48.222"})
    with pytest.raises(RESTAPIError) as dup:
        bigip.create("/mgmt/tm/ltm/node", {"name": "127.0.48.222", "address": "127.0.48.222"})
    assert "409" in str(dup.value)
    # a member on an existing node reuses it
    bigip.create(f"{POOL}/members", {"name": "127.0.48.222:8080"})
    assert bigip.load(f"{POOL}/members/~Common~127.0.48.222:8080").properties["address"] == "127.0.48.222"


def test_injected_faults(bigip, f5_double):
    f5_double.inject("POST", r"/members$", 500, times=1)
    with pytest.raises(RESTAPIError) as fault:
        bigip.create(f"{POOL}/members", {"name": "127.0.48.223:80", "address": "127.0.48.223"})
    assert "500" in str(fault.value)
    # one shot: the next request is served
    bigip.create(f"{POOL}/members", {"name": "127.0.48.223:80", "address": "127.0.48.223"})
    f5_double.inject("GET", r"/members/", 503, times=-1)
    for _ in range(3):
        with pytest.raises(RESTAPIError):
            bigip.load(f"{POOL}/members/~Common~127.0.48.223:80")
    f5_double.clear_faults()
    assert bigip.exist(f"{POOL}/members/~Common~127.0.48.223:80")


def test_revoked_token_is_401_then_relogin_works(bigip, f5_double):
    bigip.load(POOL)
    f5_double.revoke_tokens()
    with pytest.raises(RESTAPIError) as expired:
        bigip.load(POOL)
    assert "X-F5-Auth-Token does not exist." in str(expired.value)
    bigip._get_token()
    assert bigip.load(POOL).properties["name"] == "auto-vm-test-pool"
    assert any(path == "/mgmt/shared/authn/login" for _, path, _ in f5_double.requests)
