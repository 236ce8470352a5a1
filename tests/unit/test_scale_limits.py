"""The most profiles one reconciliation takes on, against the limits of DynamoDB and Step Functions."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from seatkeeper.aws.dynamodb.reconciliations import DynamoDBReconciliations
from seatkeeper.licensing import reconciliation
from seatkeeper.licensing.position import compute_position
from seatkeeper.licensing.reconciliation import MAX_PROFILES, ReconciliationRequest, finish, new_reconciliation
from seatkeeper.profiles.catalog import build_profile
from seatkeeper.saas.records import SaaSUser

ROOT = Path(__file__).resolve().parents[2]
PAYLOAD_LIMIT = 256 * 1024  # Step Functions: input and output of a state, and the execution's
ITEM_LIMIT = 400 * 1024  # DynamoDB: one item, names and values
HISTORY_LIMIT = 25_000  # Step Functions Standard: events of one execution


def item_bytes(item: dict) -> int:
    """As DynamoDB sizes an item: each attribute's name and its value's bytes."""
    return sum(len(name.encode()) + len(next(iter(value.values()))) for name, value in item.items())


def reconcile_all() -> dict:
    text = (ROOT / "statemachines" / "reconcile_all.asl.json").read_text()
    return json.loads(re.sub(r"\$\{\w+\}", "1", text))


def realistic_position(number: int):
    profile = build_profile(
        {
            "name": f"An application with a long enough name {number:04d}",
            "template": "scim2",
            "base_url": "https://acme.example.com/scim/v2",
            "subscription": {"licenses_purchased": 2000, "cost_per_license": 12.5},
        }
    )
    users = [SaaSUser(id="u1", email=None, name=None, active=True, last_activity=None, created_at=None, role=None)]
    return compute_position(
        f"prf_{number:020d}", profile, iter(users), now=datetime.now(UTC), run_id=f"run_{number:020d}"
    )


def test_the_most_profiles_fit_the_payload_the_record_and_the_history():
    # Given a reconciliation of the most profiles it takes on, each of which succeeded
    positions = [realistic_position(n) for n in range(MAX_PROFILES)]
    machine = reconcile_all()
    iteration = machine["States"]["ReconcileEachProfile"]["ItemProcessor"]["States"]
    kept = iteration["RecordPosition"]["ResultSelector"]
    results = [
        {
            key.removesuffix(".$"): {"profile_id": p.profile_id, "status": "succeeded", "run_id": p.run_id}.get(
                key.removesuffix(".$"), "x" * 40
            )
            for key in kept
        }
        for p in positions
    ]

    # When the Map hands its results on, and the last step writes the record
    state = {
        "reconciliation_id": "rec_" + "0" * 20,
        "profiles": [{"profile_id": p.profile_id} for p in positions],
        "results": results,
    }
    record = finish(new_reconciliation(None, requested_by="schedule", exists=lambda _: True), results, positions)

    # Then the state machine's payload carries no position and stays under 256 KB
    assert "position.$" not in kept
    assert len(json.dumps(state).encode()) < PAYLOAD_LIMIT
    # And the record, with every profile's position, is one DynamoDB item under 400 KB, with room for
    # positions larger than these (a downgrade app's tiers, longer names): its JSON alone would be 95%.
    assert all(r.position is not None for r in record.results)
    item = DynamoDBReconciliations._reconciliation_item(record)
    assert item_bytes(item) < ITEM_LIMIT / 4
    assert len(record.model_dump_json().encode()) > 0.9 * ITEM_LIMIT  # why it is gzipped
    # And the execution's history holds every profile, each of its two steps tried three times: the
    # sync tells the step that waits for it how it ended (no polls, whatever the sync's length)
    task_events, iteration_events = 5, 2  # entered/scheduled/started/succeeded/exited; iteration started/succeeded
    callback_events = task_events + 1  # also "submitted": the function started the sync, the step waits
    retry_events = 3  # scheduled/started/failed
    per_profile = callback_events + task_events + iteration_events + 2 * 2 * retry_events
    overhead = 2 + 2 * task_events + 4
    assert set(iteration) - {"ReadSyncFailure", "SyncFailed", "DescribeProfileFailure", "ProfileFailed"} == {
        "OpenSyncRun",
        "RecordPosition",
    }
    assert iteration["OpenSyncRun"]["Resource"].endswith("lambda:invoke.waitForTaskToken")
    assert overhead + MAX_PROFILES * per_profile < HISTORY_LIMIT


def test_more_profiles_than_one_reconciliation_takes_are_refused_up_front():
    # Given a request naming one profile more than a reconciliation takes on
    too_many = [f"prf_{n:020d}" for n in range(MAX_PROFILES + 1)]

    # When it is read, Then it is refused as bad input, naming the field
    try:
        ReconciliationRequest.model_validate({"profile_ids": too_many})
    except ValueError as exc:
        assert "profile_ids" in str(exc)
    else:
        raise AssertionError("a request over the limit was accepted")
    assert issubclass(reconciliation.ReconciliationTooLarge, Exception)
