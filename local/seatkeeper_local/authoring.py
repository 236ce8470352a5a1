"""`seatkeeper profile draft|preview|create`: a profile drafted from the vendor's API description, tried
against its app, then added in one step.

The draft is made here, by the domain's drafting, from a document of any size. Preview and create speak
to a seatkeeper API (the running local stack, or any given a URL and a token) as the dashboard does:
POST /profiles/preview, then POST /profiles and its connection. A failed create leaves nothing behind:
the profile is deleted again when its credential does not connect.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests

from seatkeeper_local.report import table

CONNECT_WAIT_SECONDS = 60
# A drafted profile file keeps its notes beside the profile's fields; preview and create leave them out.
DRAFT_NOTES = "draft_notes"


class ProfileRefused(Exception):
    """The API refused the profile or its credential; the message names the fields."""


def read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ProfileRefused(f"{what} {path}: {exc}") from None
    if not isinstance(value, dict):
        raise ProfileRefused(f"{what} {path}: not a JSON object")
    return value


def read_profile(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A profile file, and the draft's notes if it is a draft."""
    profile = read_json(path, "profile")
    notes = profile.pop(DRAFT_NOTES, None)
    return profile, notes if isinstance(notes, list) else []


def draft(document: Path) -> dict[str, Any]:
    """A profile drafted from an OpenAPI 3 or Swagger 2 document, its notes beside its fields."""
    from seatkeeper.core.errors import InvalidInput
    from seatkeeper.profiles.drafting import draft_profile, parse_document

    try:
        found = draft_profile(parse_document(document.read_bytes()))
    except OSError as exc:
        raise ProfileRefused(f"OpenAPI document {document}: {exc}") from None
    except InvalidInput as exc:
        raise ProfileRefused(f"OpenAPI document {document}: {'; '.join(e['msg'] for e in exc.errors)}") from None
    return {**found.profile, DRAFT_NOTES: [note.model_dump(mode="json") for note in found.draft_notes]}


def render_notes(notes: list[dict[str, Any]]) -> str:
    """The draft's guesses, least sure first: what to check before anything else."""
    ordered = sorted(notes, key=lambda n: n.get("confidence", 0))
    return table(
        ["field", "guess", "confidence", "why"],
        [
            [n["field"], "-" if n["guess"] is None else json.dumps(n["guess"])[:60], f"{n['confidence']:.2f}", n["why"]]
            for n in ordered
        ],
    )


def _refusal(answer: requests.Response) -> ProfileRefused:
    try:
        body = answer.json()
    except ValueError:
        return ProfileRefused(f"{answer.status_code}: {answer.text[:300]}")
    fields = [f"  {'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in body.get("detail") or []]
    return ProfileRefused("\n".join([f"{answer.status_code}: {body.get('message', '')}", *fields]))


def preview(
    url: str, token: str, profile: dict[str, Any], credential: dict[str, Any], max_pages: int
) -> dict[str, Any]:
    answer = requests.post(
        f"{url}/profiles/preview",
        json={"profile": profile, "credential": credential, "max_pages": max_pages},
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    if answer.status_code != 200:
        raise _refusal(answer)
    return answer.json()


def render_preview(found: dict[str, Any]) -> str:
    """The preview as a person reads it: what to fix first, then the users, the fields, the requests."""
    parts = []
    if found.get("error"):
        parts.append(f"error: {found['error']}")
    parts += [f"warning: {w['message']}" for w in found.get("warnings", [])]
    users = found["users"]
    # The more lists' users (users.also) come after the users list's: say how many of each kind there are.
    kinds = Counter(u["kind"] for u in users if u.get("kind"))
    parts.append(
        f"\n{len(users)} users read{''.join(f', {n} of them {kind}' for kind, n in kinds.items())};"
        f" paging {found.get('paging') or 'stopped'}\n"
        + table(
            ["id", "email", "name", "active", "last_activity", "role"],
            [
                [u["id"], u["email"] or "-", u["name"] or "-", u["active"], u["last_activity"] or "-", u["role"] or "-"]
                for u in users[:20]
            ],
        )
    )
    fields = []
    for name, field in found["fields"].items():
        hint = f"records have {field['suggestion']!r}" if field.get("suggestion") else ""
        fields.append([name, field["path"], f"{field['matched']} of {field['of']}", hint])
    parts.append("\n" + table(["field", "path", "matched", ""], fields))
    parts.append(
        "\n"
        + table(
            ["request", "status", "ms", "next page"],
            [
                [
                    f"{r['method']} {r['url']}",
                    r["status"] or r.get("problem") or "-",
                    r["elapsed_ms"],
                    r["next_page"] or "-",
                ]
                for r in found["requests"]
            ],
        )
    )
    for removal in [found.get("removal"), *found.get("more_removals", [])]:
        if removal:
            body = f" {json.dumps(removal['body'])}" if removal.get("body") is not None else ""
            of = f" ({removal['kind']})" if removal.get("kind") else ""
            parts.append(
                f"\nremoval of {removal['user_id']}{of} (not sent): {removal['method']} {removal['url']}{body}"
            )
    return "\n".join(parts)


def create(url: str, token: str, profile: dict[str, Any], credential: dict[str, Any]) -> dict[str, Any]:
    """Preview, create and connect, or leave nothing: the profile is deleted again if it does not connect."""
    headers = {"Authorization": f"Bearer {token}"}
    found = preview(url, token, profile, credential, 1)
    if found.get("error"):
        raise ProfileRefused(f"the app refused the preview: {found['error']}")
    answer = requests.post(f"{url}/profiles", json=profile, headers=headers, timeout=30)
    if answer.status_code != 201:
        raise _refusal(answer)
    created = answer.json()
    try:
        started = requests.post(
            f"{url}/profiles/{created['id']}/connection", json=credential, headers=headers, timeout=30
        )
        if started.status_code != 202:
            raise _refusal(started)
        deadline = time.monotonic() + CONNECT_WAIT_SECONDS
        while True:
            status = requests.get(f"{url}/profiles/{created['id']}/connection", headers=headers, timeout=30).json()
            if status["status"] == "connected":
                return created
            if status["status"] == "failed" or time.monotonic() > deadline:
                raise ProfileRefused(f"the connection failed: {status.get('error') or status['status']}")
            time.sleep(0.5)
    except BaseException:
        requests.delete(f"{url}/profiles/{created['id']}", headers=headers, timeout=30)
        raise
