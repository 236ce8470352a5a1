"""Nothing gets stuck: a reclamation or reconciliation whose run dies at its riskiest step ends in a
final status that says why, and the execution ends in a Fail state with a name a person understands.

Faults are injected where they would happen in AWS: a step's Lambda function raises (the local
stack's in-process dispatcher reports it as Lambda reports an unhandled error), or moto's DynamoDB,
which the local stack runs in this process, refuses the one write a step makes.
"""

from __future__ import annotations

import os
import uuid

import boto3
from moto.dynamodb.exceptions import MockValidationException
from moto.dynamodb.models import DynamoDBBackend

from seatkeeper_local.demo.client import wait_until
from seatkeeper_local.fakes.paging_app import profile_fields
from seatkeeper_local.stack.functions import FunctionError
from tests.conftest import EXPRESS_SYNC_FETCH_SECONDS
from tests.integration.test_connection_faults import refuse
from tests.integration.test_reclamation import reclaiming_profile
from tests.integration.test_reconciliation import connected
from tests.paging_app import paging_app

FINAL_RECLAMATION = {"completed", "partially_failed", "canceled"}


def break_function(monkeypatch, stack, function: str) -> list[dict]:
    """Make every invocation of the template's `function` fail as an unhandled error; the events it got."""
    received: list[dict] = []
    invoke = stack.functions.invoke

    def failing(name_or_arn, event):
        if stack.functions.resolve_name(name_or_arn) == function:
            received.append(event)
            raise FunctionError("InjectedFault", f"{function} died (injected)", [])
        return invoke(name_or_arn, event)

    monkeypatch.setattr(stack.functions, "invoke", failing)
    return received


def execution_arn(machine_env: str, name: str) -> str:
    """The ARN of the execution named `name` of the state machine whose ARN is in `machine_env`."""
    return os.environ[machine_env].replace(":stateMachine:", ":execution:") + f":{name}"


def execution(machine_env: str, name: str, timeout: float = 60) -> dict:
    """The execution named `name` of the state machine, once it has ended (or as it stands after `timeout`)."""
    sfn = boto3.client("stepfunctions")
    arn = execution_arn(machine_env, name)
    return wait_until(
        lambda: sfn.describe_execution(executionArn=arn), lambda e: e["status"] != "RUNNING", timeout=timeout
    )


def settled_reclamation(client, reclamation_id, timeout=60):
    return wait_until(
        lambda: client.get(f"/reclamations/{reclamation_id}").json(),
        lambda record: record["status"] in FINAL_RECLAMATION,
        timeout=timeout,
    )


def settled_reconciliation(client, reconciliation_id, timeout=60):
    return wait_until(
        lambda: client.get(f"/reconciliations/{reconciliation_id}").json(),
        lambda record: record["status"] != "running",
        timeout=timeout,
    )


# --- reclaim-licenses --------------------------------------------------------------------------


def test_a_reclamation_whose_grace_period_re_sync_dies_is_canceled_saying_why(api, stack, monkeypatch):
    integrator = api("sam_integrator")
    with paging_app(40) as app:
        profile = reclaiming_profile(integrator, app, grace_period="PT1S")
        # Given the step that follows the grace period's sync dies every time it is called,
        failed_calls = break_function(monkeypatch, stack, "CheckSyncRunFunction")

        # when a real run goes through its grace period,
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        ended = execution("RECLAIM_STATE_MACHINE_ARN", plan["id"])
        record = settled_reclamation(integrator, plan["id"])

    # then the reclamation is no longer in its grace period: canceled, nothing reclaimed, and it says why;
    assert failed_calls, "the fault was not reached"
    assert record["status"] == "canceled", record["status"]
    assert record["error"] == "InjectedFault" and "CheckSyncRunFunction died" in record["cause"]
    assert record["audit"][-1]["action"] == "failed" and "nothing was reclaimed" in record["audit"][-1]["detail"]
    assert record["outcomes"] == [] and record["finished_at"]
    assert app.reclaim_requests == []
    # and the execution ended in the named Fail state.
    assert (ended["status"], ended.get("error")) == ("FAILED", "ReclamationFailed")


