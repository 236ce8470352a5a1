"""seatkeeper's events on EventBridge (source `seatkeeper`, the default bus unless EVENT_BUS_NAME says otherwise)."""

from __future__ import annotations

import json
import logging
import os
from functools import cached_property
from typing import TYPE_CHECKING, Any

from seatkeeper.aws.clients import aws_client
from seatkeeper.notify.events import SOURCE, checked

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient


class EventBridgeNotices:
    def __init__(self, bus: str | None = None, client: EventBridgeClient | None = None) -> None:
        self.bus = bus or os.environ.get("EVENT_BUS_NAME", "default")
        self._client = client

    @cached_property
    def client(self) -> EventBridgeClient:
        return self._client or aws_client("events")

    def put(self, detail_type: str, detail: dict[str, Any]) -> None:
        checked(detail_type)
        answer = self.client.put_events(
            Entries=[
                {
                    "Source": SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, default=str),
                    "EventBusName": self.bus,
                }
            ]
        )
        if answer.get("FailedEntryCount"):
            # An announcement that did not go out must not undo the work it announces.
            log.warning("an event was not put on EventBridge", extra={"detail_type": detail_type})
