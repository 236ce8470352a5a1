"""Keep links and their answers on the seatkeeper table: KEEP#<digest of the token>, a candidate's
DECISION#<user> under its reclamation, and KEPT#<user> under the profile while the seat is protected.

The reclamation reads the decisions and the protections (`DynamoDBReclamations.decisions`, `kept`);
this adds what the keep link and the admin's answer write.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from seatkeeper.aws.dynamodb.reclamations import DynamoDBReclamations
from seatkeeper.aws.dynamodb.table import cancelled_by_condition, from_item, key, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    from seatkeeper.licensing.keep import KeepTicket
    from seatkeeper.licensing.reclamation import Decision


def _ticket_key(digest: str) -> dict[str, AttributeValueTypeDef]:
    return key(f"KEEP#{digest}", "KEEP")


class DynamoDBKeepRequests(DynamoDBReclamations):
    """KeepStore on the seatkeeper table: a ReclamationStore that also holds the keep links."""

    # A used or expired link answers 410 for a month, then is gone (404) like any unknown one.
    KEEP_TICKET_KEPT_SECONDS = 30 * 86400

    def put_keep_ticket(self, digest: str, ticket: KeepTicket) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item={
                **_ticket_key(digest),
                **to_item(
                    {
                        "document": ticket.model_dump_json(),
                        "deadline": int(ticket.deadline.timestamp()),
                        "expires_at": int(ticket.deadline.timestamp()) + self.KEEP_TICKET_KEPT_SECONDS,
                    }
                ),
            },
        )

    def keep_ticket(self, digest: str) -> KeepTicket | None:
        # Cold start: the keep models where a keep link is read (module docstring).
        from seatkeeper.licensing.keep import KeepTicket

        item = self.client.get_item(TableName=self.table_name, Key=_ticket_key(digest), ConsistentRead=True).get("Item")
        if item is None:
            return None
        values = from_item(item)
        ticket = KeepTicket.model_validate_json(values["document"])
        return ticket.model_copy(update={"used_at": values["used_at"]}) if "used_at" in values else ticket

    def use_keep_ticket(self, digest: str, ticket: KeepTicket, decision: Decision, now: datetime) -> bool:
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": _ticket_key(digest),
                            "UpdateExpression": "SET used_at = :at",
                            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(used_at) "
                            "AND deadline > :now",
                            "ExpressionAttributeValues": to_item({":at": decision.at, ":now": int(now.timestamp())}),
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": self._decision_item(ticket.reclamation_id, decision),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as exc:
            if cancelled_by_condition(exc):
                return False
            raise
        return True

    def _decision_item(self, reclamation_id: str, decision: Decision) -> dict[str, AttributeValueTypeDef]:
        return {
            **key(f"RECLAMATION#{reclamation_id}", f"DECISION#{decision.user_id}"),
            **to_item({"status": decision.status, "document": decision.model_dump_json()}),
        }

    def settle_decision(self, reclamation_id: str, decision: Decision) -> bool:
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=self._decision_item(reclamation_id, decision),
                ConditionExpression="#status = :awaiting",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_item({":awaiting": "awaiting_approval"}),
            )
        except ClientError as exc:
            if cancelled_by_condition(exc):
                return False
            raise
        return True

    def keep_seat(self, profile_id: str, user_id: str, until: datetime) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item={
                **key(f"PROFILE#{profile_id}", f"KEPT#{user_id}"),
                **to_item({"until": until.isoformat(timespec="seconds"), "expires_at": int(until.timestamp())}),
            },
        )