def test_a_reclamation_that_dies_midway_keeps_each_outcome_written_and_says_why(api, stack, monkeypatch):
    integrator = api("sam_integrator")
    with paging_app(60) as app:
        profile = reclaiming_profile(integrator, app)
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={}).json()  # a dry run, to know them
        candidates = [c["id"] for c in plan["candidates"]]
        assert len(candidates) >= 4
        third = candidates[2]
        # Given the table refuses to keep the third user's outcome, after their request went out,
        refused = refuse(
            monkeypatch,
            "update_item",
            lambda key, kwargs: (
                key.get("pk", {}).get("S", "").startswith("RECLAMATION#")
                and key.get("sk", {}).get("S") == f"USER#{third}"
            ),
        )

        # when a real run reclaims,
        real = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        ended = execution("RECLAIM_STATE_MACHINE_ARN", real["id"])
        record = settled_reclamation(integrator, real["id"])

    # then it is partially failed: the two reclaimed users stay reclaimed as written, the third may have been,
    assert refused, "the fault was not reached"
    assert record["status"] == "partially_failed", record["status"]
    outcomes = {o["user_id"]: o["outcome"] for o in record["outcomes"]}
    assert outcomes == {candidates[0]: "reclaimed", candidates[1]: "reclaimed", third: "outcome_unknown"}
    assert record["reclaimed"] == 2 and record["savings"]["amount"] == 20.0
    assert sorted(r["user_id"] for r in app.reclaim_requests) == sorted(candidates[:3])  # nobody after the third
    # the record says why, without the stack trace,
    assert record["error"] == "ClientError" and "injected fault" in record["cause"]
    assert "Traceback" not in record["cause"] and record["audit"][-1]["action"] == "failed"
    # and the execution ended in the named Fail state.
    assert (ended["status"], ended.get("error")) == ("FAILED", "ReclamationFailed")


def test_a_reclamation_whose_final_write_fails_is_finished_from_its_action_records(api, stack, monkeypatch):
    integrator = api("sam_integrator")
    with paging_app(30) as app:
        profile = reclaiming_profile(integrator, app)
        # Given the table refuses the write that marks a reclamation completed (every request already went out),
        refused: list[str] = []
        original = DynamoDBBackend.transact_write_items

        def failing(self, transact_items):
            if any('"status":"completed"' in str(i.get("Put", {}).get("Item", {})) for i in transact_items):
                refused.append("completed")
                raise MockValidationException("injected fault")
            return original(self, transact_items)

        monkeypatch.setattr(DynamoDBBackend, "transact_write_items", failing)

        # when a real run reclaims,
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        ended = execution("RECLAIM_STATE_MACHINE_ARN", plan["id"])
        record = settled_reclamation(integrator, plan["id"])

    # then it is not left running: every outcome is the one written when its request went out,
    assert refused, "the fault was not reached"
    assert record["status"] == "partially_failed", record["status"]
    assert sorted(o["user_id"] for o in record["outcomes"]) == sorted(c["id"] for c in plan["candidates"])
    assert {o["outcome"] for o in record["outcomes"]} == {"reclaimed"}
    assert record["reclaimed"] == len(plan["candidates"]) == len(app.reclaim_requests)
    assert record["error"] == "ClientError" and "injected fault" in record["cause"]
    assert (ended["status"], ended.get("error")) == ("FAILED", "ReclamationFailed")


# --- reconcile-all -----------------------------------------------------------------------------


