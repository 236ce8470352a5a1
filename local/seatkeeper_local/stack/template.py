"""Reads template.yaml and resolves it for the local stack: the one list of resources.

Only the intrinsic functions the template uses are resolved (Ref, Fn::GetAtt, Fn::Sub,
Fn::Join, and Fn::If with its Conditions and AWS::NoValue); a new one fails loudly here rather
than silently running with a wrong value. A resource whose Condition is false is not there.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "seatkeeper-local"
LOCAL_ROLE = f"arn:aws:iam::{ACCOUNT}:role/seatkeeper-local"
# What `!Ref AWS::NoValue` resolves to: the property around it is left out, as CloudFormation does.
NO_VALUE = object()


class _CfnLoader(yaml.SafeLoader):
    pass


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@dataclass
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    timeout: int
    memory_mb: int = 128  # Lambda's default; what a GB-second of the bill counts

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.logical_id}"


@dataclass
class HttpRoute:
    method: str
    path: str
    function: str
    authorized: bool

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class EventRuleSpec:
    """A function's EventBridgeRule: the pattern, and what Lambda does when the function fails."""

    name: str
    function: str
    function_arn: str
    pattern: dict[str, Any]
    retry_attempts: int = 2  # Lambda's default for asynchronous invocations
    on_failure: str | None = None  # the SQS queue's ARN


@dataclass
class StateMachineSpec:
    logical_id: str
    definition: dict[str, Any]
    schedules: list[dict[str, Any]] = field(default_factory=list)
    type: str = "STANDARD"

    @property
    def arn(self) -> str:
        return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{self.logical_id}"


