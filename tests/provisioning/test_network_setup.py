"""Network setup: the netplan renderer (golden files) and the SSH path against a real sshd on two loopback
addresses (bootstrap and new), with the apply command replaced by a harmless one."""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

import pytest

from autoscaling.choices import NetworkMode
from ixnode.integrations.ssh.client import SSHSettings
from ixnode.integrations.vcenter.client import NetworkCustomization, vcenter_client
from provisioning.network import (
    NetworkSetupError,
    netplan_render,
    netplan_render_for_config,
    network_configure,
    network_configure_over_ssh,
)
from tests.fixtures.sshd import start_sshd

pytest_plugins = ["tests.fixtures.vcsim"]

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "netplan"
BOOTSTRAP = "127.0.0.2"
NEW_IP = "127.0.48.220"  # first address of conftest's pool


def golden(name: str, text: str) -> str:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text)
    return path.read_text()


def test_netplan_golden_static_address_with_dns():
    text = netplan_render(
        interface="ens192",
        address="127.0.30.41",
        prefix_length=24,
        gateway="127.0.30.1",
        dns_servers=["127.0.0.53", "127.0.0.54"],
        comment="auto-vm-test auto-vm-test-20260101120000",
    )
    assert text == golden("static_dns.yaml", text)


def test_netplan_golden_match_by_mac_without_dns():
    text = netplan_render(
        interface="eth0",
        address="127.0.7.20",
        prefix_length=23,
        gateway="127.0.6.1",
        search_domains=["svc.example.internal"],
        mac_address="00:50:56:AB:CD:EF",
    )
    assert text == golden("match_mac.yaml", text)


@pytest.mark.django_db
def test_netplan_for_config_uses_subnet_prefix_gateway_and_dns(config, settings):
    settings.IXNODE_NETPLAN_INTERFACE = "ens160"
    config.dns_servers = "127.0.0.53, 127.0.0.54"
    text = netplan_render_for_config(config=config, ip=NEW_IP, vm_name="auto-vm-test-20260101120000")
    assert "ens160:" in text
    assert "- 127.0.48.220/24" in text and "via: 127.0.48.1" in text
    assert "- 127.0.0.53\n" in text and "- 127.0.0.54\n" in text
    with pytest.raises(ValueError):
        netplan_render(interface="e", address="not-an-ip", prefix_length=24, gateway="")


@pytest.fixture(scope="module")
def vm_sshd(tmp_path_factory):
    """One sshd standing in for the VM: listening on its bootstrap address and on its new address."""
    with start_sshd(tmp_path_factory.mktemp("vm-sshd"), listen=(BOOTSTRAP, NEW_IP)) as server:
        yield server


@pytest.fixture
def ssh_config(config, vm_sshd, tmp_path, settings):
    config.ssh_user = vm_sshd.user
    config.ssh_key_path = str(vm_sshd.key_path)
    config.dns_servers = "127.0.0.53"
    config.save()
    netplan_dir = vm_sshd.root / f"netplan-{uuid.uuid4().hex[:8]}"
    netplan_dir.mkdir()
    settings.IXNODE_SSH_PORT = vm_sshd.port
    settings.IXNODE_SSH_HOST_KEY_POLICY = "accept-new"
    settings.IXNODE_SSH_KNOWN_HOSTS = str(tmp_path / "known_hosts")
    settings.IXNODE_SSH_CONNECT_TIMEOUT = 2
    settings.IXNODE_NETPLAN_PATH = str(netplan_dir / "60-ixnode.yaml")
    settings.IXNODE_NETPLAN_SUDO = False
    # Harmless stand-in for "sudo netplan apply": proves it ran after the file was in place.
    settings.IXNODE_NETPLAN_APPLY_COMMAND = (
        f"test -s {netplan_dir}/60-ixnode.yaml && echo applied >> {netplan_dir}/applied"
    )
    settings.IXNODE_SSH_BOOT_TIMEOUT = 2
    settings.IXNODE_SSH_RECONNECT_TIMEOUT = 2
    config.netplan_dir = netplan_dir
    return config


@pytest.mark.django_db
def test_ssh_netplan_path_writes_applies_and_reconnects(ssh_config, settings):
    lines: list[str] = []
    result = network_configure_over_ssh(
        config=ssh_config, vm_name="auto-vm-test-20260101120000", ip=NEW_IP, bootstrap_ip=BOOTSTRAP, log=lines.append
    )
    written = ssh_config.netplan_dir / "60-ixnode.yaml"
    expected = netplan_render_for_config(config=ssh_config, ip=NEW_IP, vm_name="auto-vm-test-20260101120000")
    assert written.read_text() == expected == result.netplan
    assert "- 127.0.48.220/24" in expected and "via: 127.0.48.1" in expected and "- 127.0.0.53" in expected
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert (ssh_config.netplan_dir / "applied").read_text() == "applied\n"
    assert not result.already_configured
    assert lines[0].startswith(f"connected to {ssh_config.ssh_user}@{BOOTSTRAP}")
    assert lines[-1].startswith(f"reconnected on {NEW_IP}")
    known = Path(settings.IXNODE_SSH_KNOWN_HOSTS).read_text()
    assert f"[{BOOTSTRAP}]:" in known and f"[{NEW_IP}]:" in known  # both trusted on first use