def test_a_reconciliation_whose_finish_dies_is_failed_keeping_each_profile_s_result(api, stack, monkeypatch):
    integrator = api("sam_integrator")
    with paging_app(50) as app:
        profile = connected(integrator, app)
        # Given the step that writes the reconciliation's result dies,
        failed_calls = break_function(monkeypatch, stack, "FinishReconciliationFunction")

        # when a reconciliation runs,
        started = integrator.post("/reconciliations", json={"profile_ids": [profile["id"]]}).json()
        ended = execution("RECONCILE_STATE_MACHINE_ARN", started["id"])
        record = settled_reconciliation(integrator, started["id"])

    # then it is failed, says why, and keeps what each profile's sync and position gave;
    assert failed_calls, "the fault was not reached"
    assert record["status"] == "failed"
    assert record["error"] == "InjectedFault" and "FinishReconciliationFunction died" in record["cause"]
    assert [(r["profile_id"], r["status"]) for r in record["results"]] == [(profile["id"], "succeeded")]
    assert record["finished_at"]
    # and the execution ended in the named Fail state.
    assert (ended["status"], ended.get("error")) == ("FAILED", "ReconciliationFailed")


def test_a_reconciliation_whose_first_step_dies_is_failed_saying_why(api, stack, monkeypatch):
    integrator = api("sam_integrator")
    with paging_app(20) as app:
        profile = connected(integrator, app)
        failed_calls = break_function(monkeypatch, stack, "ChooseProfilesFunction")

        started = integrator.post("/reconciliations", json={"profile_ids": [profile["id"]]}).json()
        ended = execution("RECONCILE_STATE_MACHINE_ARN", started["id"])
        record = settled_reconciliation(integrator, started["id"])

    assert failed_calls, "the fault was not reached"
    assert record["status"] == "failed" and record["results"] == []
    assert record["error"] == "InjectedFault" and "ChooseProfilesFunction died" in record["cause"]
    assert (ended["status"], ended.get("error")) == ("FAILED", "ReconciliationFailed")


def test_a_scheduled_reconciliation_that_dies_before_writing_its_record_fails_by_name_and_leaves_none(
    stack, monkeypatch
):
    # Given the first step dies, when the schedule starts reconcile-all (its input names no record),
    break_function(monkeypatch, stack, "ChooseProfilesFunction")
    name = f"scheduled-{uuid.uuid4().hex[:8]}"
    boto3.client("stepfunctions").start_execution(
        stateMachineArn=os.environ["RECONCILE_STATE_MACHINE_ARN"], name=name, input="{}"
    )
    ended = execution("RECONCILE_STATE_MACHINE_ARN", name)

    # then there is no record to mark (ChooseProfiles writes a scheduled one last), and the run fails by name.
    arn = execution_arn("RECONCILE_STATE_MACHINE_ARN", name)
    history = boto3.client("stepfunctions").get_execution_history(executionArn=arn)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert entered == ["ChooseProfiles", "HasReconciliationRecord", "ReconciliationFailed"]
    assert (ended["status"], ended.get("error")) == ("FAILED", "ReconciliationFailed")


# --- a nested sync that is stopped (or times out) says nothing: the runs that wait for it must not wait for ever ---


def handed_over_while_fetching(client, app) -> dict:
    """A connected profile whose reconciliation sync is still fetching in the Standard sync a few
    seconds after it starts (an Express execution can be neither stopped nor watched).

    Three pages, one after the other, each slower than the suite's Express budget: the Express sync
    hands the run over after its first page, and the Standard sync takes two more pages."""
    paged = profile_fields(app, "cursor", page_size=10)["users"]
    profile = connected(client, app, "cursor", users=paged)
    app.latency = EXPRESS_SYNC_FETCH_SECONDS + 1.0
    return profile


def stop_the_sync_of(profile_id: str, timeout: float = 30) -> str:
    """Stop the profile's running sync execution, as an operator or its timeout would; its run id."""
    sfn = boto3.client("stepfunctions")
    machine = os.environ["SYNC_STATE_MACHINE_ARN"]

    def running() -> list[dict]:
        found = sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"]
        return [e for e in found if profile_id in sfn.describe_execution(executionArn=e["executionArn"])["input"]]

    mine = wait_until(running, bool, timeout=timeout)
    assert mine, "the sync never started"
    sfn.stop_execution(executionArn=mine[0]["executionArn"], cause="stopped by a test")
    return mine[0]["name"]


