"""API lifecycle: each template names the vendor API version it follows and, where the vendor
announced one, the sunset of its reclaim request; the daily reconciliation puts `Template
Deprecated` once, 90 days before it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from seatkeeper.licensing import reconciliation
from seatkeeper.notify.events import DETAIL_TYPES
from seatkeeper.profiles import catalog
from seatkeeper.profiles.catalog import SUNSET_WARNING, build_profile, deprecation, templates
from seatkeeper.profiles.records import ProfileRecord
from tests.unit.test_reconciliation import position

# Atlassian's admin changelog: "The following v1 APIs will stop working after June 30, 2026" —
# the sunset the atlassian template's former suspend-access request had.
SUNSET = date(2026, 6, 30)
OPENS = datetime(2026, 4, 1, tzinfo=UTC)  # 90 days before


def sunsetting():
    return templates()["atlassian"].model_copy(update={"sunset": SUNSET})


@pytest.mark.parametrize("name", sorted(templates()))
def test_every_template_names_the_vendor_api_version_it_follows(name):
    assert templates()[name].api_version.strip()


def test_no_template_reclaims_with_a_request_whose_sunset_has_passed():
    today = datetime.now(UTC).date()
    assert [n for n, t in templates().items() if t.sunset and t.sunset < today] == []


def test_the_warning_opens_90_days_before_the_sunset_and_is_given_once():
    template = sunsetting()
    assert OPENS.date() == SUNSET - SUNSET_WARNING
    # Given daily reconciliations before and into the window
    day_before = deprecation(
        template, now=datetime(2026, 3, 31, 2, tzinfo=UTC), since=datetime(2026, 3, 30, tzinfo=UTC)
    )
    first = deprecation(template, now=datetime(2026, 4, 1, 2, tzinfo=UTC), since=datetime(2026, 3, 31, 2, tzinfo=UTC))
    next_day = deprecation(template, now=datetime(2026, 4, 2, 2, tzinfo=UTC), since=datetime(2026, 4, 1, 2, tzinfo=UTC))
    new_profile = deprecation(template, now=datetime(2026, 5, 1, tzinfo=UTC), since=None)
    # Then only the first inside the window warns, and a profile reconciled for the first time inside it
    assert day_before is None and next_day is None
    assert first == {
        "template": "atlassian",
        "api_version": template.api_version,
        "sunset": "2026-06-30",
        "days_left": 90,
        "reclaim": "POST /v2/orgs/<org-id>/directories/<directory-id>/users/{id}/suspend",
    }
    assert new_profile is not None and new_profile["days_left"] == 60
    # And a template without an announced sunset never warns
    assert deprecation(templates()["okta"], now=OPENS, since=None) is None


class Heard:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []

    def put(self, detail_type: str, detail: dict) -> None:
        assert detail_type in DETAIL_TYPES
        self.events.append((detail_type, detail))


def test_the_reconciliation_puts_template_deprecated_for_a_profile_from_that_template(monkeypatch):
    # Given a profile made from a template whose reclaim request the vendor will stop
    own = {"name": "Atlassian", "template": "atlassian", "subscription": {"licenses_purchased": 5}}
    own |= {"users": {"path": "/v1/orgs/o/users"}, "reclaim": {"path": "/v2/orgs/o/directories/d/users/{id}/suspend"}}
    record = ProfileRecord(id="prf_1", own=own, profile=build_profile(own), created_at=OPENS, updated_at=OPENS)
    monkeypatch.setattr(catalog, "templates", lambda: {"atlassian": sunsetting()})
    heard = Heard()
    # When the first reconciliation inside the window records its position, and the next one
    reconciliation._warn_when_template_deprecated(
        record, position("prf_1", assigned=3, stale=1, at=datetime(2026, 3, 31, tzinfo=UTC)), OPENS, heard
    )
    reconciliation._warn_when_template_deprecated(
        record, position("prf_1", assigned=3, stale=1, at=OPENS), datetime(2026, 4, 2, tzinfo=UTC), heard
    )
    # Then `Template Deprecated` was put once, naming the profile and the sunset
    assert [(t, d["profile_id"], d["sunset"], d["days_left"]) for t, d in heard.events] == [
        ("Template Deprecated", "prf_1", "2026-06-30", 90)
    ]
