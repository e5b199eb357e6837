"""Cross-field validation of an autoscaling config.

One function, used by ``AutoscalingConfig.clean()``; the admin, the pages and the API all reach it
through ``full_clean()``, so every entry point rejects the same things with the same field messages.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from collections import defaultdict
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _ip(value: Any) -> IPAddress | None:
    try:
        return ipaddress.ip_address(str(value))
    except ValueError:
        return None


def _network(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(str(value), strict=True)
    except ValueError:
        return None


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME_RE = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")


def dns_server_list(value: str | None) -> list[str]:
    """The DNS servers of a config's ``dns_servers`` text (comma- or semicolon-separated)."""
    return [item.strip() for item in (value or "").replace(";", ",").split(",") if item.strip()]


def validate_dns_servers(value: Any) -> None:
    """Field validator: every comma-separated entry must be an IP address (netplan ``nameservers.addresses``)."""
    bad = [item for item in dns_server_list(str(value or "")) if _ip(item) is None]
    if bad:
        raise ValidationError(
            _(
                "%(bad)s is not an IP address; enter DNS servers as comma-separated IP addresses, "
                "e.g. 10.0.0.53, 10.0.1.53."
            )
            % {"bad": ", ".join(repr(item) for item in bad)},
            code="invalid_dns_servers",
        )


def validate_absolute_path(value: Any) -> None:
    """Field validator: a file path on the host running the pipelines must be absolute (or left empty)."""
    text = str(value or "")
    if text and (not posixpath.isabs(text) or "\0" in text):
        raise ValidationError(
            _("Enter an absolute path (starting with '/'), e.g. /etc/ixnode/ssh/id_ed25519, or leave it empty."),
            code="relative_path",
        )


def hostname_error(host: Any) -> str | None:
    """Why ``host`` is not a DNS host name (None when it is one). IP addresses are checked by the caller."""
    if not isinstance(host, str) or not HOSTNAME_RE.match(host):
        return _("'%(host)s' is neither an IP address nor a host name.") % {"host": host}
    if host.rsplit(".", 1)[-1].isdigit():
        return _("'%(host)s' is neither an IP address nor a host name (a numeric-only name is not a host).") % {
            "host": host
        }
    return None


def pool_size(start: str, end: str) -> int:
    """Number of addresses from ``start`` to ``end`` inclusive (0 when either is invalid or reversed)."""
    first, last = _ip(start), _ip(end)
    if first is None or last is None or first.version != last.version or int(first) > int(last):
        return 0
    return int(last) - int(first) + 1


def config_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    """Return field errors for the cross-field rules; ``values`` holds the model's field values."""
    errors: dict[str, list[str]] = defaultdict(list)

    def get(name: str) -> Any:
        return values.get(name)

    min_vms, max_vms = get("min_vms"), get("max_vms")
    if isinstance(min_vms, int) and isinstance(max_vms, int) and min_vms > max_vms:
        errors["max_vms"].append(
            _("Maximum VMs (%(max)s) must be greater than or equal to minimum VMs (%(min)s).")
            % {"max": max_vms, "min": min_vms}
        )
    warm = get("warm_pool_size")
    warm = warm if isinstance(warm, int) and warm > 0 else 0
    bounds_ok = isinstance(min_vms, int) and isinstance(max_vms, int) and max_vms >= min_vms
    if warm and bounds_ok and warm > max_vms - min_vms:
        errors["warm_pool_size"].append(
            _(
                "A warm pool of %(warm)s is larger than the %(added)s VMs a scale-in can ever return to it "
                "(maximum %(max)s − minimum %(min)s)."
            )
            % {"warm": warm, "added": max_vms - min_vms, "max": max_vms, "min": min_vms}
        )

    for out_name, in_name, label in (
        ("scale_out_cpu_threshold", "scale_in_cpu_threshold", _("CPU")),
        ("scale_out_memory_threshold", "scale_in_memory_threshold", _("memory")),
    ):
        out_value, in_value = get(out_name), get(in_name)
        if isinstance(out_value, int | float) and isinstance(in_value, int | float) and in_value >= out_value:
            errors[in_name].append(
                _("Scale-in %(label)s threshold (%(in)s%%) must be below the scale-out threshold (%(out)s%%).")
                % {"label": label, "in": in_value, "out": out_value}
            )

    subnet = _network(get("subnet_cidr")) if get("subnet_cidr") else None
    if get("subnet_cidr") and subnet is None:
        errors["subnet_cidr"].append(
            _("Enter a network in CIDR notation with no host bits set, e.g. 10.255.48.0/24.")
        )

    start, end = _ip(get("ip_pool_start")), _ip(get("ip_pool_end"))
    gateway, vip = _ip(get("gateway")), _ip(get("f5_vip_address"))

    if start and end:
        if start.version != end.version:
            errors["ip_pool_end"].append(_("Pool start and end must be of the same IP version."))
        elif int(start) > int(end):
            errors["ip_pool_end"].append(
                _("Pool end (%(end)s) must not be before pool start (%(start)s).") % {"end": end, "start": start}
            )

    if subnet is not None:
        for name, address in (
            ("ip_pool_start", start),
            ("ip_pool_end", end),
            ("gateway", gateway),
            ("f5_vip_address", vip),
        ):
            if address is None:
                continue
            if address.version != subnet.version or address not in subnet:
                errors[name].append(_("%(ip)s is outside the subnet %(net)s.") % {"ip": address, "net": subnet})
            elif subnet.version == 4 and subnet.prefixlen < 31 and address in (
                subnet.network_address,
                subnet.broadcast_address,
            ):
                errors[name].append(
                    _("%(ip)s is the network or broadcast address of %(net)s.") % {"ip": address, "net": subnet}
                )

    if start is not None and end is not None and start.version == end.version and int(start) <= int(end):
        for name, address, label in (("gateway", gateway, _("gateway")), ("f5_vip_address", vip, _("VIP"))):
            if address is not None and address.version == start.version and int(start) <= int(address) <= int(end):
                errors[name].append(
                    _("The %(label)s %(ip)s lies inside the IP pool %(start)s–%(end)s; it must be outside it.")
                    % {"label": label, "ip": address, "start": start, "end": end}
                )
        if isinstance(min_vms, int) and isinstance(max_vms, int) and max_vms >= min_vms:
            needed = max_vms - min_vms
            size = pool_size(str(start), str(end))
            if size < needed:
                errors["ip_pool_end"].append(
                    _(
                        "The IP pool holds %(size)s addresses but up to %(needed)s VMs may be added "
                        "(maximum %(max)s − minimum %(min)s)."
                    )
                    % {"size": size, "needed": needed, "max": max_vms, "min": min_vms}
                )
            # Warm VMs need no extra addresses: a scale-out takes them before it clones, so the VMs added
            # plus those in the pool never exceed maximum − minimum.

    return dict(errors)
