"""Reclamations, their users' claimed actions, the approval queue and the year's savings on the seatkeeper table."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from seatkeeper.aws.dynamodb.snapshots import WRITES_IN_FLIGHT, DynamoDBSync
from seatkeeper.aws.dynamodb.table import Table, cancelled_by_condition, from_item, key, to_item

# Cold start: the domain models of this aggregate's items are imported by the methods that read them,
# so that a function that only writes or lists them does not load them (README, Benchmarks: cold start).
if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, TransactWriteItemTypeDef

    from seatkeeper.licensing.reclamation import Decision, Reclamation, ReclamationSummary, Saving, UserOutcome
    from seatkeeper.sync.runs import TakenBack


def _action_key(reclamation_id: str, user_id: str) -> dict[str, AttributeValueTypeDef]:
    return key(f"RECLAMATION#{reclamation_id}", f"USER#{user_id}")


def _taken_back_key(profile_id: str, user_id: str) -> dict[str, AttributeValueTypeDef]:
    return key(f"PROFILE#{profile_id}", f"TAKEN_BACK#{user_id}")


# A finished reclamation is written again only when a sync finds one of its seats still held: its savings follow.
_FINISHED = ("completed", "partially_failed", "canceled")


class DynamoDBReclamations(Table):
    """ReclamationStore on the seatkeeper table, with the lists and sums the dashboard reads."""

    def _key(self, reclamation_id: str) -> dict[str, AttributeValueTypeDef]:
        return key(f"RECLAMATION#{reclamation_id}", "RECLAMATION")

    def _item(self, reclamation: Reclamation) -> dict[str, AttributeValueTypeDef]:
        # Cold start: the reclamation's models where its items are read (module docstring).
        from seatkeeper.licensing.reclamation import ReclamationSummary

        return {
            **self._key(reclamation.id),
            **to_item(
                {
                    "status": reclamation.status,
                    "gsi1pk": f"RECLAMATIONS#{reclamation.profile_id}",
                    "gsi1sk": f"{reclamation.created_at}#{reclamation.id}",
                    "summary": ReclamationSummary.of(reclamation).model_dump_json(),
                    # Every change adds to the audit trail: its length is the record's revision.
                    "revision": len(reclamation.audit),
                    "document": reclamation.model_dump_json(),
                }
            ),
        }

    @staticmethod
    def _waiting_key(reclamation: Reclamation) -> dict[str, AttributeValueTypeDef]:
        return key("AWAITING_APPROVAL", f"{reclamation.created_at}#{reclamation.id}")

    def _bookkeeping(self, reclamation: Reclamation, *, was: str | None) -> list[TransactWriteItemTypeDef]:
        """What else changes with the reclamation: the approval queue, and the year's savings once it is done."""
        # Cold start: the reclamation's models where its items are read (module docstring).
        from seatkeeper.licensing.reclamation import ReclamationSummary, Saving

        writes: list[TransactWriteItemTypeDef] = []
        waiting = self._waiting_key(reclamation)
        # Written again while it waits too: an excluded user changes the count the queue shows.
        if reclamation.status == "awaiting_approval":
            summary = ReclamationSummary.of(reclamation).model_dump_json()
            writes.append({"Put": {"TableName": self.table_name, "Item": {**waiting, **to_item({"summary": summary})}}})
        elif was == "awaiting_approval":
            writes.append({"Delete": {"TableName": self.table_name, "Key": waiting}})
        saving = Saving.of(reclamation)
        # From its grace period too: an admin's cancel keeps what its users released meanwhile.
        if was in ("running", "in_grace_period") and saving is not None:
            # Keyed by the reclamation: a retried finish writes the same item again, never a second one.
            item = {
                **key(f"SAVINGS#{saving.finished_at.year}", f"{reclamation.finished_at}#{reclamation.id}"),
                **to_item({"document": saving.model_dump_json()}),
            }
            writes.append({"Put": {"TableName": self.table_name, "Item": item}})
        elif was in _FINISHED and reclamation.finished_at is not None:
            year = datetime.fromisoformat(reclamation.finished_at).year
            saved = key(f"SAVINGS#{year}", f"{reclamation.finished_at}#{reclamation.id}")
            if saving is None:
                writes.append({"Delete": {"TableName": self.table_name, "Key": saved}})
            else:
                item = {**saved, **to_item({"document": saving.model_dump_json()})}
                writes.append({"Put": {"TableName": self.table_name, "Item": item}})
        return writes

    def put_reclamation(self, reclamation: Reclamation) -> None:
        put: TransactWriteItemTypeDef = {"Put": {"TableName": self.table_name, "Item": self._item(reclamation)}}
        self.client.transact_write_items(TransactItems=[put, *self._bookkeeping(reclamation, was=None)])

    def get_reclamation(self, reclamation_id: str) -> Reclamation:
        # Cold start: the reclamation's models where its items are read (module docstring).
        from seatkeeper.licensing.reclamation import Reclamation, ReclamationNotFound

        item = self.client.get_item(TableName=self.table_name, Key=self._key(reclamation_id), ConsistentRead=True).get(
            "Item"
        )
        if item is None:
            raise ReclamationNotFound(reclamation_id)
        return Reclamation.model_validate_json(from_item(item)["document"])

    def replace_reclamation(
        self, reclamation: Reclamation, *, expected_status: str, expected_revision: int | None = None
    ) -> None:
        # Cold start: the reclamation's models where its items are read (module docstring).
        from seatkeeper.licensing.reclamation import ReclamationConflict

        condition, values = "#status = :expected", {":expected": expected_status}
        if expected_revision is not None:
            condition += " AND (attribute_not_exists(revision) OR revision = :revision)"
            values[":revision"] = expected_revision  # type: ignore[assignment]
        put: TransactWriteItemTypeDef = {
            "Put": {
                "TableName": self.table_name,
                "Item": self._item(reclamation),
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": to_item(values),
            }
        }
        try:
            self.client.transact_write_items(TransactItems=[put, *self._bookkeeping(reclamation, was=expected_status)])
        except ClientError as exc:
            if cancelled_by_condition(exc):
                raise ReclamationConflict(
                    f"reclamation {reclamation.id} is no longer {expected_status}, or changed meanwhile"
                ) from None
            raise

    def reclamations(self, profile_id: str, limit: int) -> list[ReclamationSummary]:
        """The profile's reclamations, newest first."""
        # Cold start: the reclamation's models where its items are read (module docstring).
        from seatkeeper.licensing.reclamation import ReclamationSummary

        answer = self.client.query(
            TableName=self.table_name,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :kind",
            ExpressionAttributeValues=to_item({":kind": f"RECLAMATIONS#{profile_id}"}),
            ProjectionExpression="summary",
            ScanIndexForward=False,
            Limit=limit,
        )
        return [ReclamationSummary.model_validate_json(from_item(i)["summary"]) for i in answer["Items"]]

    def awaiting_approval(self) -> list[ReclamationSummary]:
        """Every reclamation that waits for an admin, oldest first."""
        # Cold start: the reclamation's models where its items are read (module docstring).
        from seatkeeper.licensing.reclamation import ReclamationSummary

        found: list[ReclamationSummary] = []
        for page in self.client.get_paginator("query").paginate(
            TableName=self.table_name,
            ConsistentRead=True,
            KeyConditionExpression="pk = :queue",
            ExpressionAttributeValues=to_item({":queue": "AWAITING_APPROVAL"}),
        ):
            found += [ReclamationSummary.model_validate_json(from_item(i)["summary"]) for i in page["Items"]]
        return found

    def savings(self, year: int) -> list[Saving]:
        """What each reclamation that finished in `year` saves, in the order they finished."""
        # Cold start: the reclamation's models where its items are read (module docstring).
        from seatkeeper.licensing.reclamation import Saving

        found: list[Saving] = []
        for page in self.client.get_paginator("query").paginate(
            TableName=self.table_name,
            ConsistentRead=True,
            KeyConditionExpression="pk = :year",
            ExpressionAttributeValues=to_item({":year": f"SAVINGS#{year}"}),
        ):
            # Sums written before savings were kept per reclamation have no document: they cannot be dated.
            items = map(from_item, page["Items"])
            found += [Saving.model_validate_json(i["document"]) for i in items if "document" in i]
        return found

    def taken_back(self, profile_id: str, *, marked_users: bool = True) -> dict[str, TakenBack]:
        """Every seat of the profile a reclamation took back, by user id, with what the syncs since found.

        `marked_users`: also the marks the code before wrote on stored users only, which takes a query of
        every change to the snapshot: a plan reads them, a commit or a page of users does not.
        """
        # Cold start: the reclamation's models where its items are read (module docstring).
        from seatkeeper.sync.runs import TakenBack

        found: dict[str, TakenBack] = {}
        for page in self.client.get_paginator("query").paginate(
            TableName=self.table_name,
            ConsistentRead=True,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :taken)",
            ExpressionAttributeValues=to_item({":pk": f"PROFILE#{profile_id}", ":taken": "TAKEN_BACK#"}),
        ):
            for item in map(from_item, page["Items"]):
                mark = TakenBack.model_validate_json(item["document"])
                found[mark.user_id] = mark
        if not marked_users:
            return found
        # A seat reclaimed before these items existed is marked on its stored user only, until the next sync.
        base = DynamoDBSync(self.table_name, self._client).base(profile_id)
        for page in self.client.get_paginator("query").paginate(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk",
            FilterExpression="attribute_exists(reclaimed_at)",
            ExpressionAttributeValues=to_item({":pk": f"USERS#{profile_id}"}),
            ProjectionExpression="sk, of_base, reclaimed_at",
        ):
            for item in map(from_item, page["Items"]):
                if item.get("of_base") == base and item["sk"] not in found:
                    found[item["sk"]] = TakenBack(user_id=item["sk"], at=datetime.fromisoformat(item["reclaimed_at"]))
        return found

    def check_taken_back(self, profile_id: str, marks: list[TakenBack]) -> list[str]:
        """Keep what a sync found about taken-back seats; the user ids whose mark a newer reclaim replaced meanwhile.

        One conditional write a seat, WRITES_IN_FLIGHT at a time: a sync after a large reclamation checks
        hundreds (526 on the local stack: 12 s one after the other).
        """

        def keep(mark: TakenBack) -> str | None:
            try:
                self.client.put_item(
                    TableName=self.table_name,
                    Item={
                        **_taken_back_key(profile_id, mark.user_id),
                        **to_item({"taken_at": mark.at.isoformat(), "document": mark.model_dump_json()}),
                    },
                    ConditionExpression="taken_at = :at",
                    ExpressionAttributeValues=to_item({":at": mark.at.isoformat()}),
                )
            except ClientError as exc:
                if cancelled_by_condition(exc):
                    return mark.user_id
                raise
            return None

        if len(marks) <= 1:
            return [user_id for user_id in map(keep, marks) if user_id]
        with ThreadPoolExecutor(min(WRITES_IN_FLIGHT, len(marks))) as pool:
            return [user_id for user_id in pool.map(keep, marks) if user_id]

    def claim_action(self, reclamation_id: str, user_id: str) -> bool:
        return self._put_if_absent(
            {
                **_action_key(reclamation_id, user_id),
                **to_item({"claimed_at": datetime.now(UTC).isoformat(timespec="seconds")}),
            }
        )

    def finish_action(self, reclamation_id: str, profile_id: str, outcome: UserOutcome) -> None:
        # Cold start: the reclamation's models where its items are read (module docstring).
        from seatkeeper.licensing.reclamation import TOOK_BACK

        self.client.update_item(
            TableName=self.table_name,
            Key=_action_key(reclamation_id, outcome.user_id),
            UpdateExpression="SET outcome = :outcome",
            ExpressionAttributeValues=to_item({":outcome": outcome.model_dump_json()}),
        )
        if outcome.outcome in TOOK_BACK:
            # Cold start: the mark's model where it is written (module docstring).
            from seatkeeper.sync.runs import TakenBack

            # Beside the snapshot, which the next sync rewrites: that sync checks the app carried it out.
            mark = TakenBack(
                user_id=outcome.user_id, reclamation_id=reclamation_id, at=datetime.now(UTC), tier=outcome.tier
            )
            self.client.put_item(
                TableName=self.table_name,
                Item={
                    **_taken_back_key(profile_id, outcome.user_id),
                    **to_item({"taken_at": mark.at.isoformat(), "document": mark.model_dump_json()}),
                },
            )
            # The stored user changes outside a commit: the next commit reads the users, not the last object.
            DynamoDBSync._forget_fingerprints(self.client, self.table_name, profile_id, outside_a_commit=True)
            # Shown on the new tier, or as reclaimed, until the next sync reads the user's state from the app.
            changed = (
                {"tier": outcome.tier, "fingerprint": "downgraded"}
                if outcome.tier is not None
                else {
                    "active": False,
                    "reclaimed_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "fingerprint": "reclaimed",
                }
            )
            DynamoDBSync(self.table_name, self._client).change_user(profile_id, outcome.user_id, changed)

    def action_outcome(self, reclamation_id: str, user_id: str) -> UserOutcome | None:
        # Cold start: the reclamation's models where its items are read (module docstring).
        from seatkeeper.licensing.reclamation import UserOutcome

        item = self.client.get_item(
            TableName=self.table_name, ConsistentRead=True, Key=_action_key(reclamation_id, user_id)
        ).get("Item")
        outcome = from_item(item).get("outcome") if item is not None else None
        return UserOutcome.model_validate_json(outcome) if outcome is not None else None

    def acted_on(self, reclamation_id: str) -> dict[str, UserOutcome | None]:
        # Cold start: the reclamation's models where its items are read (module docstring).
        from seatkeeper.licensing.reclamation import UserOutcome

        found: dict[str, UserOutcome | None] = {}
        for page in self.client.get_paginator("query").paginate(
            TableName=self.table_name,
            ConsistentRead=True,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :user)",
            ExpressionAttributeValues=to_item({":pk": f"RECLAMATION#{reclamation_id}", ":user": "USER#"}),
        ):
            for item in map(from_item, page["Items"]):
                outcome = item.get("outcome")
                found[item["sk"].removeprefix("USER#")] = UserOutcome.model_validate_json(outcome) if outcome else None
        return found

    def decisions(self, reclamation_id: str) -> dict[str, Decision]:
        # Cold start: the reclamation's models where its items are read (module docstring).
        from seatkeeper.licensing.reclamation import Decision

        found: dict[str, Decision] = {}
        for page in self.client.get_paginator("query").paginate(
            TableName=self.table_name,
            ConsistentRead=True,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :decision)",
            ExpressionAttributeValues=to_item({":pk": f"RECLAMATION#{reclamation_id}", ":decision": "DECISION#"}),
        ):
            for item in page["Items"]:
                decision = Decision.model_validate_json(from_item(item)["document"])
                found[decision.user_id] = decision
        return found

    def kept(self, profile_id: str) -> dict[str, str]:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        found: dict[str, str] = {}
        for page in self.client.get_paginator("query").paginate(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :kept)",
            ExpressionAttributeValues=to_item({":pk": f"PROFILE#{profile_id}", ":kept": "KEPT#"}),
        ):
            # TTL deletes late (within days): an expired protection is over now, whatever is still stored.
            items = map(from_item, page["Items"])
            found |= {i["sk"].removeprefix("KEPT#"): i["until"] for i in items if i["until"] > now}
        return found
