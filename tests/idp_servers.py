"""The identity providers the tests use are the demo's own (seatkeeper_local.demo_idp)."""

from seatkeeper_local.demo_idp import App, Assignment, FakeEntra, FakeOkta, Person, fake_entra, fake_okta

__all__ = ["App", "Assignment", "FakeEntra", "FakeOkta", "Person", "fake_entra", "fake_okta"]
