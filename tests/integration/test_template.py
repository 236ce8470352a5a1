"""template.yaml as CloudFormation will see it: translated offline by the SAM transform (aws-sam-translator).

What `sam deploy` would otherwise find out in a real account: a handler that is not there, a state
machine with a substitution missing, a policy on every resource, a function without an alarm.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from collections import Counter
from pathlib import Path

import boto3
import pytest
from cfnlint.decode.cfn_yaml import load as load_cloudformation_yaml
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from seatkeeper_local.stack.template import Template

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "seatkeeper-artifacts"
SOURCE = load_cloudformation_yaml(str(ROOT / "template.yaml"))

# IAM statements on Resource "*", each because the action has no narrower resource (or no resource at all).
STAR_STATEMENTS = {
    "FindCredentialSecrets": "secretsmanager:ListSecrets lists; it takes no resource",
    "ResumeWaitingGrant": "states:SendTaskSuccess/Failure name a task token, not a resource",
    "TellTheWaitingReconciliation": "states:SendTaskSuccess/Failure name a task token, not a resource",
    "CountFailedCleanUps": "cloudwatch:PutMetricData takes no resource (held to the seatkeeper namespace by a condition)",
    "DeliverLogs": "Step Functions' log delivery actions (logs:CreateLogDelivery ...) take no resource",
}
# AWS-managed policies that SAM attaches, with "*" inside.
MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": "logs:CreateLogGroup/PutLogEvents, every function",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": "xray:PutTraceSegments takes no resource; Tracing: Active",
}


@pytest.fixture(scope="module")
def resources() -> dict:
    # Given the template as `sam package` leaves it: local code folders replaced by their S3 uploads
    packaged = copy.deepcopy(SOURCE)
    for resource in packaged["Resources"].values():
        for key in ("CodeUri", "DefinitionUri", "ContentUri"):
            if key in resource.get("Properties", {}):
                resource["Properties"][key] = f"s3://{BUCKET}/{resource['Properties'][key]}"
    # When the SAM transform turns it into CloudFormation (no managed policy is named by its short name)
    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name="eu-central-1"))
    translated = translator.translate(packaged, parameter_values={}, get_managed_policy_map=dict)
    return translated["Resources"]


def of_type(resources: dict, kind: str) -> dict:
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def defined_names(module: Path) -> set[str]:
    tree = ast.parse(module.read_text())
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def test_every_function_runs_a_handler_that_is_there_on_the_layer_s_runtime(resources):
    functions = of_type(resources, "AWS::Lambda::Function")
    (layer,) = of_type(resources, "AWS::Lambda::LayerVersion").values()
    # Every function of the template, and nothing else, came out of the translation.
    assert set(functions) == set(Template(ROOT / "template.yaml").functions())
    for name, function in functions.items():
        props = function["Properties"]
        module_name, attribute = props["Handler"].rsplit(".", 1)
        module = ROOT / props["Code"]["S3Key"] / f"{module_name}.py"
        assert module.is_file(), f"{name}: no {module}"
        assert attribute in defined_names(module), f"{name}: {module} defines no {attribute}"
        assert props["Runtime"] in layer["Properties"]["CompatibleRuntimes"], name
        assert props["Architectures"] == layer["Properties"]["CompatibleArchitectures"] == ["arm64"], name
    assert (ROOT / layer["Properties"]["Content"]["S3Key"] / "requirements.txt").is_file()


def test_every_state_machine_substitutes_exactly_what_its_definition_uses(resources):
    machines = of_type(resources, "AWS::StepFunctions::StateMachine")
    assert set(machines) == {
        "CreateConnectionStateMachine",
        "SyncUsersStateMachine",
        "SyncUsersExpressStateMachine",
        "ReconcileAllStateMachine",
        "ReclaimLicensesStateMachine",
    }
    assert machines["SyncUsersExpressStateMachine"]["Properties"]["StateMachineType"] == "EXPRESS"
    for name, machine in machines.items():
        definition = (ROOT / machine["Properties"]["DefinitionS3Location"]["Key"]).read_text()
        used = set(re.findall(r"\$\{([^}]+)\}", definition))
        given = set(machine["Properties"].get("DefinitionSubstitutions", {}))
        assert used - given == set(), f"{name}: nothing substitutes {sorted(used - given)}"
        assert given - used == set(), f"{name}: {sorted(given - used)} substituted but never used"


def test_no_policy_grants_every_resource_except_where_the_action_has_none(resources):
    starred = Counter()
    for name, role in of_type(resources, "AWS::IAM::Role").items():
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            assert arn in MANAGED_POLICIES, f"{name}: managed policy {arn} is not one we know"
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                targets = statement.get("Resource")
                if targets == "*" or (isinstance(targets, list) and "*" in targets):
                    assert statement.get("Sid") in STAR_STATEMENTS, f"{name}: {statement} grants every resource"
                    starred[statement["Sid"]] += 1
    assert set(starred) == set(STAR_STATEMENTS), "an exception no statement needs any more: drop it from the list"


def test_the_data_outlives_the_stack_with_its_key_and_its_users(resources):
    for name in ("Table", "DataKey", "UserPool"):
        assert resources[name]["DeletionPolicy"] == resources[name]["UpdateReplacePolicy"] == "Retain", name
    assert resources["UserPool"]["Properties"]["DeletionProtection"] == "ACTIVE"
    assert resources["Table"]["Properties"]["DeletionProtectionEnabled"] is True


def test_costly_or_quota_bound_settings_are_off_unless_asked_for(resources):
    parameters = SOURCE["Parameters"]
    assert (
        parameters["ReservedConcurrency"]["Default"] == parameters["CognitoThreatProtection"]["Default"] == "Disabled"
    )
    reserved = 0
    for name, function in of_type(resources, "AWS::Lambda::Function").items():
        condition, amount, otherwise = function["Properties"]["ReservedConcurrentExecutions"]["Fn::If"]
        assert (condition, otherwise) == ("ReserveConcurrency", {"Ref": "AWS::NoValue"}), name
        reserved += amount
    # The parameter's description tells the quota it takes: the sum plus the 100 Lambda keeps unreserved.
    description = " ".join(parameters["ReservedConcurrency"]["Description"].split())
    assert f"({reserved} in all)" in description and f"at least {reserved + 100}" in description
    pool = resources["UserPool"]["Properties"]
    assert pool["UserPoolTier"] == {"Fn::If": ["ProtectSignIns", "PLUS", "ESSENTIALS"]}
    assert pool["UserPoolAddOns"] == {
        "Fn::If": ["ProtectSignIns", {"AdvancedSecurityMode": "ENFORCED"}, {"Ref": "AWS::NoValue"}]
    }


def alarmed(resources: dict) -> set[tuple[str, str, str]]:
    """(namespace, metric, what it watches) for each alarm; a metric-math alarm counts once per metric."""
    found = set()
    for alarm in of_type(resources, "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        metrics = [m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m] or [props]
        for metric in metrics:
            watched = next(iter(metric["Dimensions"]))["Value"]
            found.add((metric["Namespace"], metric["MetricName"], str(watched)))
    return found


def test_what_breaks_silently_raises_an_alarm_on_the_alarm_topic(resources):
    found = alarmed(resources)
    for name in of_type(resources, "AWS::Lambda::Function"):
        for metric in ("Errors", "Throttles"):
            assert ("AWS/Lambda", metric, str({"Ref": name})) in found, f"{name}: no {metric} alarm"
    for name in of_type(resources, "AWS::StepFunctions::StateMachine"):
        for metric in ("ExecutionsFailed", "ExecutionsTimedOut"):
            assert ("AWS/States", metric, str({"Ref": name})) in found, f"{name}: no {metric} alarm"
    assert ("AWS/ApiGateway", "5xx", str({"Ref": "HttpApi"})) in found
    assert {m for ns, m, on in found if ns == "AWS/DynamoDB" and on == str({"Ref": "Table"})} == {
        "ReadThrottleEvents",
        "WriteThrottleEvents",
    }
    assert ("seatkeeper", "CompensationFailed", "create-connection") in found
    # The schedule retries, then keeps what it could not start in an encrypted queue that is alarmed on.
    (schedule,) = of_type(resources, "AWS::Scheduler::Schedule").values()
    target = schedule["Properties"]["Target"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    queue = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert resources[queue]["Properties"]["KmsMasterKeyId"]
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", str({"Fn::GetAtt": [queue, "QueueName"]})) in found
    # Every alarm tells the one topic: the one given, or the KMS-encrypted one made here.
    topic = {"Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}
    for name, alarm in of_type(resources, "AWS::CloudWatch::Alarm").items():
        assert alarm["Properties"]["AlarmActions"] == [topic], name
    assert resources["AlarmTopic"]["Condition"] == "CreateAlarmTopic"
    assert resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "DataKey"}


def dead_letter_queues(node) -> set[str]:
    """The logical ids of the queues anything sends its dead letters to, wherever the translated template says so."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("DeadLetterConfig", "DeadLetterQueue", "RedrivePolicy"):
                found |= {t["Fn::GetAtt"][0] for t in _references(value)}
            found |= dead_letter_queues(value)
    elif isinstance(node, list):
        for value in node:
            found |= dead_letter_queues(value)
    return found


