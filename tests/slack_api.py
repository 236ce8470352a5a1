"""A Slack workspace of our own: the three Web API methods seatkeeper calls, on 127.0.0.1.

Built from Slack's published Web API description, slackapi/slack-api-specs web-api/slack_web_openapi_v2.json
at commit bc08db49625630e3585bf2f1322128ea04f2a7f3 (info.version 1.7.0), whose extract is
tests/vendor_specs/slack/web_api.json: `users.lookupByEmail` (GET, token, email), `chat.postMessage` and
`chat.update` (POST, form or JSON). Success answers follow each method's success schema and example; errors
are HTTP 200 with `{"ok": false, "error": <a code of the method's error enum>}`, as the spec's `default`
responses say. Rate limits follow Slack's "Rate limits" page (api.slack.com/docs/rate-limits): HTTP 429
with Retry-After; the body's code is the spec's spelling for chat.postMessage, `rate_limited`.
tests/integration/test_slack_channel.py checks every answer the fake gives against those schemas.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from seatkeeper_local.fakes.serving import serving

TEAM = "T0SEATKEEP"
BOT_USER = "U0SEATBOT1"


def slack_user(n: int, email: str) -> dict[str, Any]:
    """A user as the spec's users.lookupByEmail example shows one."""
    name = email.split("@", maxsplit=1)[0]
    return {
        "id": f"W0{n:08d}",
        "team_id": TEAM,
        "name": name,
        "deleted": False,
        "color": "9f69e7",
        "real_name": name.title(),
        "tz": "Europe/Berlin",
        "tz_label": "Central European Time",
        "tz_offset": 3600,
        "profile": {
            "avatar_hash": "ge3b51ca72de",
            "display_name": name,
            "display_name_normalized": name,
            "email": email,
            "real_name": name.title(),
            "real_name_normalized": name.title(),
            "status_emoji": "",
            "status_text": "",
            "team": TEAM,
            "title": "",
            "phone": "",
            "skype": "",
            "fields": None,
        },
        "is_admin": False,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": False,
        "is_app_user": False,
        "updated": 1502138686,
        "has_2fa": False,
    }


@dataclass
class SlackWorkspace:
    url: str
    bot_token: str
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # by e-mail address
    dms: dict[str, str] = field(default_factory=dict)  # user id -> its DM channel with the bot
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (channel, ts) -> message
    posted: list[dict[str, Any]] = field(default_factory=list)  # chat.postMessage arguments, in order
    updated: list[dict[str, Any]] = field(default_factory=list)  # chat.update arguments, in order
    # (method, HTTP status, headers, body) of every answer, for the schema checks
    answers: list[tuple[str, int, dict[str, str], Any]] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)  # the Authorization header of every request
    rate_limited: int = 0  # the next N chat.postMessage calls answer 429
    retry_after: int = 30
    down: int = 0  # the next N calls of any method answer 503
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def add_user(self, email: str) -> dict[str, Any]:
        user = slack_user(len(self.users) + 1, email)
        self.users[email.lower()] = user
        self.dms[user["id"]] = "D0" + user["id"][2:].rjust(8, "0")
        return user

    def next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def answer(self, method: str, args: dict[str, Any], authorization: str | None) -> tuple[int, dict[str, str], Any]:
        with self.lock:
            self.authorizations.append(authorization)
            if self.down:
                self.down -= 1
                return 503, {"Content-Type": "text/plain"}, "Service Unavailable"
            if method == "chat.postMessage" and self.rate_limited:
                self.rate_limited -= 1
                return 429, {"Retry-After": str(self.retry_after)}, {"ok": False, "error": "rate_limited"}
            token = (authorization or "").removeprefix("Bearer ") or args.get("token")
            if not token:
                return 200, {}, {"ok": False, "error": "not_authed"}
            if token != self.bot_token:
                return 200, {}, {"ok": False, "error": "invalid_auth"}
            return 200, {}, getattr(self, method.replace(".", "_"))(args)

    def users_lookupByEmail(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("email", "")).lower())
        return {"ok": True, "user": user} if user else {"ok": False, "error": "users_not_found"}

    def _channel(self, channel: str) -> str | None:
        # A user id as the channel opens (or reuses) the DM with that user (chat.postMessage, "Channels").
        if channel in self.dms:
            return self.dms[channel]
        return channel if channel in self.dms.values() else None

    def chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(str(args.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = self.next_ts()
        message = {"type": "message", "user": BOT_USER, "text": args.get("text", ""), "ts": ts, "team": TEAM}
        if args.get("blocks"):
            message["blocks"] = _blocks(args["blocks"])
        self.messages[(channel, ts)] = message
        self.posted.append({**args, "channel_id": channel, "ts": ts})
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        if self._channel(channel) is None:
            return {"ok": False, "error": "channel_not_found"}
        message = self.messages.get((channel, ts))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message["text"] = args.get("text", message["text"])
        if "blocks" in args:
            message["blocks"] = _blocks(args["blocks"])
        self.updated.append(args)
        return {"ok": True, "channel": channel, "ts": ts, "text": message["text"], "message": {"text": message["text"]}}


def _blocks(blocks: Any) -> Any:
    # Form-encoded calls carry blocks as a JSON string ("presented as a URL-encoded string").
    return json.loads(blocks) if isinstance(blocks, str) else blocks


@contextmanager
def slack_workspace(bot_token: str = "xoxb-test-token-not-real") -> Iterator[SlackWorkspace]:
    holder: dict[str, SlackWorkspace] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _method(self) -> str:
            return urlsplit(self.path).path.rsplit("/", 1)[-1]

        def do_GET(self) -> None:
            args = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            self._answer(args)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            if (self.headers.get("Content-Type") or "").startswith("application/json"):
                args = json.loads(raw or "{}")
            else:
                args = {k: v[0] for k, v in parse_qs(raw).items()}
            self._answer(args)

        def _answer(self, args: dict[str, Any]) -> None:
            workspace, method = holder["workspace"], self._method()
            if method not in ("users.lookupByEmail", "chat.postMessage", "chat.update"):
                status, headers, body = 200, {}, {"ok": False, "error": "unknown_method"}
            else:
                status, headers, body = workspace.answer(method, args, self.headers.get("Authorization"))
                workspace.answers.append((method, status, headers, body))
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", headers.pop("Content-Type", "application/json; charset=utf-8"))
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    with serving(Handler) as server:
        workspace = SlackWorkspace(url=f"http://127.0.0.1:{server.server_address[1]}/api", bot_token=bot_token)
        holder["workspace"] = workspace
        yield workspace
