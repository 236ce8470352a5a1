"""Reconcile-all's syncs run as Express executions, and hand a run they cannot finish in time over to
the Standard sync (README: "Which workflow type, where"). Both state machines run on moto's engine
from template.yaml; the suite's stack gives the Express sync 3 s of fetching (tests/conftest.py)."""

from __future__ import annotations

import json

import boto3

from tests.conftest import EXPRESS_SYNC_FETCH_SECONDS
from tests.integration.test_reconciliation import connected, expected_figures, wait_for_reconciliation
from tests.integration.test_stuck_runs import execution, execution_arn
from tests.paging_app import paging_app, profile_fields


def no_execution(machine_env: str, run_id: str) -> bool:
    """Whether the state machine has no execution named after the run."""
    sfn = boto3.client("stepfunctions")
    try:
        sfn.describe_execution(executionArn=execution_arn(machine_env, run_id))
    except sfn.exceptions.ExecutionDoesNotExist:
        return True
    return False


def states_entered(execution: dict) -> list[str]:
    events = boto3.client("stepfunctions").get_execution_history(executionArn=execution["executionArn"])["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def reconciled(client, profile: dict) -> dict:
    answer = client.post("/reconciliations", json={"profile_ids": [profile["id"]]})
    assert answer.status_code == 202, answer.text
    record = wait_for_reconciliation(client, answer.json()["id"])
    [result] = record["results"]
    return result


def test_a_reconciliation_syncs_a_small_app_in_the_express_workflow_alone(api):
    integrator = api("sam_integrator")
    with paging_app(250) as app:
        profile = connected(integrator, app)
        # When a reconciliation syncs an app that answers at once,
        result = reconciled(integrator, profile)

    # then its run went from fetch to commit in one Express execution, and no Standard one ran,
    assert result["status"] == "succeeded", result
    express = execution("SYNC_EXPRESS_STATE_MACHINE_ARN", result["run_id"])
    assert express["status"] == "SUCCEEDED"
    assert states_entered(express) == ["MoreToFetch", "FetchUsers", "MoreToFetch", "CommitSnapshot"]
    assert no_execution("SYNC_STATE_MACHINE_ARN", result["run_id"])
    # and what it stored is the whole app.
    run = integrator.get(f"/runs/{result['run_id']}").json()
    assert (run["status"], run["users_fetched"], run["items_written"]) == ("succeeded", 250, 250)
    assigned, stale = expected_figures(app.users)
    assert (result["position"]["assigned"], result["position"]["stale"]) == (assigned, stale)


def test_a_sync_that_outlasts_the_express_budget_goes_on_in_the_standard_sync(api):
    integrator = api("sam_integrator")
    with paging_app(40) as app:
        # Given an app of four pages, one after the other, the first slower than the Express budget,
        fields = profile_fields(app, "cursor", page_size=10)
        profile = connected(integrator, app, "cursor", users=fields["users"])
        app.latency = EXPRESS_SYNC_FETCH_SECONDS + 0.5
        # when a reconciliation syncs it,
        result = reconciled(integrator, profile)

    # then the Express execution fetched until its budget ran out and handed the run over,
    assert result["status"] == "succeeded", result
    express = execution("SYNC_EXPRESS_STATE_MACHINE_ARN", result["run_id"])
    assert express["status"] == "SUCCEEDED"
    assert states_entered(express) == ["MoreToFetch", "FetchUsers", "MoreToFetch", "HandOverToStandard"]
    # the Standard execution of the same name went on from its checkpoint, committed, and told the
    # waiting reconciliation (which recorded the run's position),
    standard = execution("SYNC_STATE_MACHINE_ARN", result["run_id"])
    assert standard["status"] == "SUCCEEDED"
    given = json.loads(standard["input"])
    assert given["express"] is None and given["task_token"] and given["fetch"]["checkpoint"]["pages"] >= 1
    assert states_entered(standard)[-1] == "CommitSnapshot"
    # and every user was fetched once and stored.
    run = integrator.get(f"/runs/{result['run_id']}").json()
    assert (run["status"], run["users_fetched"], run["pages"], run["items_written"]) == ("succeeded", 40, 4, 40)
    assert result["position"]["assigned"] == expected_figures(app.users)[0]


def test_an_app_that_hangs_fails_the_run_within_the_express_execution(api):
    integrator = api("sam_integrator")
    with paging_app(20) as app:
        # Given an app whose first page takes longer than the Express budget twice over,
        profile = connected(integrator, app)
        app.latency = 2 * EXPRESS_SYNC_FETCH_SECONDS + 3
        # when a reconciliation syncs it,
        result = reconciled(integrator, profile)

    # then FetchUsers timed out inside the Express execution, whose own failure path failed the run
    # and told the reconciliation, long before the execution's five minutes (which would tell nobody).
    assert (
        result["status"] == "failed"
        and f"FetchUsers outlasted its {2 * EXPRESS_SYNC_FETCH_SECONDS} seconds" in result["error"]
    ), result
    express = execution("SYNC_EXPRESS_STATE_MACHINE_ARN", result["run_id"])
    assert express["status"] == "FAILED"
    assert "TellTheReconciliation" in states_entered(express)
    assert no_execution("SYNC_STATE_MACHINE_ARN", result["run_id"])
    run = integrator.get(f"/runs/{result['run_id']}").json()
    assert run["status"] == "failed" and "the app answers too slowly" in run["error"]
