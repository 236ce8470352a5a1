"""Runs the template's Lambda handlers in-process, as the Lambda runtime would call them."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from seatkeeper_local.stack.console import LogFormat, dress_function_logs, invoking
from seatkeeper_local.stack.template import FunctionSpec


@dataclass
class LambdaContext:
    function_name: str
    timeout_seconds: int
    memory_limit_in_mb: int = 1024
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


class FunctionError(Exception):
    """A handler raised: what Lambda reports as an Unhandled function error."""

    def __init__(self, error_type: str, message: str, trace: list[str]) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message
        self.trace = trace

    def payload(self) -> dict[str, Any]:
        return {"errorType": self.error_type, "errorMessage": self.message, "stackTrace": self.trace}


class LocalFunctions:
    """The template's functions, their handlers imported once (a warm container each)."""

    def __init__(self, specs: dict[str, FunctionSpec], *, log_format: LogFormat = "json") -> None:
        self.specs = specs
        self.log_format: LogFormat = log_format
        self._handlers: dict[str, Callable[[Any, Any], Any]] = {}
        self._lock = threading.Lock()
        # One invocation at a time per function, as in one Lambda execution environment. Handlers keep
        # per-invocation state at module level (Powertools' resolver holds the current event and route):
        # two at once in threads mixed them up, and the dashboard's parallel requests met 500s.
        self._environments = {logical_id: threading.Lock() for logical_id in specs}
        self.apply_environment()

    def apply_environment(self) -> None:
        # Handlers share this process, so their environments must agree; the template keeps
        # shared settings in Globals, and a clash here means a function needs its own value.
        merged: dict[str, str] = {}
        for spec in self.specs.values():
            for key, value in spec.environment.items():
                if merged.setdefault(key, value) != value:
                    raise ValueError(f"functions disagree on {key}; the local stack runs them in one process")
        os.environ.update(merged)

    def resolve_name(self, name_or_arn: str) -> str:
        name = name_or_arn.rsplit(":function:", maxsplit=1)[-1].split(":", maxsplit=1)[0]
        for logical_id in self.specs:
            if logical_id.lower() in (name.lower(), name.lower() + "function"):
                return logical_id
        raise KeyError(f"no function {name_or_arn!r} in template.yaml (have: {', '.join(self.specs)})")

    def handler(self, logical_id: str) -> Callable[[Any, Any], Any]:
        with self._lock:
            if logical_id not in self._handlers:
                spec = self.specs[logical_id]
                module_name, function_name = spec.handler.rsplit(".", 1)
                module = self._import(spec, module_name)
                self._handlers[logical_id] = getattr(module, function_name)
                dress_function_logs(self.log_format)
            return self._handlers[logical_id]

    @staticmethod
    def _import(spec: FunctionSpec, module_name: str) -> ModuleType:
        path = spec.code_dir / (module_name.replace(".", "/") + ".py")
        if str(spec.code_dir) not in sys.path:
            sys.path.insert(0, str(spec.code_dir))  # the function's own modules, as in /var/task
        unique = f"seatkeeper_functions.{spec.logical_id}.{module_name}"
        module_spec = importlib.util.spec_from_file_location(unique, path)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[unique] = module
        module_spec.loader.exec_module(module)
        return module

    def invoke(self, name_or_arn: str, event: Any) -> Any:
        """Call the handler with a JSON round trip of the event, as Lambda does; FunctionError if it raises."""
        logical_id = self.resolve_name(name_or_arn)
        handler = self.handler(logical_id)
        with self._environments[logical_id]:
            context = LambdaContext(logical_id, self.specs[logical_id].timeout)  # its time starts now
            try:
                with invoking(context, event):
                    result = handler(json.loads(json.dumps(event)), context)
                return json.loads(json.dumps(result))
            except Exception as exc:
                raise FunctionError(type(exc).__name__, str(exc), traceback.format_exception(exc)[-5:]) from exc
