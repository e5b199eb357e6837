"""The vCenter client against vcsim (govmomi's simulator, tests/vcsim): inventory, clone, power, faults, TLS."""

from __future__ import annotations

import socket
import threading
import time
import uuid

import pytest

from ixnode.integrations.vcenter import client as vc
from ixnode.integrations.vcenter.client import (
    NetworkCustomization,
    VCenterAlreadyExists,
    VCenterAuthError,
    VCenterClient,
    VCenterConfigError,
    VCenterNotFound,
    VCenterSettings,
    VCenterTaskFailed,
    VCenterTimeout,
    VCenterTLSError,
    VCenterUnavailable,
)

pytest_plugins = ["tests.fixtures.vcsim"]

TEMPLATE = "ubuntu-22.04-golden"


def settings_for(server, **changes) -> VCenterSettings:
    values = {
        "host": server.host,
        "port": server.port,
        "user": server.user,
        "password": server.password,
        "thumbprint": server.thumbprint,
        "datacenter": "DC0",
        "resource_pool": "DC0_C0/Resources",
        "datastore": "LocalDS_0",
        "poll_interval": 0.05,
    }
    values.update(changes)
    return VCenterSettings(**values)


@pytest.fixture
def client(vcsim_control):
    return VCenterClient(settings_for(vcsim_control))


@pytest.fixture
def names(client):
    """Unique VM names for one test; whatever still exists afterwards is destroyed."""
    created: list[str] = []

    def make(prefix: str = "t") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        created.append(name)
        return name

    yield make
    for name in created:
        client.vm_destroy(name)


def test_lists_inventory_with_paths_datastores_and_templates(client):
    vms = {vm.name: vm for vm in client.vms_list()}
    assert {"DC0_H0_VM0", "DC0_H0_VM1", "DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1", TEMPLATE} <= set(vms)
    base = vms["DC0_H0_VM0"]
    assert base.path == "/DC0/vm/DC0_H0_VM0"
    assert base.datastore == "LocalDS_0"
    assert base.power_state == "poweredOn" and not base.is_template
    assert base.moref.startswith("vm-")
    template = vms[TEMPLATE]
    assert template.is_template and template.power_state == "poweredOff"
    assert [t.name for t in client.templates_list()] == [t.name for t in client.vms_list(templates=True)]
    assert TEMPLATE in [t.name for t in client.templates_list()]
    assert TEMPLATE not in [v.name for v in client.vms_list(templates=False)]
    assert client.about().api_type == "VirtualCenter"


def test_clone_from_template_with_fixed_ip_then_shutdown_and_destroy(client, names):
    name = names("web")
    net = NetworkCustomization.from_subnet(
        ip="127.0.48.221", subnet_cidr="127.0.48.0/24", gateway="127.0.48.1", dns_servers=["127.0.0.53"]
    )
    assert net.netmask == "255.255.255.0"
    vm = client.vm_clone(source=TEMPLATE, name=name, customization=net)
    assert vm.powered_on
    assert vm.ip_address == "127.0.48.221"
    assert vm.guest_ips == ("127.0.48.221",)
    assert vm.guest_hostname == name
    assert vm.path == f"/DC0/vm/{name}"
    assert client.vm_wait_for_ip(vm, expected="127.0.48.221", timeout=2).ip_address == "127.0.48.221"

    result = client.vm_shutdown(vm, timeout=5)
    assert result.method == "guest"
    assert client.vm_get(name).power_state == "poweredOff"
    assert client.vm_shutdown(name).method == "already_off"

    assert client.vm_destroy(name) is True
    assert client.vm_find(name) is None
    assert client.vm_destroy(name) is False  # idempotent


def test_clone_without_power_on_then_power_on_and_off(client, names):
    name = names("cold")
    vm = client.vm_clone(source=TEMPLATE, name=name, power_on=False)
    assert vm.power_state == "poweredOff"
    assert client.vm_power_on(name).power_state == "poweredOn"
    assert client.vm_power_on(name).power_state == "poweredOn"  # already on: no error
    assert client.vm_power_off(name).power_state == "poweredOff"
    with pytest.raises(VCenterTaskFailed, match="template"):
        client.vm_power_on(TEMPLATE)