def test_a_reconciliation_whose_profile_sync_is_stopped_reports_that_profile_failed(api, stack):
    integrator = api("sam_integrator")
    with paging_app(30) as app:
        profile = handed_over_while_fetching(integrator, app)
        # Given a reconciliation whose profile's sync execution is stopped while it fetches (no state of
        # the sync runs after that: nothing in it tells the reconciliation, which waits to be told),
        started = integrator.post("/reconciliations", json={"profile_ids": [profile["id"]]}).json()
        run_id = stop_the_sync_of(profile["id"])
        stopped = execution("SYNC_STATE_MACHINE_ARN", run_id)
        assert stopped["status"] == "ABORTED"
        assert integrator.get(f"/reconciliations/{started['id']}").json()["status"] == "running"

        # when the sync's status change reaches the function its EventBridge rule invokes,
        answer = stack.functions.invoke("RecordEndedRunFunction", status_change_event(stopped["executionArn"]))
        record = settled_reconciliation(integrator, started["id"])

    # then it does not wait for ever: that profile failed, saying so, and so did the sync run.
    assert answer == {"id": run_id, "status": "failed"}
    assert record["status"] == "failed", record
    [result] = record["results"]
    assert result["status"] == "failed" and "ended ABORTED before it recorded a result" in result["error"]
    assert result["run_id"] == run_id
    run = integrator.get(f"/runs/{run_id}").json()
    assert run["status"] == "failed" and "ABORTED" in run["error"]


def test_a_reclamation_whose_re_sync_is_stopped_is_canceled(api):
    integrator = api("sam_integrator")
    with paging_app(30) as app:
        profile = reclaiming_profile(integrator, app, grace_period="PT1S")
        app.latency = 2.0
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        stop_the_sync_of(profile["id"])

        record = settled_reclamation(integrator, plan["id"])

    assert record["status"] == "canceled", record["status"]
    assert "ended ABORTED" in record["audit"][-1]["detail"] and "nothing was reclaimed" in record["audit"][-1]["detail"]
    assert app.reclaim_requests == []


# --- what no Catch can take: the execution itself is stopped or times out ----------------------


def status_change_event(execution_arn: str, **known: str) -> dict:
    """The "Execution Status Change" event that Step Functions puts on EventBridge when an execution ends.

    moto sends none (and delivers no rule to a Lambda function), so the test builds it from
    DescribeExecution, in the shape AWS documents, and hands it to the function as the rule would.
    `known`: what moto does not keep (it drops StopExecution's cause, which AWS's event carries).
    """
    described = boto3.client("stepfunctions").describe_execution(executionArn=execution_arn)
    return {
        "version": "0",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "resources": [execution_arn],
        "detail": {
            "executionArn": execution_arn,
            "stateMachineArn": described["stateMachineArn"],
            "name": described["name"],
            "status": described["status"],
            "input": described["input"],
            "error": described.get("error"),
            "cause": described.get("cause"),
            **known,
        },
    }


def test_a_reclamation_whose_execution_is_stopped_in_its_grace_period_is_canceled_by_the_status_change(api, stack):
    integrator = api("sam_integrator")
    sfn = boto3.client("stepfunctions")
    with paging_app(30) as app:
        profile = reclaiming_profile(integrator, app, grace_period="PT1H")
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        waiting = wait_until(
            lambda: integrator.get(f"/reclamations/{plan['id']}").json(),
            lambda record: record["status"] == "in_grace_period",
            timeout=30,
        )
        assert waiting["status"] == "in_grace_period"
        # Given an operator stops the execution while it waits out the grace period (no Catch runs),
        arn = execution_arn("RECLAIM_STATE_MACHINE_ARN", plan["id"])
        sfn.stop_execution(executionArn=arn, cause="stopped by an operator")
        stopped = execution("RECLAIM_STATE_MACHINE_ARN", plan["id"])
        assert stopped["status"] == "ABORTED"
        assert integrator.get(f"/reclamations/{plan['id']}").json()["status"] == "in_grace_period"

        # when the status change reaches the function its EventBridge rule invokes,
        answer = stack.functions.invoke(
            "RecordEndedRunFunction", status_change_event(arn, cause="stopped by an operator")
        )
        record = integrator.get(f"/reclamations/{plan['id']}").json()

    # then the reclamation is canceled, nothing reclaimed, saying the execution was stopped and why.
    assert answer == {"id": plan["id"], "status": "canceled"}
    assert record["status"] == "canceled" and record["error"] == "ExecutionAborted"
    assert record["cause"] == "stopped by an operator"
    assert app.reclaim_requests == []


