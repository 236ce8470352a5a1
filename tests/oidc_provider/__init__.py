"""The certified npm `oidc-provider` (panva/node-oidc-provider) under Node, for OAuth tests that need
a provider as strict as the real ones: PKCE enforced, RFC 6749 client authentication, RFC 9207 `iss`.

`make test` installs it (`npm ci`); a missing Node or package is an error here, never a skip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

SERVER = Path(__file__).with_name("server.mjs")
ROOT = SERVER.parents[2]
# A secret as some providers issue them: every character that Basic authentication must form-encode.
ODD_CLIENT_SECRET = "sk+odd/secret%21="


@dataclass
class OidcProvider:
    issuer: str

    @property
    def authorize_url(self) -> str:
        return f"{self.issuer}/auth"

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/token"

    @property
    def userinfo_url(self) -> str:
        return f"{self.issuer}/me"


@contextmanager
def oidc_provider(clients: list[dict[str, Any]], *, access_token_seconds: int = 3600) -> Iterator[OidcProvider]:
    """oidc-provider with these registered clients, on a free port of 127.0.0.1, stopped afterwards."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("the OAuth tests need Node.js on the PATH (make test installs what they need)")
    if not (ROOT / "node_modules" / "oidc-provider" / "package.json").exists():
        raise RuntimeError(f"oidc-provider is not installed: run `npm ci` in {ROOT} (make test does)")
    settings = json.dumps({"clients": clients, "access_token_seconds": access_token_seconds})
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [node, str(SERVER), settings], cwd=ROOT, stdout=subprocess.PIPE, stderr=errors, text=True
        )
        try:
            line = process.stdout.readline() if process.stdout else ""
            if not line:
                process.wait(timeout=10)
                errors.seek(0)
                raise RuntimeError(f"oidc-provider did not start: {errors.read().decode(errors='replace')[-2000:]}")
            yield OidcProvider(json.loads(line)["issuer"])
        finally:
            process.terminate()
            process.wait(timeout=10)


def sign_in_and_consent(authorize_url: str, redirect_uri: str, *, login: str = "alice@acme.example.com") -> str:
    """Do what the person does at the provider (its development login and consent forms); the
    redirect back to the client, with its code, state and iss."""
    browser = requests.Session()
    answer = browser.get(authorize_url, allow_redirects=False, timeout=10)
    for _ in range(20):
        if answer.is_redirect:
            location = urljoin(answer.url, answer.headers["Location"])
            if location.startswith(redirect_uri):
                return location
            answer = browser.get(location, allow_redirects=False, timeout=10)
            continue
        assert answer.status_code == 200, answer.text
        # Each form posts back to where it was shown: the login (any name will do), then the consent.
        if 'name="login"' in answer.text:
            form = {"prompt": "login", "login": login, "password": "any"}
        else:
            form = {"prompt": "consent"}
        answer = browser.post(answer.url, data=form, allow_redirects=False, timeout=10)
    raise AssertionError("the provider never sent the person back to the client")