@pytest.mark.django_db
def test_failed_apply_command_is_reported(ssh_config, settings):
    settings.IXNODE_NETPLAN_APPLY_COMMAND = "echo 'Invalid YAML' >&2; exit 78"
    with pytest.raises(NetworkSetupError, match="exited with 78: Invalid YAML"):
        network_configure_over_ssh(config=ssh_config, vm_name="vm-a", ip=NEW_IP, bootstrap_ip=BOOTSTRAP)


@pytest.mark.django_db
def test_ssh_refused_on_the_bootstrap_address(ssh_config):
    with pytest.raises(NetworkSetupError, match="SSH to the bootstrap address 127.0.0.3"):
        network_configure_over_ssh(
            config=ssh_config, vm_name="vm-b", ip="127.0.48.221", bootstrap_ip="127.0.0.3", boot_timeout=0.5
        )


@pytest.mark.django_db
def test_new_address_that_never_answers(ssh_config):
    with pytest.raises(NetworkSetupError, match="reconnecting on the new address 127.0.48.222"):
        network_configure_over_ssh(
            config=ssh_config, vm_name="vm-c", ip="127.0.48.222", bootstrap_ip=BOOTSTRAP, reconnect_timeout=0.5
        )


@pytest.mark.django_db
def test_rerun_after_the_address_changed_is_a_no_op(ssh_config):
    network_configure_over_ssh(config=ssh_config, vm_name="vm-d", ip=NEW_IP, bootstrap_ip=BOOTSTRAP)
    again = network_configure_over_ssh(
        config=ssh_config, vm_name="vm-d", ip=NEW_IP, bootstrap_ip="127.0.0.3", boot_timeout=0.3
    )
    assert again.already_configured
    assert (ssh_config.netplan_dir / "applied").read_text() == "applied\n"  # applied once only


@pytest.mark.django_db
def test_bad_key_mode_fails_clearly(ssh_config, tmp_path):
    loose = tmp_path / "id_loose"
    loose.write_bytes(Path(ssh_config.ssh_key_path).read_bytes())
    loose.chmod(0o640)
    ssh_config.ssh_key_path = str(loose)
    with pytest.raises(NetworkSetupError, match="chmod 600"):
        network_configure_over_ssh(config=ssh_config, vm_name="vm-e", ip=NEW_IP, bootstrap_ip=BOOTSTRAP)


@pytest.mark.django_db
def test_network_configure_finds_the_boot_address_in_vcenter(ssh_config, vcenter_settings, vcsim_control, settings):
    settings.IXNODE_VCENTER_GUEST_IP_TIMEOUT = 2
    vcsim_control.control(bootstrap_ips=[BOOTSTRAP])
    client = vcenter_client()
    name = f"auto-vm-test-{uuid.uuid4().hex[:8]}"
    client.vm_clone(source="ubuntu-22.04-golden", name=name)
    try:
        lines: list[str] = []
        result = network_configure(config=ssh_config, vm_name=name, ip=NEW_IP, vcenter=client, log=lines.append)
        assert result.bootstrap_ip == BOOTSTRAP and result.mode == NetworkMode.SSH_NETPLAN
        assert lines[0] == f"{name} booted with {BOOTSTRAP}"
        assert (ssh_config.netplan_dir / "60-ixnode.yaml").read_text() == result.netplan
    finally:
        client.vm_destroy(name)


@pytest.mark.django_db
def test_network_configure_with_guest_customization(config, vcenter_settings, vcsim_control, settings):
    settings.IXNODE_VCENTER_GUEST_IP_TIMEOUT = 0.5
    config.network_mode = NetworkMode.GUEST_CUSTOMIZATION
    client = vcenter_client()
    name = f"auto-vm-test-{uuid.uuid4().hex[:8]}"
    net = NetworkCustomization.from_subnet(ip="127.0.48.223", subnet_cidr=config.subnet_cidr, gateway=config.gateway)
    client.vm_clone(source="ubuntu-22.04-golden", name=name, customization=net)
    try:
        result = network_configure(config=config, vm_name=name, ip="127.0.48.223", vcenter=client)
        assert result.mode == NetworkMode.GUEST_CUSTOMIZATION
        with pytest.raises(NetworkSetupError, match="did not bring up 127.0.48.224"):
            network_configure(config=config, vm_name=name, ip="127.0.48.224", vcenter=client)
    finally:
        client.vm_destroy(name)


def test_ssh_settings_from_django(settings):
    settings.IXNODE_SSH_HOST_KEY_POLICY = "accept-new"
    assert SSHSettings.from_django().policy == "accept-new"
