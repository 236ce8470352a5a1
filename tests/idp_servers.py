"""The identity providers the tests use are the demo's own (seatkeeper_local.fakes: okta, entra, google)."""

from seatkeeper_local.fakes.entra import FakeEntra, fake_entra
from seatkeeper_local.fakes.google import FakeGoogle, fake_google
from seatkeeper_local.fakes.identity_provider import App, Assignment, Person
from seatkeeper_local.fakes.okta import FakeOkta, fake_okta

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