def test_clone_to_template_keeps_the_source_running(client, names):
    source = names("src")
    client.vm_clone(source=TEMPLATE, name=source)
    template = names("tpl")
    created = client.vm_clone_to_template(source=source, name=template)
    assert created.is_template and created.power_state == "poweredOff"
    assert client.vm_get(source).powered_on
    # a template made that way can be cloned again
    child = names("child")
    assert client.vm_clone(source=template, name=child).powered_on


def test_duplicate_name_is_refused(client, names):
    name = names("dup")
    client.vm_clone(source=TEMPLATE, name=name, power_on=False)
    with pytest.raises(VCenterAlreadyExists, match=name):
        client.vm_clone(source=TEMPLATE, name=name, power_on=False)
    assert len([vm for vm in client.vms_list() if vm.name == name]) == 1


def test_injected_clone_fault_is_translated_and_nothing_is_created(client, vcsim_control, names):
    name = names("boom")
    vcsim_control.control(
        faults=[{"op": "clone", "match": "^boom-", "fault": "InsufficientResourcesFault", "message": "no memory"}]
    )
    with pytest.raises(VCenterTaskFailed, match="not enough capacity") as info:
        client.vm_clone(source=TEMPLATE, name=name)
    assert info.value.fault == "InsufficientResourcesFault"
    assert "IXNODE_VCENTER_RESOURCE_POOL" in str(info.value)
    assert client.vm_find(name) is None


def test_hung_guest_is_powered_off_after_the_timeout(client, vcsim_control, names):
    name = names("hung")
    client.vm_clone(source=TEMPLATE, name=name)
    vcsim_control.control(shutdown_delay_ms=-1)
    result = client.vm_shutdown(name, timeout=0.3, poll_interval=0.05)
    assert result.method == "power_off"
    assert "still running" in result.detail
    assert client.vm_get(name).power_state == "poweredOff"


def test_slow_guest_shutdown_is_waited_for(client, vcsim_control, names):
    name = names("slow")
    client.vm_clone(source=TEMPLATE, name=name)
    vcsim_control.control(shutdown_delay_ms=200)
    result = client.vm_shutdown(name, timeout=5, poll_interval=0.05)
    assert result.method == "guest"
    assert result.seconds >= 0.2


def test_shutdown_refused_by_guest_falls_back_to_power_off(client, vcsim_control, names):
    name = names("notools")
    client.vm_clone(source=TEMPLATE, name=name)
    vcsim_control.control(faults=[{"op": "shutdown_guest", "match": "^notools-", "fault": "InvalidState"}])
    result = client.vm_shutdown(name, timeout=5)
    assert result.method == "power_off" and "refused" in result.detail
    assert client.vm_get(name).power_state == "poweredOff"


def test_task_timeout_names_the_task(client, vcsim_control, names):
    name = names("late")
    vcsim_control.control(clone_delay_ms=800)
    with pytest.raises(VCenterTimeout, match="did not finish within 0.2s"):
        client.vm_clone(source=TEMPLATE, name=name, timeout=0.2)
    # vCenter carries on with the task: the VM shows up later and the fixture removes it
    deadline = time.monotonic() + 5
    while client.vm_find(name) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert client.vm_find(name) is not None


def test_parallel_clones_all_succeed(client, vcsim_control, names):
    vcsim_control.control(clone_delay_ms=100)
    wanted = [names("par") for _ in range(4)]
    errors: list[Exception] = []

    def clone(name: str) -> None:
        try:
            client.vm_clone(source=TEMPLATE, name=name)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=clone, args=(name,)) for name in wanted]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert set(wanted) <= {vm.name for vm in client.vms_list()}


def test_bootstrap_address_and_wait_for_ip(client, vcsim_control, names):
    vcsim_control.control(bootstrap_ips=["127.0.0.9"])
    name = names("dhcp")
    vm = client.vm_clone(source=TEMPLATE, name=name)
    assert vm.ip_address == "127.0.0.9"
    with pytest.raises(VCenterTimeout, match="did not report 127.0.48.230"):
        client.vm_wait_for_ip(name, expected="127.0.48.230", timeout=0.2, poll_interval=0.05)
    vcsim_control.set_guest_ip(name, "127.0.48.230")
    assert client.vm_wait_for_ip(name, expected="127.0.48.230", timeout=2).ip_address == "127.0.48.230"


