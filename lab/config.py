"""The lab's layout (addresses, ports, names) and its two sets of timings: ``demo`` (``make lab``, a newcomer
watches 2 → 4 → 2 VMs within minutes) and ``fast`` (the headless test, compressed)."""

from __future__ import annotations

import getpass
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Timings:
    scrape_interval: str  # Prometheus' global scrape and rule evaluation interval
    rate_window: str  # IXNODE_PROMETHEUS_RATE_WINDOW: the CPU rules' rate() window
    group_wait: str  # IXNODE_ALERTMANAGER_GROUP_WAIT
    group_interval: str  # IXNODE_ALERTMANAGER_GROUP_INTERVAL
    repeat_seconds: int  # the config's alertRepeatIntervalSeconds
    cooldown_seconds: int  # the config's cooldown (longer than Prometheus' ~5 s target discovery)
    clone_delay: str  # how long vcsim takes to clone a VM
    shutdown_delay: str  # how long a guest takes to shut down
    health_interval: float  # IXNODE_HEALTH_INTERVAL
    watch_interval: float  # how often the lab looks at vCenter's VMs
    # The config's durations (the rules' `for:`, whole minutes). Prometheus' rate() over a window longer than a
    # series' age underestimates it, so a VM that just joined shows too much CPU for one rate window; a `for:`
    # longer than the window keeps that from firing a scale-out on its own.
    out_minutes: int
    in_minutes: int
    # The load profile: (seconds into the cycle, requests per second), linear in between, repeated.
    profile: tuple[tuple[float, float], ...]


# One VM serves CAPACITY requests per second at 100 % CPU (both of its 2 vCPUs busy).
CAPACITY = 10.0

DEMO = Timings(
    scrape_interval="5s",
    rate_window="30s",
    group_wait="5s",
    group_interval="5s",
    repeat_seconds=20,
    cooldown_seconds=20,
    clone_delay="3s",
    shutdown_delay="2s",
    health_interval=1.0,
    watch_interval=0.5,
    # Scale-in has no such false alarm (no series is new after a scale-in): it acts after the rate window.
    out_minutes=1,
    in_minutes=0,
    # 8 req/s: 2 VMs at 40 %. 26 req/s: 2 VMs saturated, 3 at 87 % (above 75 %: scale out), 4 at 65 % (hold).
    # 4 req/s: 4 VMs at 10 %, 3 at 13 %, 2 at 20 % (below 30 %: scale in, down to the minimum of 2).
    # (Each VM's own 4 % comes on top.)
    profile=((0, 8), (45, 8), (60, 26), (225, 26), (240, 4), (420, 4), (435, 8), (450, 8)),
)

FAST = Timings(
    scrape_interval="1s",
    rate_window="5s",
    group_wait="1s",
    group_interval="1s",
    repeat_seconds=2,
    cooldown_seconds=8,
    clone_delay="500ms",
    shutdown_delay="300ms",
    health_interval=0.3,
    watch_interval=0.2,
    out_minutes=0,
    in_minutes=0,
    profile=((0, 8), (10, 8), (12, 26), (90, 26), (92, 4), (170, 4), (172, 8), (180, 8)),
)

TIMINGS = {"demo": DEMO, "fast": FAST}


def load_at(profile: tuple[tuple[float, float], ...], seconds: float) -> float:
    """Requests per second ``seconds`` after the lab started: the profile's points joined linearly, repeated."""
    period = profile[-1][0]
    t = seconds % period if period > 0 else 0.0
    for (t0, r0), (t1, r1) in zip(profile, profile[1:], strict=False):
        if t0 <= t <= t1:
            return r0 if t1 == t0 else r0 + (r1 - r0) * (t - t0) / (t1 - t0)
    return profile[-1][1]


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from exc


@dataclass(frozen=True)
class LabConfig:
    """Where everything lives. Addresses are in one loopback /24 (Linux routes all of 127/8 to lo)."""

    subnet: ipaddress.IPv4Network
    port: int  # the product's web server
    app_port: int  # the service's port on every VM (F5 member port and VIP port)
    exporter_port: int  # node_exporter on every VM
    ssh_port: int  # sshd on every VM
    timings: Timings
    var: Path
    service: str = "demo-web"
    template: str = "ubuntu-22.04-golden"
    base_vms: tuple[str, ...] = ("demo-web-base-1", "demo-web-base-2")
    admin_user: str = "admin"
    ssh_user: str = field(default_factory=getpass.getuser)

    @classmethod
    def from_env(cls) -> LabConfig:
        profile = os.environ.get("LAB_TIMINGS", "demo").strip() or "demo"
        if profile not in TIMINGS:
            raise SystemExit(f"LAB_TIMINGS must be one of {', '.join(TIMINGS)}, got {profile!r}")
        raw_subnet = os.environ.get("LAB_SUBNET", "127.0.77.0/24")
        try:
            subnet = ipaddress.IPv4Network(raw_subnet)
        except ValueError as exc:
            raise SystemExit(f"LAB_SUBNET: {exc}") from exc
        if subnet.prefixlen != 24 or not subnet.network_address.is_loopback:
            raise SystemExit(f"LAB_SUBNET must be a /24 inside 127.0.0.0/8 (e.g. 127.0.77.0/24), got {raw_subnet}")
        var = Path(os.environ.get("LAB_VAR_DIR", str(ROOT / "var" / "lab")))
        return cls(
            subnet=subnet,
            port=_env_int("PORT", 8000),
            app_port=_env_int("LAB_APP_PORT", 8080),
            exporter_port=_env_int("LAB_EXPORTER_PORT", 9100),
            ssh_port=_env_int("LAB_SSH_PORT", 2222),
            timings=TIMINGS[profile],
            var=var if var.is_absolute() else ROOT / var,
        )

    def address(self, host: int) -> str:
        return str(self.subnet.network_address + host)

    @property
    def gateway(self) -> str:
        return self.address(1)

    @property
    def base_addresses(self) -> tuple[str, ...]:
        return tuple(self.address(11 + i) for i in range(len(self.base_vms)))

    @property
    def bootstrap_addresses(self) -> tuple[str, ...]:
        """What the VMs' "DHCP" hands out at first boot, before the pipeline's netplan gives the pool address."""
        return tuple(self.address(n) for n in range(50, 60))

    @property
    def pool(self) -> tuple[str, str]:
        return self.address(220), self.address(228)

    @property
    def vip(self) -> str:
        return self.address(229)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pool_name(self) -> str:
        return f"{self.service}-pool"

    @property
    def job(self) -> str:
        return self.service
