"""The one module that sends HTTP requests to SaaS apps.

Every connection passes the network guard on the address it is really made to:
`GuardedAdapter` resolves the host once, checks every address it resolves to, and connects
to the one it checked, keeping the host name for the Host header, SNI and certificate
checks (the technique of requests-hardened's IPFilterAdapter, whose fixed policy cannot
express our allow list, nor refuse a host when *any* of its addresses is internal).
Redirects go through the adapter again, so each hop is checked. Response bodies are capped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from seatkeeper.errors import (
    AddressRefused,
    AddressUnresolvable,
    ResponseTooLarge,
    SaaSAuthenticationFailed,
    SaaSRequestFailed,
    SaaSUnavailable,
    UnreadableResponse,
)
from seatkeeper.network_guard import ALLOWED_SCHEMES, NetworkPolicy
from seatkeeper.profile import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    NoPagination,
    OAuth2AuthorizationCodeAuth,
    OffsetPagination,
    PagePagination,
    Profile,
)
from seatkeeper.user_records import SaaSUser, UnreadableRecord, read_page

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


# --- the SaaS client ---------------------------------------------------------------------


class SaaSClient:
    """Requests to one SaaS app as its profile describes: auth, base URL, headers, errors.

    `credential` holds the values from the vault; `access_token` gives a current OAuth
    access token (refreshing it when needed) for OAuth profiles.
    """

    def __init__(
        self,
        profile: Profile,
        credential: dict[str, Any],
        *,
        policy: NetworkPolicy,
        access_token: Callable[[], str] | None = None,
        session: GuardedSession | None = None,
    ) -> None:
        self.profile = profile
        self.credential = credential
        self.access_token = access_token
        self.session = session or GuardedSession(policy)

    def url(self, path: str) -> str:
        return self.profile.base_url.rstrip("/") + path

    def _authorize(self, headers: dict[str, str], params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        auth = self.profile.auth
        if isinstance(auth, ApiKeyAuth):
            value = auth.prefix + self.credential["api_key"]
            if auth.location == "header":
                headers[auth.name] = value
            else:
                params = {**params, auth.name: value}
        elif isinstance(auth, BasicAuth):
            return (self.credential["username"], self.credential["api_key"]), params
        elif isinstance(auth, BearerAuth):
            headers[auth.header] = f"{auth.scheme} {self.credential['token']}".strip()
        elif isinstance(auth, OAuth2AuthorizationCodeAuth):
            if self.access_token is None:
                raise SaaSAuthenticationFailed("the connection has no access token yet")
            headers["Authorization"] = f"Bearer {self.access_token()}"
        return None, params

    def send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """One request with the profile's auth; SaaS* errors for answers that are not 2xx."""
        all_headers = {"Accept": "application/json", **self.profile.headers, **(headers or {})}
        basic, all_params = self._authorize(all_headers, dict(params or {}))
        try:
            response = self.session.request(
                method, url, params=all_params, json=body, headers=all_headers, auth=basic, allow_redirects=True
            )
        except requests.Timeout as exc:
            raise SaaSUnavailable(f"{urlsplit(url).hostname} did not answer in time") from exc
        except requests.ConnectionError as exc:
            raise SaaSUnavailable(f"cannot connect to {urlsplit(url).hostname}") from exc
        except requests.RequestException as exc:
            raise SaaSRequestFailed(f"the request to {urlsplit(url).hostname} failed: {type(exc).__name__}") from exc
        status = response.status_code
        if status in (401, 403):
            raise SaaSAuthenticationFailed(
                f"{urlsplit(url).hostname} answered {status} to {method} {urlsplit(url).path}"
            )
        if status == 429 or status >= 500:
            raise SaaSUnavailable(f"{urlsplit(url).hostname} answered {status}")
        if status >= 400:
            raise SaaSRequestFailed(f"{urlsplit(url).hostname} answered {status} to {method} {urlsplit(url).path}")
        return response

    def json(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type").split(";")[0]
            raise UnreadableResponse(f"the app answered {kind}, not JSON") from None

    def first_page_of_users(self) -> list[SaaSUser]:
        """The users on the first page of the users endpoint: what a connection test asks for."""
        users = self.profile.users
        params: dict[str, Any] = dict(users.params)
        pagination = users.pagination
        if isinstance(pagination, OffsetPagination):
            params |= {pagination.offset_param: pagination.first_offset, pagination.limit_param: pagination.page_size}
        elif isinstance(pagination, PagePagination):
            params |= {pagination.page_param: pagination.first_page, pagination.size_param: pagination.page_size}
        elif not isinstance(pagination, NoPagination) and pagination.limit_param:
            params[pagination.limit_param] = pagination.page_size
        body = self.json(self.send(users.method, self.url(users.path), params=params))
        try:
            return read_page(users, body)
        except UnreadableRecord as exc:
            raise UnreadableResponse(str(exc)) from None


class GuardedTokenEndpoint:
    """OAuth token requests through the guarded session (the token URL comes from a profile too)."""

    def __init__(self, policy: NetworkPolicy) -> None:
        self.session = GuardedSession(policy)

    def post(self, url: str, *, data: dict[str, str], auth: tuple[str, str] | None) -> tuple[int, dict[str, Any]]:
        try:
            response = self.session.post(
                url, data=data, auth=auth, headers={"Accept": "application/json"}, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise SaaSUnavailable(f"cannot reach the token endpoint at {urlsplit(url).hostname}") from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        return response.status_code, body if isinstance(body, dict) else {}
