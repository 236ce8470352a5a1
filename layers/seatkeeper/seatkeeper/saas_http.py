"""The one module that sends HTTP requests to SaaS apps.

Every connection passes the network guard on the address it is really made to:
`GuardedAdapter` resolves the host once, checks every address it resolves to, and connects
to the one it checked, keeping the host name for the Host header, SNI and certificate
checks (the technique of requests-hardened's IPFilterAdapter, whose fixed policy cannot
express our allow list, nor refuse a host when *any* of its addresses is internal).
Redirects go through the adapter again, so each hop is checked. Response bodies are capped.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from seatkeeper.errors import AddressRefused, AddressUnresolvable, ResponseTooLarge
from seatkeeper.network_guard import ALLOWED_SCHEMES, NetworkPolicy

DEFAULT_MAX_RESPONSE_BYTES = 20 * 1024 * 1024
DEFAULT_TIMEOUT = (5, 30)  # connect, read (seconds)


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
        try:
            address = self._policy.resolve(hostname, port)[0]
        except AddressUnresolvable as exc:
            raise requests.ConnectionError(str(exc)) from exc
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

    def __init__(self, policy: NetworkPolicy, *, max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> None:
        super().__init__()
        self.policy = policy
        self.max_response_bytes = max_response_bytes
        self.max_redirects = 5
        self.trust_env = False  # a proxy from the environment would bypass the address check
        self.adapters.clear()
        self.mount("http://", GuardedAdapter(policy, https=False))
        self.mount("https://", GuardedAdapter(policy, https=True))

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if urlsplit(request.url or "").scheme not in ALLOWED_SCHEMES:
            raise AddressRefused("only http and https URLs are allowed")
        wants_stream = kwargs.pop("stream", False)
        kwargs["timeout"] = kwargs.get("timeout") or DEFAULT_TIMEOUT
        response = super().send(request, stream=True, **kwargs)
        if wants_stream:
            return response
        limit = self.max_response_bytes
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
