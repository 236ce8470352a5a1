"""The network guard: which addresses seatkeeper may send a request to.

A profile's URLs come from users, so every outbound call could be turned against the
cloud metadata service or the private network (SSRF). The rule: only globally routable
addresses, unless a host or CIDR is listed in SEATKEEPER_ALLOW_HOSTS; the metadata
addresses only when an address range that holds them is listed explicitly.

The HTTP client (seatkeeper.saas.http) applies this policy to the address each
connection is really made to; this module is only the policy, free of any HTTP library.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from seatkeeper.core.errors import AddressRefused, AddressUnresolvable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_NETWORKS: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("169.254.0.0/16"),  # EC2/ECS/Lambda metadata and credentials endpoints
    ipaddress.ip_network("fd00:ec2::/32"),  # EC2 metadata over IPv6
)
# NAT64 (RFC 6052): the well-known /96 carries the IPv4 address in its last 32 bits; the
# local-use /48 (RFC 8215) in bits 48-63 and 72-87, around the zero "u" octet.
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")
# IPv4-compatible IPv6 (RFC 4291 2.5.5.1, deprecated): `::a9fe:a9fe` is 169.254.169.254 to some stacks.
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
# Not globally routable, whatever the running CPython's ipaddress tables say: older
# releases miss some (cpython#113171), and the translation prefixes are checked separately.
NOT_GLOBAL_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "192.88.99.0/24",
        "198.18.0.0/15",
        "240.0.0.0/4",
        "2001::/23",
        "2001:20::/28",
        "2002::/16",
        "3fff::/20",
        "5f00::/16",
        "64:ff9b:1::/48",
        "fc00::/7",
    )
)
ALLOWED_SCHEMES = ("http", "https")
MAX_LABEL_LENGTH, MAX_NAME_LENGTH = 63, 253  # RFC 1035 2.3.4, in the ASCII form a resolver is sent


def check_host_name(host: str) -> None:
    """Refuse a host that is neither an IP address nor a DNS name by IDNA 2008 (RFC 5891), saying which rule.

    Such a name can never resolve: without this, the resolver's error reads like an app that is down, and
    a connection retries for minutes before saying "cannot connect".
    """
    # idna's tables cost milliseconds to import: only a profile's write and a connection need them.
    import idna

    try:
        ipaddress.ip_address(host.strip("[]"))
        return
    except ValueError:
        pass
    name = host.rstrip(".")
    for number, label in enumerate(name.split("."), start=1):
        if len(label) > MAX_LABEL_LENGTH:
            raise AddressRefused(
                f"the host is not a valid DNS name: its label {number} is {len(label)} characters long, "
                f"at most {MAX_LABEL_LENGTH}"
            )
    if name.isascii() and len(name) > MAX_NAME_LENGTH:
        raise AddressRefused(
            f"the host is not a valid DNS name: {len(name)} characters long, at most {MAX_NAME_LENGTH}"
        )
    try:
        idna.encode(name, uts46=True)  # also the length of a Unicode name's ASCII form
    except (idna.IDNAError, UnicodeError) as exc:
        raise AddressRefused(f"the host is not a valid DNS name (IDNA 2008): {exc}") from None


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address that an IPv6 address carries (mapped, NAT64, 6to4, Teredo), if any."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in IPV4_COMPATIBLE or ip in NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in NAT64_LOCAL_USE:
        n = int(ip)
        return ipaddress.IPv4Address(((n >> 64) & 0xFFFF) << 16 | ((n >> 40) & 0xFFFF))
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def _internal(ip: IPAddress) -> bool:
    # is_global alone is not enough: CPython calls ::/8 "reserved" yet global (so `::a9fe:a9fe`
    # would pass), and its tables differ between releases. Any flag that says "not an ordinary
    # public address" refuses it.
    return (
        not ip.is_global
        or ip.is_reserved
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_multicast
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
        or any(ip in net for net in NOT_GLOBAL_NETWORKS if ip.version == net.version)
    )


@dataclass(frozen=True)
class NetworkPolicy:
    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()
    resolver: Any = field(default=socket.getaddrinfo, compare=False, repr=False)

    @classmethod
    def from_entries(cls, entries: Iterable[str], **kwargs: Any) -> NetworkPolicy:
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(allowed_hosts=frozenset(hosts), allowed_networks=tuple(networks), **kwargs)

    @classmethod
    def from_environment(cls) -> NetworkPolicy:
        return cls.from_entries(os.environ.get("SEATKEEPER_ALLOW_HOSTS", "").split(","))

    def _listed(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self.allowed_networks)

    def check_address(self, host: str, ip: IPAddress) -> None:
        """Refuse `ip` (which `host` resolved to) unless the policy allows it."""
        inner = embedded_ipv4(ip)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            # A mapped address is its IPv4 address on the wire; CPython calls all of ::ffff:0:0/96 private.
            candidates: list[IPAddress] = [ip.ipv4_mapped]
        else:
            candidates = [ip] if inner is None else [ip, inner]
        if self._listed(ip) or (inner is not None and self._listed(inner)):
            return
        if any(c in net for c in candidates for net in METADATA_NETWORKS if c.version == net.version):
            raise AddressRefused(f"{host} resolves to a cloud metadata address, which is never allowed")
        if host.lower().rstrip(".") in self.allowed_hosts:
            return
        if inner is not None and ip in NAT64_WELL_KNOWN and not _internal(inner):
            # NAT64 of a public IPv4 address is an ordinary route in IPv6-only networks. The
            # local-use /48 is a private translation: refused unless listed, like a private range.
            return
        if any(_internal(c) for c in candidates):
            raise AddressRefused(f"{host} resolves to a private, loopback, link-local or reserved address")

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address `host` resolves to, each checked; refuses when any is refused."""
        check_host_name(host)
        try:
            infos = self.resolver(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise AddressUnresolvable(f"cannot resolve {host}") from exc
        addresses: list[IPAddress] = []
        for _family, _type, _proto, _name, sockaddr in infos:
            ip = ipaddress.ip_address(sockaddr[0].split("%")[0])
            self.check_address(host, ip)
            if ip not in addresses:
                addresses.append(ip)
        if not addresses:
            raise AddressUnresolvable(f"cannot resolve {host}")
        return addresses

    def check_url(self, url: str, *, resolve: bool = True) -> None:
        """Validate a URL from a profile: scheme, host, no user info; its addresses when they resolve.

        A name that does not resolve yet is accepted here: DNS can change, and the adapter
        checks again on every connection.
        """
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise AddressRefused(f"not a valid URL: {exc}") from None
        if parts.scheme not in ALLOWED_SCHEMES:
            raise AddressRefused("only http and https URLs are allowed")
        if not parts.hostname:
            raise AddressRefused("the URL has no host")
        if parts.username is not None or parts.password is not None:
            raise AddressRefused("credentials belong in the connection, not in the URL")
        check_host_name(parts.hostname)
        if resolve:
            with contextlib.suppress(AddressUnresolvable):
                self.resolve(parts.hostname, port)
