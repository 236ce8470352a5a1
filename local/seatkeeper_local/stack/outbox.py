"""What the local stack mailed: moto's SES keeps every message it accepted (`GET /moto-api/data.json`).

moto keeps a message's subject, sender, recipients and one body (the HTML part when there is one);
`text_of` reads that HTML as a person would, links shown after their label.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser

import requests


@dataclass(frozen=True)
class Mail:
    id: str
    sender: str
    to: tuple[str, ...]
    subject: str
    body: str

    @property
    def text(self) -> str:
        return text_of(self.body)


def sent_mail(aws_endpoint: str, to: str | None = None) -> list[Mail]:
    """Every mail moto's SES accepted, oldest first; only those to `to` when given (case-insensitive)."""
    data = requests.get(f"{aws_endpoint}/moto-api/data.json", timeout=10).json()
    mails = [
        Mail(
            id=m["id"],
            sender=m["source"],
            to=tuple(a for addresses in m["destinations"].values() for a in addresses),
            subject=m["subject"],
            body=m["body"],
        )
        for m in data.get("ses", {}).get("Message", [])
    ]
    if to is None:
        return mails
    return [m for m in mails if to.casefold() in (a.casefold() for a in m.to)]


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._href: str | None = None
        self._skip = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("title", "style", "script"):
            self._skip = True
        if tag == "a":
            self._href = dict(attrs).get("href")
        if tag in ("p", "h1", "h2", "br", "div"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("title", "style", "script"):
            self._skip = False
        if tag == "a" and self._href:
            self.parts.append(f" <{self._href}>  ")
            self._href = None

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def text_of(body: str) -> str:
    parser = _Text()
    parser.feed(body)
    text = html.unescape("".join(parser.parts))
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()
