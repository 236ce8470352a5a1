"""The demo's SaaS app: scim2-server (a third-party SCIM 2.0 server from PyPI), run locally with seeded users."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from seatkeeper_local.ports import free_port


@dataclass
class ScimServer:
    url: str
    token: str
    process: subprocess.Popen[bytes]

    def add_users(self, users: list[dict[str, Any]]) -> list[str]:
        ids = []
        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {self.token}", "Content-Type": "application/scim+json"})
        for user in users:
            body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], **user}
            answer = session.post(f"{self.url}/Users", data=json.dumps(body), timeout=10)
            answer.raise_for_status()
            ids.append(answer.json()["id"])
        return ids


@contextmanager
def scim_server(
    token: str = "scim-test-token-5f0e",  # noqa: S107 - a local demo token
    *,
    service_provider_config: dict[str, Any] | None = None,
) -> Iterator[ScimServer]:
    """scim2-server on a free port, with a static bearer token (and the ServiceProviderConfig given, if one is:
    its filter.maxResults caps the pages, as a provider may)."""
    port = free_port()
    executable = shutil.which("scim2-server", path=str(Path(sys.executable).parent)) or "scim2-server"
    arguments = [executable, "--hostname", "127.0.0.1", "--port", str(port), "--bearer-token", token]
    config = None
    if service_provider_config is not None:
        config = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)  # noqa: SIM115 - removed below
        with config:
            json.dump(service_provider_config, config)
        arguments += ["--service-provider-config", config.name]
    process = subprocess.Popen(  # noqa: S603 - our own arguments, no shell
        arguments,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if (
                    requests.get(
                        f"{url}/ServiceProviderConfig", headers={"Authorization": f"Bearer {token}"}, timeout=1
                    ).status_code
                    == 200
                ):
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("scim2-server did not start")
            time.sleep(0.1)
        yield ScimServer(url, token, process)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if config is not None:
            Path(config.name).unlink(missing_ok=True)


def scim_user(i: int, **extra: Any) -> dict[str, Any]:
    """A SCIM user the demo and the tests seed."""
    return {
        "userName": f"user{i}@example.com",
        "displayName": f"User {i}",
        "emails": [{"value": f"user{i}@example.com", "primary": True}],
        "active": True,
        **extra,
    }
