"""The network guard's policy, over many encodings of the same addresses (Hypothesis)."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatkeeper.core.errors import AddressRefused, InvalidInput
from seatkeeper.profiles.catalog import build_profile
from seatkeeper.profiles.service import check_urls
from seatkeeper.saas.network_guard import NetworkPolicy, embedded_ipv4

DEFAULT = NetworkPolicy()


def passes(check) -> bool:
    """Whether the guard lets it through (its checks return nothing and raise AddressRefused)."""
    try:
        check()
    except AddressRefused:
        return False
    return True


BLOCKED_V4 = [
    ipaddress.ip_network(n)
    for n in (
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "100.64.0.0/10",
        "0.0.0.0/8",
        "192.0.0.0/24",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
]
PUBLIC_V4 = [ipaddress.ip_network(n) for n in ("8.8.8.0/24", "52.0.0.0/10", "151.101.0.0/16", "1.1.1.0/24")]


def addresses_in(networks):
    return st.sampled_from(networks).flatmap(
        lambda net: st.integers(int(net.network_address), int(net.broadcast_address)).map(ipaddress.IPv4Address)
    )


def encodings(ip: ipaddress.IPv4Address):
    """Ways to write one IPv4 address in a URL host that resolvers (inet_aton) or IPv6 accept."""
    n = int(ip)
    octets = [int(o) for o in str(ip).split(".")]
    return st.sampled_from(
        [
            str(ip),
            str(n),  # decimal
            hex(n),  # hex
            "0" + oct(n)[2:],  # octal
            ".".join("0" + oct(o)[2:] if o else "0" for o in octets),  # dotted octal
            ".".join(hex(o) for o in octets),  # dotted hex
            f"{octets[0]}.{n & 0xFFFFFF}",  # a.bcd
            f"{octets[0]}.{octets[1]}.{n & 0xFFFF}",  # a.b.cd
            f"[::ffff:{ip}]",  # IPv4-mapped IPv6
            f"[::ffff:{n >> 16:x}:{n & 0xFFFF:x}]",  # IPv4-mapped, hex words
            f"[64:ff9b::{ip}]",  # NAT64 well-known prefix
            f"[64:ff9b::{n >> 16:x}:{n & 0xFFFF:x}]",
            f"[2002:{n >> 16:x}:{n & 0xFFFF:x}::1]",  # 6to4
            f"[::{ip}]",  # IPv4-compatible IPv6 (::/96, deprecated)
            f"[::{n >> 16:x}:{n & 0xFFFF:x}]",
        ]
    )


@settings(max_examples=300, deadline=None)
@given(addresses_in(BLOCKED_V4).flatmap(lambda ip: encodings(ip).map(lambda host: (ip, host))))
def test_internal_addresses_are_refused_however_they_are_written(case):
    _, host = case
    with pytest.raises(AddressRefused):
        DEFAULT.check_url(f"http://{host}:8080/scim/v2")


@settings(max_examples=100, deadline=None)
@given(
    addresses_in(PUBLIC_V4).flatmap(
        lambda ip: (
            encodings(ip)
            .filter(lambda h: h.startswith("[::ffff") or not h.startswith(("[2002", "[::")))
            .map(lambda h: (ip, h))
        )
    )
)
def test_public_addresses_pass_however_they_are_written(case):
    _, host = case
    assert passes(lambda: DEFAULT.check_url(f"https://{host}/api"))


@settings(max_examples=300, deadline=None)
@given(st.ip_addresses(v=6))
def test_an_ipv6_address_that_passes_is_global_and_carries_no_internal_ipv4(ip):
    try:
        DEFAULT.check_address("h", ip)
    except AddressRefused:
        return
    inner = embedded_ipv4(ip)
    nat64 = ip in ipaddress.ip_network("64:ff9b::/96")
    mapped = ip.ipv4_mapped is not None  # judged by the IPv4 address it carries
    assert (ip.is_global or nat64 or mapped) and not ip.is_multicast
    assert nat64 or mapped or not (ip.is_reserved or ip.is_private or ip.is_site_local or ip.is_link_local)
    assert ip not in ipaddress.ip_network("::/96")
    assert inner is None or inner.is_global


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**108 - 1).map(lambda low: ipaddress.IPv6Address((0x2600 << 112) | low)))
def test_public_ipv6_addresses_pass(ip):
    assert passes(lambda: DEFAULT.check_address("h", ip))


@pytest.mark.parametrize(
    "host",
    [
        "169.254.169.254",
        "[fd00:ec2::254]",
        "[::ffff:169.254.169.254]",
        "[64:ff9b::a9fe:a9fe]",
        "2852039166",
        "0xa9fea9fe",
        "0251.0376.0251.0376",
    ],
)
def test_metadata_is_refused_even_when_loopback_and_private_are_allowed(host):
    policy = NetworkPolicy.from_entries(["127.0.0.0/8", "10.0.0.0/8", "::1", "metadata.internal"])
    with pytest.raises(AddressRefused, match="metadata"):
        policy.check_url(f"http://{host}/latest/meta-data/")


@pytest.mark.parametrize("host", ["[::169.254.169.254]", "[::a9fe:a9fe]", "[::10.0.0.1]", "[::8.8.8.8]", "[::1]"])
def test_ipv4_compatible_ipv6_is_refused_as_base_url_and_token_url(host):
    """::/96 is deprecated and some stacks route it as the IPv4 address it carries: none of it is an app."""
    profile = build_profile(
        {
            "name": "Compat",
            "template": "scim2",
            "base_url": f"http://{host}/scim/v2",
            "subscription": {"licenses_purchased": 1},
        }
    )
    with pytest.raises(InvalidInput) as refused:
        check_urls(profile, DEFAULT)
    assert refused.value.errors[0]["loc"] == ["body", "base_url"]
    oauth = build_profile(
        {
            "name": "Compat OAuth",
            "base_url": "https://8.8.8.8/api",
            "auth": {
                "type": "oauth2_authorization_code",
                "authorize_url": "https://8.8.8.8/authorize",
                "token_url": f"http://{host}/token",
            },
            "users": {"path": "/users", "fields": {"id": "id"}},
            "subscription": {"licenses_purchased": 1},
        }
    )
    with pytest.raises(InvalidInput) as refused:
        check_urls(oauth, DEFAULT)
    assert refused.value.errors[0]["loc"] == ["body", "auth", "token_url"]


@pytest.mark.parametrize(
    "address",
    ["100::1", "2001:db8::1", "2001:10::1", "fec0::1", "::", "::1", "192.0.2.1", "198.51.100.7", "203.0.113.9"],
)
def test_every_range_python_calls_reserved_private_or_documentation_is_refused(address):
    with pytest.raises(AddressRefused):
        DEFAULT.check_address("h", ipaddress.ip_address(address))


def test_a_host_name_in_the_allow_list_does_not_unlock_metadata():
    policy = NetworkPolicy.from_entries(
        ["metadata.test"],
        resolver=lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 80))],
    )
    with pytest.raises(AddressRefused, match="metadata"):
        policy.resolve("metadata.test", 80)


def test_an_explicitly_listed_range_may_hold_metadata():
    assert passes(lambda: NetworkPolicy.from_entries(["169.254.169.254/32"]).check_url("http://169.254.169.254/"))
    assert not passes(lambda: NetworkPolicy.from_entries(["169.254.170.0/24"]).check_url("http://169.254.169.254/"))


def test_listed_hosts_and_ranges_are_allowed_and_nothing_else():
    policy = NetworkPolicy.from_entries(["10.1.0.0/16", "saas.internal", "  ", "[::1]"])
    policy.check_address("a", ipaddress.ip_address("10.1.2.3"))
    policy.check_address("saas.internal", ipaddress.ip_address("10.9.9.9"))
    policy.check_address("b", ipaddress.ip_address("::1"))
    with pytest.raises(AddressRefused):
        policy.check_address("other", ipaddress.ip_address("10.9.9.9"))


def test_a_name_is_refused_when_any_of_its_addresses_is_internal():
    two_answers = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 443)),
    ]
    policy = NetworkPolicy(resolver=lambda *a, **k: two_answers)
    with pytest.raises(AddressRefused):
        policy.resolve("rebind.example", 443)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "file:///etc/passwd",
        "gopher://x/",
        "https://user:pw@example.com/",
        "https:///nohost",
        "http://[::1/",
        "javascript:alert(1)",
    ],
)
def test_other_schemes_user_info_and_broken_urls_are_refused(url):
    with pytest.raises(AddressRefused):
        DEFAULT.check_url(url)


def test_localhost_by_name_is_refused_by_default():
    with pytest.raises(AddressRefused):
        DEFAULT.check_url("http://localhost:3000/")


def test_a_name_that_does_not_resolve_yet_is_left_to_connection_time():
    assert passes(lambda: DEFAULT.check_url("https://not-yet-registered.invalid/api"))


def test_the_environment_sets_the_allow_list(monkeypatch):
    monkeypatch.setenv("SEATKEEPER_ALLOW_HOSTS", "127.0.0.0/8, scim.local")
    policy = NetworkPolicy.from_environment()
    assert policy.allowed_hosts == frozenset({"scim.local"})
    assert passes(lambda: policy.check_url("http://127.0.0.1:9000/"))


def test_local_use_nat64_is_read_as_rfc_6052_lays_it_out():
    """64:ff9b:1::/48 carries the IPv4 address around the "u" octet, not in its last 32 bits."""
    hidden = ipaddress.ip_address("64:ff9b:1:a9fe:a9:fe00:808:808")  # 169.254.169.254; last 32 bits say 8.8.8.8
    assert embedded_ipv4(hidden) == ipaddress.ip_address("169.254.169.254")
    with pytest.raises(AddressRefused, match="metadata"):
        DEFAULT.check_address("h", hidden)
    with pytest.raises(AddressRefused):
        DEFAULT.check_address("h", ipaddress.ip_address("64:ff9b:1:808:8:800::"))  # 8.8.8.8, but a private translation


@pytest.mark.parametrize(
    ("host", "said"),
    [
        ("a" * 300 + ".example.com", "its label 1 is 300 characters long, at most 63"),
        ("app." + "b" * 64 + ".example.com", "its label 2 is 64 characters long"),
        (".".join(["c" * 60] * 5), "at most 253"),
        ("xn--.example.com", "IDNA 2008"),  # an A-label with no Punycode after its prefix
        ("xn--zz-zzzzz.example.com", "IDNA 2008"),  # Punycode of code points IDNA 2008 disallows
        ("xn--a.example.com", "IDNA 2008"),
        ("-app.example.com", "IDNA 2008"),
        ("app..example.com", "IDNA 2008"),
    ],
)
def test_a_host_that_is_no_valid_dns_name_is_refused_saying_why(host, said):
    # Given the default policy and a URL whose host can never resolve (RFC 1035 lengths, RFC 5891 labels)
    # When it is checked, as a profile's write and every connection check it
    with pytest.raises(AddressRefused, match="not a valid DNS name") as refused:
        DEFAULT.check_url(f"https://{host}/scim/v2", resolve=False)
    # Then the refusal names the rule it breaks
    assert said in str(refused.value)
    with pytest.raises(AddressRefused, match="not a valid DNS name"):
        DEFAULT.resolve(host, 443)


@pytest.mark.parametrize(
    "host",
    ["acme.example.com", "ACME.Example.com", "xn--mnchen-3ya.de", "münchen.de", "a" * 63 + ".com", "[2606:4700::1111]"],
)
def test_valid_dns_names_and_ip_literals_pass_the_name_check(host):
    # Given a valid host name or IP literal, When its URL is checked, Then nothing is refused (AddressRefused would raise)
    assert DEFAULT.check_url(f"https://{host}/scim/v2", resolve=False) is None
