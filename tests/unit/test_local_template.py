"""The local stack reads template.yaml's conditions as CloudFormation does."""

from __future__ import annotations

import pytest

from seatkeeper_local.stack.template import Template

TEMPLATE = """
Parameters:
  ReservedConcurrency: { Type: String, Default: Disabled, AllowedValues: [Enabled, Disabled] }
  AlarmTopicArn: { Type: String, Default: "" }
Conditions:
  ReserveConcurrency: !Equals [!Ref ReservedConcurrency, Enabled]
  CreateAlarmTopic: !Equals [!Ref AlarmTopicArn, ""]
  Either: !Or [!Condition ReserveConcurrency, !Not [!Condition CreateAlarmTopic]]
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{ AttributeName: pk, AttributeType: S }]
      KeySchema: [{ AttributeName: pk, KeyType: HASH }]
      TimeToLiveSpecification: !If [ReserveConcurrency, { AttributeName: ttl, Enabled: true }, !Ref AWS::NoValue]
  Queue:
    Type: AWS::SQS::Queue
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: flow.asl.json
      Events:
        Daily:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: rate(1 day)
            RetryPolicy: { MaximumRetryAttempts: !If [Either, 3, !Ref AWS::NoValue] }
            DeadLetterConfig: { Arn: !GetAtt Queue.Arn }
            Tags: [a, !Ref AWS::NoValue, b]
  AlarmTopic:
    Type: AWS::SNS::Topic
    Condition: CreateAlarmTopic
"""


@pytest.fixture
def write(tmp_path):
    (tmp_path / "flow.asl.json").write_text('{"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}')

    def template(parameters=None):
        (tmp_path / "template.yaml").write_text(TEMPLATE)
        return Template(tmp_path / "template.yaml", parameters)

    return template


def test_defaults_choose_the_false_branch_and_no_value_leaves_the_property_out(write):
    # Given the template with its parameters' defaults
    template = write()
    # When the local stack reads the table and the schedule
    table = template.tables()["Table"]
    (schedule,) = template.state_machines()["Flow"].schedules
    # Then a property that is AWS::NoValue is not there at all, in a mapping or in a list
    assert table["ttl"] is None
    assert schedule["RetryPolicy"] == {}
    assert schedule["Tags"] == ["a", "b"]
    assert schedule["DeadLetterConfig"] == {"Arn": "arn:aws:sqs:us-east-1:123456789012:seatkeeper-local-Queue"}


def test_a_parameter_turns_the_condition_and_its_branch(write):
    # Given reserved concurrency turned on and an alarm topic of one's own
    template = write({"ReservedConcurrency": "Enabled", "AlarmTopicArn": "arn:aws:sns:us-east-1:1:ops"})
    # When it is read
    (schedule,) = template.state_machines()["Flow"].schedules
    # Then the true branches are taken, and a resource whose condition is false is not there
    assert template.tables()["Table"]["ttl"] == {"AttributeName": "ttl", "Enabled": True}
    assert schedule["RetryPolicy"] == {"MaximumRetryAttempts": 3}
    assert template.of_type("AWS::SNS::Topic") == {}
    assert list(write().of_type("AWS::SNS::Topic")) == ["AlarmTopic"]


def test_a_condition_it_cannot_evaluate_fails_loudly(tmp_path):
    # Given a condition with an intrinsic the local stack does not know
    (tmp_path / "template.yaml").write_text(
        "Conditions:\n  Odd: !Contains [[a], a]\nResources:\n  Q: { Type: AWS::SQS::Queue, Condition: Odd }\n"
    )
    # When / Then reading the resources refuses rather than guessing
    with pytest.raises(ValueError, match="Fn::Contains"):
        Template(tmp_path / "template.yaml").of_type("AWS::SQS::Queue")
