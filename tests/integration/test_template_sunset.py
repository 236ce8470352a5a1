"""A template's announced sunset, end to end through the local stack (issue 25, API lifecycle).

No vendor of the catalog announces today a sunset of a request a template still uses (docs/catalog.md
and tests/unit/test_template_lifecycle.py: Atlassian's v1 suspend-access, the one found, is replaced),
so the test gives one template, in the catalog the stack reads, a sunset 60 days from today: the daily
reconciliation puts `Template Deprecated` once, and the template the add-application view reads
carries the sunset it warns of (functions/api/dashboard/app.js, sunsetWarning).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from seatkeeper.profiles.catalog import templates
from tests.integration.connection_checks import wait_for
from tests.integration.test_announcements import listener  # noqa: F401 (a fixture)
from tests.integration.test_reconciliation import wait_for_reconciliation
from tests.integration.test_template_contracts import start_connection
from tests.vendor_fakes import vendor_app

DAYS_LEFT = 60  # inside the 90 days' warning


@pytest.fixture
def sunsetting(monkeypatch):
    """The scim2 template with a sunset DAYS_LEFT days away, in the catalog every handler reads."""
    sunset = datetime.now(UTC).date() + timedelta(days=DAYS_LEFT)
    # The catalog is read once and kept (functools.cache): the handlers in-process read this same one.
    monkeypatch.setitem(templates(), "scim2", templates()["scim2"].model_copy(update={"sunset": sunset}))
    return sunset


def test_a_sunset_within_90_days_is_announced_once_by_the_daily_reconciliation(api, listener, sunsetting):  # noqa: F811
    integrator = api("sam_integrator")
    with vendor_app("scim2", 20) as app:
        # Given a connected profile made from a template whose reclaim request the vendor will stop
        profile = start_connection(integrator, "scim2", app)
        try:
            assert wait_for(integrator, profile["id"], {"connected", "failed"})["status"] == "connected"
            # When it is reconciled, and reconciled again the next time
            for _ in range(2):
                answer = integrator.post("/reconciliations", json={"profile_ids": [profile["id"]]})
                assert answer.status_code == 202, answer.text
                assert wait_for_reconciliation(integrator, answer.json()["id"])["status"] == "completed"
        finally:
            integrator.delete(f"/profiles/{profile['id']}")

    # Then `Template Deprecated` was put once, naming the profile, the sunset and the request it stops
    deprecated = [
        e["detail"]
        for e in listener()
        if e["detail-type"] == "Template Deprecated" and e["detail"].get("profile_id") == profile["id"]
    ]
    assert len(deprecated) == 1, deprecated
    notice = deprecated[0]
    assert (notice["template"], notice["sunset"], notice["days_left"]) == ("scim2", sunsetting.isoformat(), DAYS_LEFT)
    assert notice["reclaim"] == "PATCH /Users/{id}" and notice["api_version"] == templates()["scim2"].api_version

    # And the template the add-application view reads says when its reclaim request stops working
    shown = api("sam_viewer").get("/templates/scim2")
    assert shown.status_code == 200 and shown.json()["sunset"] == sunsetting.isoformat()
