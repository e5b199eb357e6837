"""The shared sshd fixture: a real OpenSSH server on loopback, key auth, commands and SFTP."""

from __future__ import annotations

import paramiko
import pytest

pytest_plugins = ["tests.fixtures.sshd"]


def test_sshd_runs_commands_and_sftp(sshd):
    assert sshd.host == "127.0.0.1"
    client = sshd.connect()
    try:
        _stdin, stdout, _stderr = client.exec_command("echo hello-$((40+2))")
        assert stdout.read().decode().strip() == "hello-42"
        assert stdout.channel.recv_exit_status() == 0
        sftp = client.open_sftp()
        with sftp.open(str(sshd.root / "probe.txt"), "w") as handle:
            handle.write("via sftp")
        sftp.close()
    finally:
        client.close()
    assert (sshd.root / "probe.txt").read_text() == "via sftp"


def test_sshd_rejects_unknown_key(sshd):
    client = paramiko.SSHClient()
    client.get_host_keys().add(sshd.host_key_entry_name, sshd.host_key.get_name(), sshd.host_key)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    with pytest.raises(paramiko.AuthenticationException):
        client.connect(
            sshd.host,
            port=sshd.port,
            username=sshd.user,
            pkey=paramiko.RSAKey.generate(2048),
            look_for_keys=False,
            allow_agent=False,
        )
    client.close()


def test_sshd_factory_gives_private_servers(sshd_factory, sshd):
    server = sshd_factory()
    assert server.port != sshd.port
    client = server.connect()
    client.close()
