"""The opaque cursors that the API's pages give out: a position in a list, base64url JSON."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from seatkeeper.core.errors import InvalidInput


def encode_cursor(position: dict[str, Any] | None) -> str | None:
    if position is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        position = None
    if not isinstance(position, dict) or not all(isinstance(v, str) for v in position.values()):
        raise InvalidInput.at(("query", "cursor"), "not a cursor this API gave out", "cursor_invalid")
    return position