def test_a_reconciliation_whose_execution_is_stopped_is_failed_by_the_status_change(api, stack):
    integrator = api("sam_integrator")
    sfn = boto3.client("stepfunctions")
    with paging_app(30) as app:
        profile = handed_over_while_fetching(integrator, app)
        started = integrator.post("/reconciliations", json={"profile_ids": [profile["id"]]}).json()
        stop_the_sync_of(profile["id"])  # so that the reconciliation is mid-way for certain
        arn = execution_arn("RECONCILE_STATE_MACHINE_ARN", started["id"])
        sfn.stop_execution(executionArn=arn)
        ended = execution("RECONCILE_STATE_MACHINE_ARN", started["id"])
        # moto 5.2.5 ends an execution stopped inside a Map iteration FAILED (States.Runtime), AWS ABORTED:
        # either way no Catch runs, and the record says what the event said.
        assert ended["status"] in ("ABORTED", "FAILED")
        assert integrator.get(f"/reconciliations/{started['id']}").json()["status"] == "running"

        stack.functions.invoke("RecordEndedRunFunction", status_change_event(arn))
        record = integrator.get(f"/reconciliations/{started['id']}").json()

    assert record["status"] == "failed" and record["error"] == (ended.get("error") or "ExecutionAborted")
    assert record["cause"] and record["finished_at"]


def test_a_sync_that_outlives_its_state_machine_s_timeout_ends_failed_never_running(api, stack):
    """The timed-out path on moto's Step Functions engine, with the sync machine's own definition.

    The template bounds a sync at a day (SyncTimeoutSeconds); waiting that long is no test, so the same
    definition, as the stack deployed it, is deployed again with a bound of two seconds.
    """
    import json

    from seatkeeper.aws.dynamodb.profiles import DynamoDBProfiles
    from seatkeeper.aws.dynamodb.snapshots import DynamoDBSync
    from seatkeeper.aws.workflows import StepFunctions
    from seatkeeper.sync.runs import SyncService

    integrator = api("sam_integrator")
    sfn = boto3.client("stepfunctions")
    deployed = sfn.describe_state_machine(stateMachineArn=os.environ["SYNC_STATE_MACHINE_ARN"])
    definition = json.loads(deployed["definition"])
    assert definition["TimeoutSeconds"] == 86400  # the template's bound: as long as a reconciliation waits
    bounded = sfn.create_state_machine(
        name=f"SyncUsersBounded-{uuid.uuid4().hex[:8]}",
        definition=json.dumps({**definition, "TimeoutSeconds": 2}),
        roleArn=deployed["roleArn"],
    )["stateMachineArn"]
    table = stack.template.physical_name("Table")
    with paging_app(40) as app:
        # Given a connected profile whose app answers slowly: its sync takes far longer than the bound
        fields = profile_fields(app, "offset", page_size=5)
        profile = connected(integrator, app, users=fields["users"])
        app.latency = 1.0
        record = DynamoDBProfiles(table).get(profile["id"])
        # When its sync runs on the bounded machine
        run = SyncService(DynamoDBSync(table), StepFunctions(bounded)).start(
            record, connected=True, requested_by="a test"
        )
        arn = bounded.replace(":stateMachine:", ":execution:") + f":{run.run_id}"
        ended = wait_until(
            lambda: sfn.describe_execution(executionArn=arn), lambda e: e["status"] != "RUNNING", timeout=60
        )
        # Then the execution times out, and no Catch records it: the run still says running
        assert ended["status"] == "TIMED_OUT", ended
        assert integrator.get(f"/runs/{run.run_id}").json()["status"] == "running"
        # And when the status change reaches RecordEndedRun as the rule on the sync machine delivers it
        event = status_change_event(arn, stateMachineArn=os.environ["SYNC_STATE_MACHINE_ARN"])
        stack.functions.invoke("RecordEndedRunFunction", event)
        finished = integrator.get(f"/runs/{run.run_id}").json()
        # the run is failed saying so, and the profile's next sync may start
        assert finished["status"] == "failed" and "TIMED_OUT" in finished["error"], finished
        app.latency = 0.0
        again = integrator.post(f"/profiles/{profile['id']}/sync")
        assert again.status_code == 202, again.text