class Template:
    def __init__(self, path: Path, parameters: dict[str, str] | None = None) -> None:
        self.path = path
        self.root = path.parent
        self.document: dict[str, Any] = yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
        self.resources: dict[str, Any] = self.document["Resources"]
        self.parameters = {
            name: str(spec.get("Default", "")) for name, spec in self.document.get("Parameters", {}).items()
        } | (parameters or {})

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {
            k: v
            for k, v in self.resources.items()
            if v["Type"] == kind and ("Condition" not in v or self.condition(v["Condition"]))
        }

    def condition(self, name: str) -> bool:
        return self._truth(self.document.get("Conditions", {})[name])

    def _truth(self, expression: Any) -> bool:
        ((key, arg),) = expression.items()
        if key == "Condition":
            return self.condition(arg)
        if key == "Fn::Equals":
            left, right = self.resolve(arg)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self._truth(arg[0])
        if key == "Fn::And":
            return all(self._truth(a) for a in arg)
        if key == "Fn::Or":
            return any(self._truth(a) for a in arg)
        raise ValueError(f"the local stack cannot evaluate the condition {key}")

    # --- names ------------------------------------------------------------------------

    def physical_name(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        if kind in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            return logical_id
        if kind == "AWS::S3::Bucket":
            return f"{STACK}-{logical_id}".lower()  # bucket names are lowercase
        return f"{STACK}-{logical_id}"

    def arn(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        name = self.physical_name(logical_id)
        return {
            "AWS::Serverless::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
            "AWS::Serverless::StateMachine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
            "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{name}",
            "AWS::Events::EventBus": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
        }.get(kind, f"arn:aws:local:{REGION}:{ACCOUNT}:{logical_id}/{name}")

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": STACK,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if self.resources[name]["Type"] == "AWS::Serverless::StateMachine":
            return self.arn(name)
        return self.physical_name(name)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(v) for v in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return NO_VALUE if arg == "AWS::NoValue" else self.ref(arg)
            if key == "Fn::If":
                name, when_true, when_false = arg
                return self.resolve(when_true if self.condition(name) else when_false)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                if attribute == "Arn":
                    return self.arn(logical_id)
                if attribute in ("Name", "TableName"):
                    return self.physical_name(logical_id)
                raise ValueError(f"the local stack cannot resolve Fn::GetAtt {logical_id}.{attribute}")
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
                return re.sub(r"\$\{([^}!]+)\}", lambda m: self._sub_variable(m.group(1), extra), text)
            if key == "Fn::Join":
                return arg[0].join(str(self.resolve(v)) for v in arg[1])
            if key.startswith("Fn::") or key == "Condition":
                raise ValueError(f"the local stack cannot resolve {key}")
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _sub_variable(self, name: str, extra: dict[str, Any]) -> str:
        if name in extra:
            return str(extra[name])
        if "." in name and not name.startswith("AWS::"):
            return str(self.resolve({"Fn::GetAtt": name.split(".", 1)}))
        return self.ref(name)

    # --- what the local stack builds --------------------------------------------------

    def functions(self) -> dict[str, FunctionSpec]:
        defaults = self.document.get("Globals", {}).get("Function", {})
        found = {}
        for logical_id, resource in self.of_type("AWS::Serverless::Function").items():
            props = resource["Properties"]
            env = self.resolve(defaults.get("Environment", {}).get("Variables", {})) | self.resolve(
                props.get("Environment", {}).get("Variables", {})
            )
            found[logical_id] = FunctionSpec(
                logical_id=logical_id,
                code_dir=(self.root / props["CodeUri"]).resolve(),
                handler=props["Handler"],
                environment={k: str(v) for k, v in env.items()},
                timeout=int(props.get("Timeout", defaults.get("Timeout", 3))),
                memory_mb=int(props.get("MemorySize", defaults.get("MemorySize", 128))),
            )
        return found

    def http_routes(self) -> list[HttpRoute]:
        routes = []
        for logical_id, resource in self.of_type("AWS::Serverless::Function").items():
            for event in resource["Properties"].get("Events", {}).values():
                if event["Type"] != "HttpApi":
                    continue
                props = event.get("Properties", {})
                authorizer = props.get("Auth", {}).get("Authorizer")
                routes.append(
                    HttpRoute(
                        props.get("Method", "ANY").upper(),
                        props.get("Path", "$default"),
                        logical_id,
                        authorized=authorizer != "NONE",
                    )
                )
        return routes

    def tables(self) -> dict[str, dict[str, Any]]:
        """create_table arguments for each table, straight from its properties."""
        tables = {}
        for logical_id, resource in self.of_type("AWS::DynamoDB::Table").items():
            props = self.resolve(resource["Properties"])
            args: dict[str, Any] = {
                "TableName": self.physical_name(logical_id),
                "AttributeDefinitions": props["AttributeDefinitions"],
                "KeySchema": props["KeySchema"],
                "BillingMode": props.get("BillingMode", "PROVISIONED"),
            }
            if props.get("GlobalSecondaryIndexes"):
                args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            tables[logical_id] = {"create": args, "ttl": props.get("TimeToLiveSpecification")}
        return tables

    def buckets(self) -> list[str]:
        return [self.physical_name(logical_id) for logical_id in self.of_type("AWS::S3::Bucket")]

    def event_rules(self, source: str) -> list[EventRuleSpec]:
        """The functions' EventBridge rules on events of `source` (AWS's own events are not put locally)."""
        found = []
        for logical_id, resource in self.of_type("AWS::Serverless::Function").items():
            props = resource["Properties"]
            invoke = self.resolve(props.get("EventInvokeConfig", {}))
            for event_name, event in props.get("Events", {}).items():
                if event["Type"] != "EventBridgeRule":
                    continue
                pattern = self.resolve(event["Properties"]["Pattern"])
                if source not in pattern.get("source", []):
                    continue
                found.append(
                    EventRuleSpec(
                        name=f"{logical_id}-{event_name}",
                        function=logical_id,
                        function_arn=self.arn(logical_id),
                        pattern=pattern,
                        retry_attempts=int(invoke.get("MaximumRetryAttempts", 2)),
                        on_failure=invoke.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"),
                    )
                )
        return found

    def queues(self) -> list[str]:
        return [self.physical_name(logical_id) for logical_id in self.of_type("AWS::SQS::Queue")]

    def state_machines(self) -> dict[str, StateMachineSpec]:
        found = {}
        for logical_id, resource in self.of_type("AWS::Serverless::StateMachine").items():
            props = resource["Properties"]
            text = (self.root / props["DefinitionUri"]).read_text()
            for name, value in self.resolve(props.get("DefinitionSubstitutions", {})).items():
                text = text.replace("${" + name + "}", str(value))
            if leftover := re.findall(r"\$\{[A-Za-z0-9_]+\}", text):
                raise ValueError(f"{logical_id}: no DefinitionSubstitutions for {sorted(set(leftover))}")
            schedules = [
                self.resolve(event.get("Properties", {}))
                for event in props.get("Events", {}).values()
                if event["Type"] in ("ScheduleV2", "Schedule")
            ]
            found[logical_id] = StateMachineSpec(logical_id, json.loads(text), schedules, props.get("Type", "STANDARD"))
        return found
