"""Every sample event in events/ runs through its function, as `seatkeeper invoke` and `sam local invoke` would.

The events name a profile that does not exist (prf_5eed...a1), so that each gives a known answer on any stack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from seatkeeper.aws.dynamodb.profiles import DynamoDBProfiles
from seatkeeper_local.stack.functions import FunctionError

# event file -> (function, HTTP status or the error type the function raises)
EXPECTED = {
    "api_health.json": ("ApiFunction", 200),
    "api_dashboard.json": ("ApiFunction", 200),
    "api_list_reclamations_awaiting_approval.json": ("ApiFunction", 200),
    "api_list_templates.json": ("ApiFunction", 200),
    "api_create_profile.json": ("ApiFunction", 201),
    "api_create_profile_invalid.json": ("ApiFunction", 422),
    "api_create_profile_as_viewer.json": ("ApiFunction", 403),
    "api_list_profiles.json": ("ApiFunction", 200),
    "api_connect_profile.json": ("ApiFunction", 404),
    "api_get_connection.json": ("ApiFunction", 404),
    "api_oauth_callback_unknown_state.json": ("ApiFunction", 400),
    "connection_begin_grant.json": ("BeginGrantFunction", "ProfileNotFound"),
    "connection_test_connection.json": ("TestConnectionFunction", "ProfileNotFound"),
    "api_start_sync.json": ("ApiFunction", 404),
    "api_get_run.json": ("ApiFunction", 404),
    "api_list_stale_users.json": ("ApiFunction", 404),
    "sync_fetch_users.json": ("FetchUsersFunction", "ProfileNotFound"),
    "sync_fetch_users_express.json": ("FetchUsersFunction", "ProfileNotFound"),
    "sync_commit_snapshot.json": ("CommitSnapshotFunction", "ProfileNotFound"),
    "api_start_reconciliation_unknown_profile.json": ("ApiFunction", 422),
    "api_get_reconciliation.json": ("ApiFunction", 404),
    "api_get_position.json": ("ApiFunction", 404),
    "api_analytics_overview.json": ("ApiFunction", 200),
    "api_list_renewals.json": ("ApiFunction", 200),
    "api_keep_link_forged.json": ("ApiFunction", 404),
    # No Slack secret on a fresh stack: Slack is not set up, whatever the click's signature.
    "api_slack_interaction_forged.json": ("ApiFunction", 404),
    "reconcile_choose_profiles.json": ("ChooseProfilesFunction", "ReconciliationNotFound"),
    "reconcile_start_sync_run.json": ("StartSyncRunFunction", "ProfileNotFound"),
    "reconcile_check_sync_run.json": ("CheckSyncRunFunction", "RunNotFound"),
    "reconcile_record_position.json": ("RecordPositionFunction", "ProfileNotFound"),
    "reconcile_finish.json": ("FinishReconciliationFunction", "ReconciliationNotFound"),
    "reconcile_record_failure.json": ("RecordReconciliationFailureFunction", "ReconciliationNotFound"),
    "api_plan_reclamation.json": ("ApiFunction", 404),
    "api_approve_reclamation_as_integrator.json": ("ApiFunction", 403),
    "api_approve_reclamation.json": ("ApiFunction", 404),
    "reclaim_seats.json": ("ReclaimSeatsFunction", "ReclamationNotFound"),
    "reclaim_announce_seats.json": ("AnnounceSeatsFunction", "ReclamationNotFound"),
    "reclaim_end_grace_period.json": ("EndGracePeriodFunction", "ReclamationNotFound"),
    "reclaim_record_failure.json": ("RecordReclamationFailureFunction", "ReclamationNotFound"),
    "ended_run_aborted.json": ("RecordEndedRunFunction", "ReclamationNotFound"),
    "notify_keep_prompt.json": ("NotifyFunction", "ReclamationNotFound"),
    # Its response URL is CloudFormation's; here nothing listens there, and the function says so.
    "dashboard_sign_in_delete.json": ("DashboardSignInFunction", "ResponseNotDelivered"),
}


def test_every_sample_event_has_an_expectation_and_every_function_an_event(root, stack):
    assert {p.name for p in (root / "events").glob("*.json")} == set(EXPECTED)
    assert {function for function, _ in EXPECTED.values()} == set(stack.functions.specs)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_sample_event_gives_the_expected_answer(stack, root, name):
    function, expected = EXPECTED[name]
    event = json.loads((root / "events" / name).read_text())
    if isinstance(expected, str):
        with pytest.raises(FunctionError) as raised:
            stack.functions.invoke(function, event)
        assert raised.value.error_type == expected
        return
    if expected == 201:  # a profile of the event's name may exist from another test: the event must hold anyway
        profiles = DynamoDBProfiles(stack.template.physical_name("Table"))
        records, _ = profiles.page(1000, None)
        for record in records:
            if record.profile.name == json.loads(event["body"])["name"]:
                profiles.delete(record.id)
    answer = stack.functions.invoke(function, event)
    assert answer["statusCode"] == expected, answer
    if answer["headers"].get("Content-Type", "").startswith("application/json"):
        body = json.loads(answer["body"])
        if answer["statusCode"] == 201:  # leave the shared stack as it was, so that the event can run again
            DynamoDBProfiles(stack.template.physical_name("Table")).delete(body["id"])


def test_seatkeeper_invoke_runs_one_function_with_a_sample_event(root):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "seatkeeper_local.cli",
            "invoke",
            "ApiFunction",
            "--event",
            "events/api_create_profile.json",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": f"{root}/local:{root}/layers/seatkeeper"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "in-memory stack of its own" in done.stderr.splitlines()[0]  # not the `seatkeeper local` you may run
    answer = json.loads(done.stdout)
    assert answer["statusCode"] == 201
    assert json.loads(answer["body"])["name"] == "Acme HR"
