"""The SSH client against a real sshd on a loopback port: keys, host-key policies, commands, atomic upload."""

from __future__ import annotations

import os
import socket
import stat

import paramiko
import pytest

from ixnode.integrations.ssh.client import (
    SSHAuthError,
    SSHClient,
    SSHCommandFailed,
    SSHConfigError,
    SSHHostKeyError,
    SSHSettings,
    SSHUnavailable,
    check_key_file,
    ssh_known_host_forget,
)

pytest_plugins = ["tests.fixtures.sshd"]


@pytest.fixture
def known_hosts(tmp_path, sshd):
    return sshd.write_known_hosts(tmp_path / "known_hosts")


def client_for(sshd, known_hosts, policy="known_hosts-file", **kwargs) -> SSHClient:
    settings = SSHSettings(host_key_policy=policy, known_hosts_path=str(known_hosts), connect_timeout=5, **kwargs)
    return SSHClient(host=sshd.host, port=sshd.port, user=sshd.user, key_path=sshd.key_path, settings=settings)


def test_run_commands(sshd, known_hosts):
    with client_for(sshd, known_hosts) as ssh:
        result = ssh.run("echo hello; echo oops >&2")
        assert result.ok and result.stdout == "hello\n" and result.stderr == "oops\n"
        assert ssh.run("cat", stdin=b"from stdin").stdout == "from stdin"
        failed = ssh.run("exit 3", check=False)
        assert failed.exit_status == 3 and not failed.ok
        with pytest.raises(SSHCommandFailed, match="exited with 4: bad thing") as info:
            ssh.run("echo bad thing >&2; exit 4")
        assert info.value.result.exit_status == 4
        with pytest.raises(SSHCommandFailed, match="did not finish within 0.3s"):
            ssh.run("sleep 5", timeout=0.3)


def test_upload_is_atomic_and_sets_the_mode(sshd, known_hosts):
    target = sshd.root / "upload" / "netplan.yaml"
    target.parent.mkdir(exist_ok=True)
    target.write_text("old\n")
    with client_for(sshd, known_hosts) as ssh:
        ssh.upload("network: {}\n", str(target), mode=0o600)
        assert ssh.read_file(str(target)) == b"network: {}\n"
        with pytest.raises(SSHCommandFailed, match="writing"):
            ssh.upload("x", str(sshd.root / "missing-dir" / "file"))
    assert target.read_text() == "network: {}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["netplan.yaml"]  # no temp file left


def test_key_file_must_be_private(sshd, tmp_path, known_hosts):
    loose = tmp_path / "id_loose"
    loose.write_bytes(sshd.key_path.read_bytes())
    loose.chmod(0o644)
    with pytest.raises(SSHConfigError, match="mode 644.*chmod 600"):
        check_key_file(loose)
    client = SSHClient(host=sshd.host, port=sshd.port, user=sshd.user, key_path=loose,
                       settings=SSHSettings(host_key_policy="known_hosts-file", known_hosts_path=str(known_hosts)))
    with pytest.raises(SSHConfigError, match="chmod 600"):
        client.connect()
    with pytest.raises(SSHConfigError, match="does not exist"):
        check_key_file(tmp_path / "nope")
    with pytest.raises(SSHConfigError, match="No SSH key configured"):
        check_key_file("")
    loose.chmod(0o400)
    assert check_key_file(loose) == loose


def test_reject_policy_refuses_an_unknown_host(sshd, tmp_path):
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    with pytest.raises(SSHHostKeyError, match="unknown"):
        client_for(sshd, empty, policy="reject").connect()
    with pytest.raises(SSHHostKeyError, match="unknown"):
        client_for(sshd, empty, policy="known_hosts-file").connect()
    with pytest.raises(SSHConfigError, match="must be one of"):
        client_for(sshd, empty, policy="yolo").connect()


def test_accept_new_trusts_on_first_use_and_refuses_a_changed_key(sshd, tmp_path):
    known = tmp_path / "tofu_known_hosts"
    with client_for(sshd, known, policy="accept-new") as ssh:
        assert ssh.run("true").ok
    assert known.read_text().startswith(f"[{sshd.host}]:{sshd.port} ssh-ed25519 ")
    assert stat.S_IMODE(known.stat().st_mode) == 0o600
    with client_for(sshd, known, policy="known_hosts-file") as ssh:  # now known
        assert ssh.run("true").ok

    other = paramiko.Ed25519Key.from_private_key_file(str(sshd.key_path))  # any key that is not the host's
    known.write_text(f"[{sshd.host}]:{sshd.port} ssh-ed25519 {other.get_base64()}\n")
    with pytest.raises(SSHHostKeyError, match="CHANGED.*ssh-keygen -R"):
        client_for(sshd, known, policy="accept-new").connect()
    assert ssh_known_host_forget(host=sshd.host, port=sshd.port, known_hosts_path=known) == 1
    with client_for(sshd, known, policy="accept-new") as ssh:
        assert ssh.run("true").ok


def test_wrong_key_is_an_auth_error(sshd, known_hosts, tmp_path):
    stranger = tmp_path / "id_stranger"
    key = paramiko.ECDSAKey.generate()
    key.write_private_key_file(str(stranger))
    os.chmod(stranger, 0o600)
    settings = SSHSettings(host_key_policy="known_hosts-file", known_hosts_path=str(known_hosts))
    client = SSHClient(host=sshd.host, port=sshd.port, user=sshd.user, key_path=stranger, settings=settings)
    with pytest.raises(SSHAuthError, match="authorized_keys"):
        client.connect()


def test_closed_port_is_unavailable_and_waiting_is_bounded(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    key = tmp_path / "id"
    paramiko.ECDSAKey.generate().write_private_key_file(str(key))
    os.chmod(key, 0o600)
    settings = SSHSettings(host_key_policy="accept-new", known_hosts_path=str(tmp_path / "kh"), connect_timeout=1)
    client = SSHClient(host="127.0.0.1", port=port, user="nobody", key_path=key, settings=settings)
    with pytest.raises(SSHUnavailable):
        client.connect()
    with pytest.raises(SSHUnavailable, match="after waiting 0.5s"):
        client.connect(wait=0.5, interval=0.1)


def test_a_stuck_sftp_subsystem_is_bounded_by_the_command_timeout(tmp_path):
    """A VM whose SFTP never answers (a hung sftp-server, a broken subsystem line): upload and read fail within
    IXNODE_SSH_COMMAND_TIMEOUT with a sentence instead of waiting forever; plain commands still run."""
    import time

    from tests.fixtures.sshd import start_sshd

    with start_sshd(tmp_path / "stuck", sftp="/bin/sleep 60") as server:
        known = server.write_known_hosts(tmp_path / "known_hosts")
        with client_for(server, known, command_timeout=1) as ssh:
            assert ssh.run("echo alive").stdout == "alive\n"
            started = time.monotonic()
            with pytest.raises(SSHUnavailable, match=r"SFTP on .* did not answer within 1s"):
                ssh.upload("network: {}\n", str(server.root / "netplan.yaml"))
            with pytest.raises(SSHUnavailable, match="did not answer within 1s"):
                ssh.read_file(str(server.root / "netplan.yaml"))
            assert time.monotonic() - started < 10
