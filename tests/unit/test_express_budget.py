"""When reconcile-all's Express sync hands its run over to the Standard sync (seatkeeper.sync.ExpressBudget)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from seatkeeper.sync.runs import (
    EXPRESS_COMMIT_USERS,
    STANDARD_FETCH_TIMEOUT_SECONDS,
    ExpressBudget,
    ExpressRun,
    SyncRun,
    sync_input,
)

STANDARD = "arn:aws:states:us-east-1:123456789012:stateMachine:SyncUsersStateMachine"


def budget(started_seconds_ago: float, fetch_seconds: int = 120) -> ExpressBudget | None:
    started = datetime.now(UTC) - timedelta(seconds=started_seconds_ago)
    step = {
        "express": ExpressRun(hand_over_to=STANDARD, fetch_seconds=fetch_seconds).as_input(),
        # As Step Functions writes $$.Execution.StartTime.
        "execution_started_at": started.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
    }
    return ExpressBudget.of(step)


def test_the_standard_sync_has_no_budget():
    assert ExpressBudget.of({"express": None, "execution_started_at": "2026-11-29T02:00:00.000Z"}) is None


def test_a_run_done_in_time_and_small_enough_commits_in_the_express_execution():
    express = budget(started_seconds_ago=10)
    assert express is not None and not express.out_of_time()
    assert not express.hands_over(done=True, users_fetched=EXPRESS_COMMIT_USERS)


def test_a_run_with_more_to_fetch_is_handed_over():
    express = budget(started_seconds_ago=121)
    assert express is not None and express.out_of_time()
    assert express.hands_over(done=False, users_fetched=10)


def test_a_commit_too_large_for_the_express_execution_is_handed_over_even_in_time():
    express = budget(started_seconds_ago=1)
    assert express is not None
    assert express.hands_over(done=True, users_fetched=EXPRESS_COMMIT_USERS + 1)


def test_a_commit_that_would_start_after_the_budget_is_handed_over():
    express = budget(started_seconds_ago=30, fetch_seconds=20)
    assert express is not None and express.hands_over(done=True, users_fetched=5)


def test_the_sync_input_says_which_workflow_runs_it():
    run = SyncRun(run_id="run_1", profile_id="prf_1", status="running", started_at="2026-11-29T02:00:00+00:00")
    standard = sync_input(run)
    assert standard["express"] is None and standard["fetch"] == {"checkpoint": None, "done": False, "hand_over": False}
    express = sync_input(run, "token", ExpressRun(hand_over_to=STANDARD, fetch_seconds=60))
    assert express["express"] == {"hand_over_to": STANDARD, "fetch_seconds": 60} and express["task_token"] == "token"


def test_a_handed_over_run_gets_the_standard_syncs_fetch_timeout(root):
    text = (root / "statemachines" / "sync_users.asl.json").read_text()
    definition = json.loads(re.sub(r"\$\{\w+\}", "0", text))  # its substitutions, as any number
    handed_over = definition["States"]["HandOverToStandard"]["Parameters"]["Input"]
    assert handed_over["fetch_timeout_seconds"] == STANDARD_FETCH_TIMEOUT_SECONDS
    assert definition["States"]["FetchUsers"]["TimeoutSecondsPath"] == "$.fetch_timeout_seconds"
