"""The e-mail channel: Amazon SES v2 `SendEmail`, a plain-text and an HTML part, from `notifications.from`.

The sender must be an identity SES has verified (in the SES sandbox, every recipient too: README,
"Setting up e-mail"). SES's throttling and its own outages are worth another try (ChannelUnavailable);
a message SES rejects for its recipient is not (RecipientUnreachable). The address is never part of
an error's message beyond the delivery record that names it already.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from seatkeeper.aws.clients import aws_client
from seatkeeper.notify.channels import ChannelName, ChannelUnavailable, Message, Recipient, RecipientUnreachable, Sent

# SES v2's errors (API reference, SendEmail): these say the message may go through later.
RETRYABLE = {"TooManyRequestsException", "LimitExceededException", "SendingPausedException", "InternalFailure",
             "ServiceUnavailable", "ThrottlingException"}  # fmt: skip


class SESEmail:
    name: ChannelName = "email"

    def __init__(self, sender: str, client: Any = None, configuration_set: str | None = None) -> None:
        self.sender = sender
        self.configuration_set = configuration_set
        self._client = client

    @cached_property
    def client(self) -> Any:
        return self._client or aws_client("sesv2")

    def send(self, message: Message, to: Recipient) -> Sent:
        request: dict[str, Any] = {
            "FromEmailAddress": self.sender,
            "Destination": {"ToAddresses": [to.email]},
            "Content": {
                "Simple": {
                    "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": message.text, "Charset": "UTF-8"},
                        "Html": {"Data": message.html, "Charset": "UTF-8"},
                    },
                }
            },
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        try:
            answer = self.client.send_email(**request)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in RETRYABLE or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
                raise ChannelUnavailable(f"SES did not take the message now ({code})") from None
            raise RecipientUnreachable(f"SES refused the message ({code})") from None
        except BotoCoreError as exc:
            raise ChannelUnavailable(f"SES could not be reached ({type(exc).__name__})") from None
        return Sent(provider_message_id=answer.get("MessageId"), recipient=to.email)
