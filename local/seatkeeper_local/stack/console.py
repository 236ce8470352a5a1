"""How the local stack's output reads: a quiet line per request for people, or JSON lines for tools.

`console` (the default): the gateway's access log, `12:00:01 GET /profiles 200 12 ms`, and the
functions' own records (warnings and errors unless a lower level is asked for), one line each,
named after the function that logged them. `json`: the same access log as JSON lines, and the
functions' Powertools JSON as Lambda writes it to CloudWatch.

Either way the access log has the path without its query string: `/oauth/callback` carries the
grant's code and state there, and a log is no place for them.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["console", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("console", "json")


@dataclass(frozen=True)
class Invocation:
    """The Lambda context keys that Powertools puts on every record, for one invocation."""

    function_name: str
    function_arn: str
    function_request_id: str
    function_memory_size: int
    correlation_id: str | None


_invocation: ContextVar[Invocation | None] = ContextVar("seatkeeper_local_invocation", default=None)


@contextmanager
def invoking(context: Any, event: Any) -> Iterator[None]:
    """Within this block, this thread's log records belong to the invocation of `context`."""
    request = event.get("requestContext") if isinstance(event, dict) else None
    token = _invocation.set(
        Invocation(
            function_name=context.function_name,
            function_arn=context.invoked_function_arn,
            function_request_id=context.aws_request_id,
            function_memory_size=context.memory_limit_in_mb,
            # What the API function's Logger takes as its correlation id (the HTTP API's request id).
            correlation_id=request.get("requestId") if isinstance(request, dict) else None,
        )
    )
    try:
        yield
    finally:
        _invocation.reset(token)


class NameTheRunningFunction(logging.Filter):
    """Puts the keys of the invocation running in this thread on each record.

    Powertools keeps the Lambda context's keys (function_name, function_request_id, ...) on its
    formatter, one per service, for the whole process: right in Lambda, where a process runs one
    function at a time; wrong here, where every function of the template runs in one process at
    once, so that a sync's record could carry the name of the API call that ran last. A record's
    own attributes win over those keys.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        invocation = _invocation.get()
        if invocation is not None:
            for key, value in asdict(invocation).items():
                setattr(record, key, value)
        return True


# The keys Powertools puts on every record; the console line shows the ones that say something.
_POWERTOOLS_KEYS = {
    "level",
    "location",
    "message",
    "timestamp",
    "service",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "correlation_id",
    "xray_trace_id",
    "sampling_rate",
    "exception",
    "exception_name",
    "stack_trace",
}


def _console_formatter() -> logging.Formatter:
    # Start-up time: Powertools' formatter only where the console shows function logs.
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    class FunctionLine(LambdaPowertoolsFormatter):
        """Powertools' record, as one line a person reads: time, level, function, message, its keys."""

        def format(self, record: logging.LogRecord) -> str:
            fields = json.loads(super().format(record))
            keys = " ".join(f"{k}={json.dumps(v, default=str)}" for k, v in fields.items() if k not in _POWERTOOLS_KEYS)
            message = fields.get("message")
            text = message if isinstance(message, str) else json.dumps(message, default=str)
            when = datetime.fromtimestamp(record.created)
            line = f"{when:%H:%M:%S} {record.levelname} {fields.get('function_name', '-')}: {text}"
            trace = fields.get("exception")
            return line + (f"  {keys}" if keys else "") + (f"\n{trace}" if trace else "")

    return FunctionLine()


def dress_function_logs(log_format: LogFormat) -> None:
    """Name the running function on the functions' Powertools records and, for `console`, make them lines.

    Called after each handler's import: Powertools creates its handler with the first Logger.
    """
    for logger in list(logging.Logger.manager.loggerDict.values()):
        handler = getattr(logger, "powertools_handler", None)
        if not isinstance(handler, logging.Handler):
            continue
        if not any(isinstance(f, NameTheRunningFunction) for f in handler.filters):
            handler.addFilter(NameTheRunningFunction())
        if log_format == "console" and type(handler.formatter).__name__ != "FunctionLine":
            handler.setFormatter(_console_formatter())


class AccessJson(logging.Formatter):
    """A record of the local stack itself as one JSON line: time, level, logger, message and its fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def show_stack_logs(log_format: LogFormat) -> None:
    """The local stack's own records (the gateway's access log, the scheduler) on stdout, in the chosen format."""
    handler = logging.StreamHandler(sys.stdout)
    line = logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S")
    handler.setFormatter(AccessJson() if log_format == "json" else line)
    stack_logger = logging.getLogger("seatkeeper_local")
    stack_logger.addHandler(handler)
    stack_logger.setLevel(logging.INFO)
