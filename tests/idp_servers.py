"""The identity providers the tests use are the demo's own (seatkeeper_local.demo_idp)."""

from seatkeeper_local.demo_idp import (
    App,
    Assignment,
    FakeEntra,
    FakeGoogle,
    FakeOkta,
    Person,
    fake_entra,
    fake_google,
    fake_okta,
)

__all__ = [
    "App",
    "Assignment",
    "FakeEntra",
    "FakeGoogle",
    "FakeOkta",
    "Person",
    "fake_entra",
    "fake_google",
    "fake_okta",
]
