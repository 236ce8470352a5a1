"""The network guard: which addresses seatkeeper may send a request to.

A profile's URLs come from users, so every outbound call could be turned against the
cloud metadata service or the private network (SSRF). The rule: only globally routable
addresses, unless a host or CIDR is listed in SEATKEEPER_ALLOW_HOSTS; the metadata
addresses only when an address range that holds them is listed explicitly.

The check runs on the address the connection is really made to: `GuardedAdapter`
resolves the host once, checks every address it resolves to, and connects to the one it
checked (the technique of requests-hardened's IPFilterAdapter, whose fixed policy cannot
express our allow list nor refuse when *any* resolved address is internal). Redirects go
through the adapter again, so each hop is checked. Response bodies are capped.
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

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from seatkeeper.errors import AddressRefused, ResponseTooLarge

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_NETWORKS: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("169.254.0.0/16"),  # EC2/ECS/Lambda metadata and credentials endpoints
    ipaddress.ip_network("fd00:ec2::/32"),  # EC2 metadata over IPv6
)
NAT64_NETWORKS: tuple[ipaddress.IPv6Network, ...] = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
)
ALLOWED_SCHEMES = ("http", "https")
DEFAULT_MAX_RESPONSE_BYTES = 20 * 1024 * 1024


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address that an IPv6 address carries (mapped, NAT64, 6to4, Teredo), if any."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if any(ip in net for net in NAT64_NETWORKS):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


@dataclass(frozen=True)
class NetworkPolicy:
    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
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
        candidates = [ip] if inner is None else [ip, inner]
        if self._listed(ip) or (inner is not None and self._listed(inner)):
            return
        if any(c in net for c in candidates for net in METADATA_NETWORKS if c.version == net.version):
            raise AddressRefused(f"{host} resolves to a cloud metadata address, which is never allowed")
        if host.lower().rstrip(".") in self.allowed_hosts:
            return
        if inner is not None and any(ip in net for net in NAT64_NETWORKS) and inner.is_global:
            return  # NAT64 of a public IPv4 address is an ordinary route in IPv6-only networks
        if not all(c.is_global for c in candidates) or ip.is_multicast:
            raise AddressRefused(f"{host} resolves to a private, loopback, link-local or reserved address")

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address `host` resolves to, each checked; refuses when any is refused."""
        try:
            infos = self.resolver(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise requests.ConnectionError(f"cannot resolve {host}") from exc
        addresses: list[IPAddress] = []
        for _family, _type, _proto, _name, sockaddr in infos:
            ip = ipaddress.ip_address(sockaddr[0].split("%")[0])
            self.check_address(host, ip)
            if ip not in addresses:
                addresses.append(ip)
        if not addresses:
            raise requests.ConnectionError(f"cannot resolve {host}")
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
        if resolve:
            with contextlib.suppress(requests.ConnectionError):
                self.resolve(parts.hostname, port)

    def session(self) -> GuardedSession:
        return GuardedSession(self)


class GuardedAdapter(HTTPAdapter):
    """Connects to the checked address of the host, keeping the host name for Host, SNI and TLS checks."""

    def __init__(self, policy: NetworkPolicy, *, https: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._policy = policy
        self._https = https

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        # types-requests lags requests 2.32's pool-key hook, which is what makes pinning possible.
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)  # type: ignore[misc]
        hostname: str = host_params["host"]
        port = host_params["port"] or (443 if self._https else 80)
        address = self._policy.resolve(hostname, port)[0]
        request.headers = CaseInsensitiveDict(request.headers or {})
        host_header = f"[{hostname}]" if ":" in hostname else hostname
        if host_params["port"] is not None:
            host_header += f":{host_params['port']}"
        request.headers["Host"] = host_header
        if self._https:
            pool_kwargs["assert_hostname"] = hostname
            pool_kwargs["server_hostname"] = hostname
        host_params["host"] = str(address)
        return host_params, pool_kwargs

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - deprecated path
        raise NotImplementedError("use get_connection_with_tls_context")


class GuardedSession(requests.Session):
    """A requests session whose every connection, redirects included, passes the guard."""

    def __init__(self, policy: NetworkPolicy) -> None:
        super().__init__()
        self.policy = policy
        self.max_redirects = 5
        self.trust_env = False  # a proxy from the environment would bypass the address check
        self.adapters.clear()
        self.mount("http://", GuardedAdapter(policy, https=False))
        self.mount("https://", GuardedAdapter(policy, https=True))

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if urlsplit(request.url or "").scheme not in ALLOWED_SCHEMES:
            raise AddressRefused("only http and https URLs are allowed")
        wants_stream = kwargs.pop("stream", False)
        kwargs.setdefault("timeout", (5, 30))
        response = super().send(request, stream=True, **kwargs)
        if wants_stream:
            return response
        limit = self.policy.max_response_bytes
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            response.close()
            raise ResponseTooLarge(f"response of {declared} bytes exceeds the limit of {limit}")
        body = bytearray()
        for chunk in response.iter_content(64 * 1024):
            body += chunk
            if len(body) > limit:
                response.close()
                raise ResponseTooLarge(f"response exceeds the limit of {limit} bytes")
        response._content = bytes(body)
        return response
