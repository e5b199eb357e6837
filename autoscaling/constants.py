"""Constants of the autoscaling domain."""

import re

# DNS label: lower-case letters, digits and hyphens, 1-63 characters, no leading/trailing hyphen.
SERVICE_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# Prometheus job label and Jenkins job name friendly.
PROMETHEUS_JOB_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# vCenter VM names: the prefix plus "-YYYYMMDDHHmmss" (and an optional "-N" suffix) must stay below 80.
VM_PREFIX_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?$")
F5_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
HEALTH_PATH_RE = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*$")
SSH_USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")

DEFAULT_COOLDOWN_SECONDS = 300
DEFAULT_REPEAT_INTERVAL_SECONDS = 300
DEFAULT_NODE_EXPORTER_PORT = 9100
# Name of a VM the autoscaler created: <prefix>-YYYYMMDDHHmmss, optionally -N when two clones share a second.
MANAGED_VM_SUFFIX_RE = r"-\d{14}(?:-\d+)?$"
# PostgreSQL advisory lock key (transaction-scoped) that serialises config writes: validation reads the other
# configs (unique names, overlapping IP pools), so two writers must not validate at the same time.
CONFIG_WRITES_LOCK_KEY = 0x1C0DE0C0
