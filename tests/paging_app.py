"""The paging SaaS app the tests use is the demo's own (seatkeeper_local.fakes.paging_app)."""

from seatkeeper_local.fakes.paging_app import PagingApp, make_user, paging_app, profile_fields

__all__ = ["PagingApp", "make_user", "paging_app", "profile_fields"]
