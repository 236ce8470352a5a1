"""seatkeeper's events: what it announces, so that organisations (and, next, its own notifier) hook on them.

Every event has source `seatkeeper` (aws.events puts them on EventBridge, the default bus).
detail-types (DETAIL_TYPES) and their details are documented in the README; the state machines
put the ones they own with direct EventBridge integrations, in the same words.
"""

from __future__ import annotations

from typing import Any, Protocol

SOURCE = "seatkeeper"
DETAIL_TYPES = (
    "Connection Connected",  # the create-connection saga
    "Connection Failed",  # the create-connection saga
    "Connection Removed",
    "Connection Needs Reconnect",  # the first refused refresh of an OAuth grant (invalid_grant)
    "Sync Succeeded",
    "Sync Failed",  # the sync-users state machine
    "License Position Changed",
    "Reconciliation Finished",
    "Reclamation Planned",
    "Reclamation Awaiting Approval",
    "Reclamation Approved",
    "Reclamation Rejected",  # an admin's no to a plan awaiting approval
    "Reclamation Canceled",  # an admin's stop during the grace period
    "Reclamation Finished",
    "Reclamation Not Effective",  # a sync's commit: the app still holds a seat a reclamation took back
    "Seat Will Be Reclaimed",
    "Seat Kept",  # a keep link's answer, or an admin's approval of it
    "Seat Keep Requested",  # a keep link's answer that waits for an admin
    "Seat Keep Denied",
    "Seat Released",
    "Renewal Approaching",  # the reconciliation, at each policy.renewal_reminder_days before the opt-out deadline
    "Licenses Running Low",  # the reconciliation, when free licenses drop under policy.low_seat_threshold
    "Template Deprecated",  # the reconciliation, 90 days before a template's reclaim request stops working
)


class UnknownDetailType(ValueError):
    """An event seatkeeper does not document: a subscriber's rule would never match it."""


def checked(detail_type: str) -> str:
    # A real error, not an assert: `python -O` strips asserts, and the event would go out unannounced.
    if detail_type not in DETAIL_TYPES:
        raise UnknownDetailType(f"{detail_type!r} is not one of seatkeeper's detail-types")
    return detail_type


class Notices(Protocol):
    def put(self, detail_type: str, detail: dict[str, Any]) -> None: ...


class NoNotices:
    def put(self, detail_type: str, detail: dict[str, Any]) -> None:
        pass
