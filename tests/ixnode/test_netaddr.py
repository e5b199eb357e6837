"""The one host:port parser: IPv6 in brackets keeps its address whole."""

from __future__ import annotations

import pytest

from ixnode.netaddr import HostPortError, address_of, join_host_port, split_host_port


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[::1]:9100", ("::1", "9100")),
        ("[fe80::1]", ("fe80::1", "")),
        ("::1", ("::1", "")),
        ("10.0.0.5:9100", ("10.0.0.5", "9100")),
        ("10.0.0.5", ("10.0.0.5", "")),
        ("node-1.example:9100", ("node-1.example", "9100")),
        ("http://[2001:db8::5]:9100/metrics", ("2001:db8::5", "9100")),
        ("  10.0.0.5:9100 ", ("10.0.0.5", "9100")),
    ],
)
def test_split(text, expected):
    assert split_host_port(text) == expected


@pytest.mark.parametrize("text", ["[::1", "[::1]9100", "[::1]x:1"])
def test_split_refuses_broken_brackets(text):
    with pytest.raises(HostPortError):
        split_host_port(text)


def test_address_of_an_ipv6_instance_is_not_cut_at_its_last_colon():
    assert address_of("[::1]:9100") == "::1"
    assert address_of("[2001:0db8:0000::0005]:9100") == "2001:db8::5"
    assert address_of("127.0.48.5:9100") == "127.0.48.5"
    assert address_of("[::1") == "[::1"  # not splittable: the text itself


def test_join_puts_ipv6_in_brackets():
    assert join_host_port("::1", 9100) == "[::1]:9100"
    assert join_host_port("2001:0db8::0005", "80") == "[2001:db8::5]:80"
    assert join_host_port("10.0.0.5", 9100) == "10.0.0.5:9100"
    assert join_host_port("node-1", 9100) == "node-1:9100"
