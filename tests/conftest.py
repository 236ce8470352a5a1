"""Fixtures shared by every layer of tests: the local stack and API clients per role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from seatkeeper_local.stack.local_stack import LocalStack, quiet_werkzeug
from seatkeeper_local.stack.tokens import mint

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture
def api_environment(root, monkeypatch):
    """api_environment(NAME="value", OTHER=None) sets (or, with None, removes) API function variables for one test.

    The function reads its environment once, at cold start; its settings are read again now and after the test.
    """
    monkeypatch.syspath_prepend(str(root / "functions" / "api"))
    from routes.settings import network_policy, settings

    def change(**variables: str | None) -> None:
        for name, value in variables.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        settings.cache_clear()
        network_policy.cache_clear()

    yield change
    monkeypatch.undo()
    settings.cache_clear()
    network_policy.cache_clear()


# The session's stack once it runs, so that a module's clean-up can reach it without starting one.
_RUNNING: list[LocalStack] = []


# A reconciliation's Express sync hands its run over to the Standard sync after this long fetching
# (the template says two minutes): a test app that answers slowly shows the hand-over in seconds.
EXPRESS_SYNC_FETCH_SECONDS = 3


class SuiteStack(LocalStack):
    def parameters(self) -> dict[str, str]:
        return {**super().parameters(), "ExpressSyncFetchSeconds": str(EXPRESS_SYNC_FETCH_SECONDS)}


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    """The whole local stack built from template.yaml, on free ports, once per test run."""
    quiet_werkzeug()
    with SuiteStack(ROOT / "template.yaml", port=0, aws_port=0, log_level="WARNING") as running:
        # Not one for `seatkeeper token` to find: with a stack per test worker, "the newest stack" that
        # the CLI tests start would otherwise depend on when another worker's session began.
        running.state_file.unlink()
        _RUNNING.append(running)
        yield running
        _RUNNING.clear()


def forget_every_profile(stack: LocalStack) -> None:
    """Delete every profile through the API, as an admin would.

    A reconcile-all (the schedule, the fuzz, a POST without a body) syncs every connected profile:
    the ones earlier tests left, whose apps are long gone, would each retry for seconds, and the
    session's stack would keep their users in memory to the end.

    An identity provider answers 409 while profiles still read from it: it goes in a later round.
    """
    admin = Api(stack.url, mint(stack.jwt_secret, "admin"))
    while ids := every_profile_id(admin):
        answers = [admin.delete(f"/profiles/{profile_id}").status_code for profile_id in ids]
        assert set(answers) <= {204, 409} and 204 in answers, answers


def every_profile_id(client: Api) -> list[str]:
    ids, cursor = [], None
    while True:
        page = client.get("/profiles", params={"limit": 100, **({"cursor": cursor} if cursor else {})}).json()
        ids += [profile["id"] for profile in page["items"]]
        if not (cursor := page["next_cursor"]):
            return ids


@pytest.fixture(autouse=True, scope="module")
def _each_module_leaves_no_profile() -> Iterator[None]:
    """Each module starts from the profiles it makes itself: no test leans on another module's."""
    yield
    if _RUNNING:
        forget_every_profile(_RUNNING[0])


class Api(requests.Session):
    """A client of the local HTTP API that prefixes the stack's URL."""

    def __init__(self, base_url: str, token: str | None) -> None:
        super().__init__()
        self.base_url = base_url
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", 30)
        return super().request(method, self.base_url + url, *args, **kwargs)


@pytest.fixture(scope="session")
def api(stack: LocalStack):
    """api("admin") is a client with an admin token; api(None) sends none."""

    def client(role: str | None, subject: str | None = None) -> Api:
        return Api(stack.url, mint(stack.jwt_secret, role, subject=subject) if role else None)

    return client
