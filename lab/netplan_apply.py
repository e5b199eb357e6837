"""The lab VMs' ``netplan apply`` (IXNODE_NETPLAN_APPLY_COMMAND): run by the pipeline over SSH on the address a
new VM booted with, after it wrote the netplan file. A real ``netplan apply`` moves the interface to the new
address; here the lab does it: this script tells the lab's control endpoint which VM (the SSH server address
the session came in on, from ``SSH_CONNECTION``) and which file, and the lab reads the address from the file,
makes VMware Tools report it to vCenter and moves the VM's services (the SSH session on the old address ends).

Usage: netplan_apply.py NETPLAN_FILE CONTROL_URL TOKEN_FILE. Only the standard library: it runs in the "VM".
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print("usage: netplan_apply.py NETPLAN_FILE CONTROL_URL TOKEN_FILE", file=sys.stderr)
        return 2
    netplan, control_url, token_file = argv[1:]
    connection = os.environ.get("SSH_CONNECTION", "").split()
    if len(connection) != 4:
        print("netplan apply: not run over SSH (SSH_CONNECTION is unset): which VM is this?", file=sys.stderr)
        return 1
    if not os.path.isfile(netplan):
        print(f"netplan apply: {netplan} does not exist", file=sys.stderr)
        return 1
    with open(token_file, encoding="utf-8") as handle:
        token = handle.read().strip()
    request = urllib.request.Request(  # noqa: S310 (the lab on loopback)
        f"{control_url}/netplan-applied", method="POST",
        data=json.dumps({"server_ip": connection[2], "netplan": netplan}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (the lab on loopback)
            print(json.loads(response.read()).get("message", "applied"))
    except urllib.error.HTTPError as exc:
        print(f"netplan apply: {exc.read().decode(errors='replace')}", file=sys.stderr)
        return 78  # netplan's exit status for an invalid configuration
    except OSError as exc:
        print(f"netplan apply: the lab's control endpoint is unreachable: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