def test_a_reclamation_that_outlives_its_state_machine_s_timeout_is_canceled_never_left_waiting(api, stack):
    """The same for reclaim-licenses: its own definition, deployed again with a bound of three seconds."""
    import json

    from seatkeeper.aws.dynamodb.profiles import DynamoDBProfiles
    from seatkeeper.aws.dynamodb.reclamations import DynamoDBReclamations
    from seatkeeper.aws.dynamodb.snapshots import DynamoDBSync
    from seatkeeper.aws.workflows import StepFunctions
    from seatkeeper.licensing import reclamation

    integrator = api("sam_integrator")
    sfn = boto3.client("stepfunctions")
    deployed = sfn.describe_state_machine(stateMachineArn=os.environ["RECLAIM_STATE_MACHINE_ARN"])
    definition = json.loads(deployed["definition"])
    assert definition["TimeoutSeconds"] == 31276800  # the template's bound: the longest grace period and a re-sync
    bounded = sfn.create_state_machine(
        name=f"ReclaimBounded-{uuid.uuid4().hex[:8]}",
        definition=json.dumps({**definition, "TimeoutSeconds": 3}),
        roleArn=deployed["roleArn"],
    )["stateMachineArn"]
    table = stack.template.physical_name("Table")
    with paging_app(30) as app:
        # Given an approved reclamation with a grace period of an hour, run on the bounded machine
        profile = reclaiming_profile(integrator, app, grace_period="PT1H", max_reclaim_count=0)
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        assert plan["status"] == "awaiting_approval", plan
        approved = reclamation.approve(
            plan["id"],
            store=DynamoDBReclamations(table),
            approved_by="boss",
            profile_of=DynamoDBProfiles(table).get,
            snapshots=DynamoDBSync(table),
        )
        payload = {"reclamation_id": approved.id, "profile_id": profile["id"], "grace_seconds": approved.grace_seconds}
        StepFunctions(bounded).start(approved.id, {**payload, "keep_base_url": stack.url})
        arn = bounded.replace(":stateMachine:", ":execution:") + f":{approved.id}"
        # When it waits out its grace period past the bound
        ended = wait_until(
            lambda: sfn.describe_execution(executionArn=arn), lambda e: e["status"] != "RUNNING", timeout=60
        )
        assert ended["status"] == "TIMED_OUT", ended
        assert integrator.get(f"/reclamations/{plan['id']}").json()["status"] == "in_grace_period"
        # Then the status change cancels it, saying the execution timed out, and nothing was reclaimed
        event = status_change_event(arn, stateMachineArn=os.environ["RECLAIM_STATE_MACHINE_ARN"])
        assert stack.functions.invoke("RecordEndedRunFunction", event)["status"] == "canceled"
        record = integrator.get(f"/reclamations/{plan['id']}").json()
    assert record["status"] == "canceled" and record["error"] == "ExecutionTimedOut", record
    assert app.reclaim_requests == []
