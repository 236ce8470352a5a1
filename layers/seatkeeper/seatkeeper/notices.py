"""The one module that puts seatkeeper's events on EventBridge, so organisations can hook on them.

Every event has source `seatkeeper` on the default bus. detail-types (DETAIL_TYPES) and
their details are documented in the README; the state machines put the ones they own with
direct EventBridge integrations, in the same words.
"""

from __future__ import annotations

import json
import logging
import os
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from seatkeeper.aws_clients import aws_client

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient

log = logging.getLogger(__name__)
SOURCE = "seatkeeper"
DETAIL_TYPES = (
    "Connection Connected",  # the create-connection saga
    "Connection Failed",  # the create-connection saga
    "Connection Removed",
    "Sync Succeeded",
    "Sync Failed",  # the sync-users state machine
    "License Position Changed",
    "Reconciliation Finished",
    "Reclamation Planned",
    "Reclamation Awaiting Approval",
    "Reclamation Approved",
    "Reclamation Finished",
    "Seat Will Be Reclaimed",
    "Seat Kept",  # a keep link's answer, or an admin's approval of it
    "Seat Keep Requested",  # a keep link's answer that waits for an admin
    "Seat Keep Denied",
    "Seat Released",
    "Renewal Approaching",  # the reconciliation, at each policy.renewal_reminder_days before the opt-out deadline
    "Licenses Running Low",  # the reconciliation, when free licenses drop under policy.low_seat_threshold
)


class Notices(Protocol):
    def put(self, detail_type: str, detail: dict[str, Any]) -> None: ...


class EventBridgeNotices:
    def __init__(self, bus: str | None = None, client: EventBridgeClient | None = None) -> None:
        self.bus = bus or os.environ.get("EVENT_BUS_NAME", "default")
        self._client = client

    @cached_property
    def client(self) -> EventBridgeClient:
        return self._client or aws_client("events")

    def put(self, detail_type: str, detail: dict[str, Any]) -> None:
        assert detail_type in DETAIL_TYPES, detail_type
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


class NoNotices:
    def put(self, detail_type: str, detail: dict[str, Any]) -> None:
        pass
