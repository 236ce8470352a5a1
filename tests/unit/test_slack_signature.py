"""Slack's request signature, as "Verifying requests from Slack" (api.slack.com/authentication/
verifying-requests-from-slack) defines it: its published example, then each way a request is refused."""

from __future__ import annotations

import pytest

from seatkeeper.core.errors import InvalidInput
from seatkeeper.saas.slack import SlackRequestRefused, read_click, verify_request

# The docs' example request: a slash command's form body, signed at 1531420618.
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
STAMP = "1531420618"
BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_slacks_published_example_is_accepted():
    # Given the docs' example, checked at the moment it was signed: no error
    assert verify_request(SECRET, timestamp=STAMP, signature=SIGNATURE, body=BODY, now=int(STAMP)) is None
    # And still 5 minutes later, the oldest a request may be
    assert verify_request(SECRET, timestamp=STAMP, signature=SIGNATURE, body=BODY, now=int(STAMP) + 300) is None


@pytest.mark.parametrize(
    ("what", "timestamp", "signature", "body", "now", "said"),
    [
        ("another secret's signature", STAMP, "v0=" + "a" * 64, BODY, int(STAMP), "does not match"),
        ("a changed body", STAMP, SIGNATURE, BODY.replace("foobar", "foobaz"), int(STAMP), "does not match"),
        ("a changed timestamp", str(int(STAMP) + 1), SIGNATURE, BODY, int(STAMP), "does not match"),
        ("six minutes old", STAMP, SIGNATURE, BODY, int(STAMP) + 360, "five minutes"),
        ("six minutes ahead", STAMP, SIGNATURE, BODY, int(STAMP) - 360, "five minutes"),
        ("no timestamp", None, SIGNATURE, BODY, int(STAMP), "no Slack signature"),
        ("no signature", STAMP, None, BODY, int(STAMP), "no Slack signature"),
        ("a timestamp that is no number", "1531420618.5", SIGNATURE, BODY, int(STAMP), "five minutes"),
        ("the signature without its version", STAMP, SIGNATURE[3:], BODY, int(STAMP), "does not match"),
    ],
)
def test_a_request_not_signed_by_slack_now_is_refused(what, timestamp, signature, body, now, said):
    with pytest.raises(SlackRequestRefused, match=said):
        verify_request(SECRET, timestamp=timestamp, signature=signature, body=body, now=now)


def test_a_click_reads_its_decision_token_and_message():
    # Given the block_actions payload of a button (docs.slack.dev/reference/interaction-payloads/block_actions-payload)
    body = (
        "payload=%7B%22type%22%3A%22block_actions%22%2C%22container%22%3A%7B%22type%22%3A%22message%22%2C"
        "%22message_ts%22%3A%221548261231.000200%22%2C%22channel_id%22%3A%22D0ABCDEFGH%22%7D%2C%22actions"
        "%22%3A%5B%7B%22action_id%22%3A%22keep%22%2C%22value%22%3A%22tok%22%2C%22type%22%3A%22button%22%7D%5D%7D"
    )
    click = read_click(body)
    assert (click.decision, click.token, click.channel_id, click.message_ts) == (
        "keep",
        "tok",
        "D0ABCDEFGH",
        "1548261231.000200",
    )


def test_a_body_that_is_no_click_is_invalid_input():
    with pytest.raises(InvalidInput):
        read_click("payload=%7B%22type%22%3A%22block_actions%22%2C%22actions%22%3A%5B%5D%7D")