def test_not_found_errors_name_the_setting(vcsim, client):
    with pytest.raises(VCenterNotFound, match="no VM or template named 'nope'"):
        client.vm_get("nope")
    with pytest.raises(VCenterNotFound, match="IXNODE_VCENTER_DATACENTER"):
        client.with_settings(datacenter="DC9").vms_list()
    with pytest.raises(VCenterNotFound, match="IXNODE_VCENTER_FOLDER"):
        client.with_settings(folder="missing").vm_clone(source=TEMPLATE, name="never-created")
    with pytest.raises(VCenterNotFound, match="IXNODE_VCENTER_RESOURCE_POOL"):
        client.with_settings(resource_pool="NoCluster").vm_clone(source=TEMPLATE, name="never-created")
    with pytest.raises(VCenterNotFound, match="IXNODE_VCENTER_DATASTORE"):
        client.with_settings(datastore="NoDS").vm_clone(source=TEMPLATE, name="never-created")
    assert client.vm_find("never-created") is None


def test_wrong_password_is_an_auth_error(vcsim):
    bad = VCenterClient(settings_for(vcsim, password="wrong-" + vcsim.password))
    with pytest.raises(VCenterAuthError, match="IXNODE_VCENTER_PASSWORD"):
        bad.about()


def test_tls_untrusted_certificate_is_refused_unless_trusted_or_pinned(vcsim):
    with pytest.raises(VCenterTLSError, match="IXNODE_VCENTER_THUMBPRINT"):
        VCenterClient(settings_for(vcsim, thumbprint="")).about()
    assert VCenterClient(settings_for(vcsim, thumbprint="", ca_file=str(vcsim.cert_path))).about()
    assert VCenterClient(settings_for(vcsim, thumbprint=vcsim.thumbprint_sha256)).about()
    wrong = "AA:" * 19 + "AA"
    with pytest.raises(VCenterTLSError, match="does not match the pinned thumbprint"):
        VCenterClient(settings_for(vcsim, thumbprint=wrong)).about()
    with pytest.raises(VCenterConfigError, match="SHA-1"):
        VCenterClient(settings_for(vcsim, thumbprint="abc")).about()
    assert VCenterClient(settings_for(vcsim, thumbprint="", verify_tls=False)).about()
    vc.vcenter_sessions_close()


def test_unreachable_vcenter_is_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = VCenterClient(
        VCenterSettings(host="127.0.0.1", port=port, user="u", password="p", thumbprint="AA" * 20, timeout=2)
    )
    with pytest.raises(VCenterUnavailable, match="IXNODE_VCENTER_HOST/IXNODE_VCENTER_PORT"):
        client.about()


def test_missing_settings_are_a_config_error():
    with pytest.raises(VCenterConfigError, match="IXNODE_VCENTER_HOST, IXNODE_VCENTER_USER, IXNODE_VCENTER_PASSWORD"):
        VCenterClient(VCenterSettings(host="", user="", password=""))


def test_session_is_reused_and_renewed_after_expiry(vcsim):
    vc.vcenter_sessions_close()
    first = VCenterClient(settings_for(vcsim))
    second = VCenterClient(settings_for(vcsim))
    first.about()
    second.about()
    assert len(vc._sessions) == 1
    si = next(iter(vc._sessions.values()))
    key = si.content.sessionManager.currentSession.key
    assert second._si().content.sessionManager.currentSession.key == key
    si.content.sessionManager.Logout()  # the session ends server-side (idle timeout, restart, ...)
    assert [vm.name for vm in second.vms_list() if vm.name == TEMPLATE] == [TEMPLATE]
    assert second._si().content.sessionManager.currentSession.key != key
    vc.vcenter_sessions_close()


def test_a_client_with_another_timeout_has_its_own_session(vcsim):
    """pyVmomi fixes the request timeout when a session logs in: a short-timeout client (the decision's) must not
    share the session of a default one (a pipeline's), or one of them would wait with the other's timeout."""
    vc.vcenter_sessions_close()
    default, short = VCenterClient(settings_for(vcsim)), VCenterClient(settings_for(vcsim, timeout=5.0))
    default.about()
    short.about()
    assert len(vc._sessions) == 2 and default._si() is not short._si()
    assert VCenterClient(settings_for(vcsim, timeout=5.0))._si() is short._si()
    vc.vcenter_sessions_close()


def test_client_from_django_settings(vcenter_settings):
    client = vc.vcenter_client()
    assert client.settings.port == vcenter_settings.port
    assert client.vm_get(TEMPLATE).is_template