def _references(node) -> list[dict]:
    if isinstance(node, dict):
        return [node] if "Fn::GetAtt" in node else [r for v in node.values() for r in _references(v)]
    return [r for v in node for r in _references(v)] if isinstance(node, list) else []


def test_every_dead_letter_queue_raises_an_alarm_on_the_alarm_topic(resources):
    # Given every queue that a schedule, a rule or a function keeps what it could not deliver in
    queues = dead_letter_queues(resources)
    assert "ReconcileScheduleDeadLetters" in queues
    # Then each, and every other queue of the stack, has an alarm on its first visible message, to the one topic
    assert queues | set(of_type(resources, "AWS::SQS::Queue")) == queues
    found = alarmed(resources)
    for queue in queues:
        assert resources[queue]["Type"] == "AWS::SQS::Queue"
        watched = ("AWS/SQS", "ApproximateNumberOfMessagesVisible", str({"Fn::GetAtt": [queue, "QueueName"]}))
        assert watched in found, f"{queue}: dead letters nobody hears of"


def test_the_dashboard_shows_every_alarm(resources):
    body = resources["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    shown = set(re.findall(r"\$\{(\w+)\.Arn\}", body))
    assert shown == set(of_type(resources, "AWS::CloudWatch::Alarm"))


def map_states(states: dict) -> list[tuple[str, dict]]:
    found = []
    for name, state in states.items():
        if state["Type"] == "Map":
            found.append((name, state))
            found += map_states((state.get("ItemProcessor") or state["Iterator"])["States"])
        for branch in state.get("Branches", []):
            found += map_states(branch["States"])
    return found


def test_every_map_state_caps_how_many_profiles_run_at_once(resources):
    # Reserved concurrency is off by default, so the state machines themselves must not fan out without limit:
    # MaxConcurrency 0 (or none) would start a sync of every profile at once.
    maps = []
    for machine in of_type(resources, "AWS::StepFunctions::StateMachine").values():
        text = (ROOT / machine["Properties"]["DefinitionS3Location"]["Key"]).read_text()
        definition = json.loads(re.sub(r"\$\{[^}]+\}", "1", text))
        maps += map_states(definition["States"])
    assert maps, "no Map state found: this test no longer looks at anything"
    for name, state in maps:
        assert 0 < state.get("MaxConcurrency", 0) <= 10, f"{name}: MaxConcurrency {state.get('MaxConcurrency')}"


def evaluate(node, pseudo: dict, parameters: dict, conditions: dict):
    """The few intrinsic functions a sign-in domain uses, as CloudFormation evaluates them."""
    if not isinstance(node, dict):
        return node
    ((key, arg),) = node.items()
    if key == "Ref":
        return pseudo.get(arg, parameters.get(arg))
    if key == "Fn::If":
        name, yes, no = arg
        return evaluate(yes if conditions[name] else no, pseudo, parameters, conditions)
    if key == "Fn::Join":
        return arg[0].join(evaluate(v, pseudo, parameters, conditions) for v in arg[1])
    if key == "Fn::Sub":
        return re.sub(r"\$\{([^}]+)\}", lambda m: str(pseudo.get(m.group(1), parameters.get(m.group(1)))), arg)
    if key == "Fn::Select":
        return evaluate(arg[1], pseudo, parameters, conditions)[int(arg[0])]
    if key == "Fn::Split":
        return evaluate(arg[1], pseudo, parameters, conditions).split(arg[0])
    raise ValueError(key)


def test_two_stacks_in_one_account_and_region_get_different_sign_in_domains():
    # Given two seatkeeper stacks in one account and region (staging and production), with no prefix given
    domain = SOURCE["Resources"]["SignInDomain"]["Properties"]["Domain"]
    stack_ids = [
        "arn:aws:cloudformation:eu-central-1:123456789012:stack/seatkeeper-staging/1c2f9e40-b3a1-11ef-8a1b-0a5c3d2e1f00",
        "arn:aws:cloudformation:eu-central-1:123456789012:stack/seatkeeper/7d6e5f40-b3a1-11ef-9c2d-06f1e2d3c4b5",
    ]
    # When CloudFormation evaluates their Cognito domain prefixes
    prefixes = [
        evaluate(
            domain,
            {"AWS::AccountId": "123456789012", "AWS::StackId": stack_id, "AWS::StackName": stack_id.split("/")[1]},
            {"SignInDomainPrefix": ""},
            {"HasSignInDomainPrefix": False},
        )
        for stack_id in stack_ids
    ]
    # Then they differ (prefixes are global per region), and each is one Cognito accepts
    assert prefixes[0] != prefixes[1], prefixes
    pattern = SOURCE["Parameters"]["SignInDomainPrefix"]["AllowedPattern"]
    for prefix in prefixes:
        assert prefix.startswith("seatkeeper-123456789012-") and len(prefix) <= 63
        assert re.fullmatch(pattern, prefix) and not re.search("aws|amazon|cognito", prefix)
    # And a prefix given as a parameter is used as it is, where the pattern refuses what Cognito would
    given = evaluate(domain, {}, {"SignInDomainPrefix": "acme-seats"}, {"HasSignInDomainPrefix": True})
    assert given == "acme-seats"
    assert not re.fullmatch(pattern, "my-aws-seats") and not re.fullmatch(pattern, "Acme")
