"""Every message seatkeeper sends, in one place: a plain-text and an HTML part of each kind (SPEC "Notifications").

Values that come from a SaaS app or an IdP (a user's name, an app's name, a role) are escaped where
they enter the HTML, here and nowhere else; the text part carries them as they are, which a mail
client never interprets. No remote image or style sheet: a mail client that loads one tells the
sender who opened the mail and when. The only link a keep prompt carries is the user's own keep link.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from seatkeeper.notify.channels import Action, Message


@dataclass(frozen=True)
class Brand:
    """Who is speaking: the company's name, and the dashboard where an admin acts (settings)."""

    company: str = "seatkeeper"
    dashboard_url: str | None = None


def _html(brand: Brand, title: str, paragraphs: list[str], actions: tuple[Action, ...] = ()) -> str:
    # `paragraphs` are HTML already: each caller escapes the values it puts in them.
    buttons = "".join(
        f'<a href="{escape(a.url, quote=True)}" style="display:inline-block;padding:8px 16px;margin-right:8px;'
        f'border:1px solid #333;border-radius:4px;color:#111;text-decoration:none">{escape(a.label)}</a>'
        for a in actions
    )
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    footer = escape(brand.company)
    if brand.dashboard_url:
        footer += f' · <a href="{escape(brand.dashboard_url, quote=True)}">dashboard</a>'
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>'
        f'{escape(title)}</title></head><body style="font-family:sans-serif;max-width:600px">'
        f"<h2>{escape(title)}</h2>{body}<p>{buttons}</p>"
        f'<p style="color:#666;font-size:12px">{footer}</p></body></html>'
    )


def _text(brand: Brand, paragraphs: list[str], actions: tuple[Action, ...] = ()) -> str:
    lines = [*paragraphs, *(f"{a.label}: {a.url}" for a in actions), "--", brand.company]
    if brand.dashboard_url:
        lines.append(brand.dashboard_url)
    return "\n\n".join(lines) + "\n"


def keep_prompt(
    brand: Brand,
    *,
    app: str,
    user_name: str | None,
    last_used: str | None,
    reclaim_at: str,
    keep_url: str | None,
    token: str | None,
    reminder: int = 0,
    downgrade_to: str | None = None,
) -> Message:
    """'Do you still need <app>?' to the seat's user, with their keep link as the buttons."""
    actions: tuple[Action, ...] = ()
    if keep_url:
        actions = (
            Action(label="Keep my license", url=keep_url, action_id="keep", value=token),
            Action(label="Release it", url=keep_url, action_id="release", value=token),
        )
    used = f"last used {last_used[:10]}" if last_used else "no recorded use"
    day = reclaim_at[:10]
    greeting = f"Hello {user_name}," if user_name else "Hello,"
    subject = f"{'Reminder: ' if reminder else ''}Do you still need {app}?"
    question = f"Do you still need your {app} license? It has {used}."
    done = f"it moves to the {downgrade_to} tier" if downgrade_to else "it is reclaimed"
    deadline = f"Unless you keep it, {done} on {day}."
    html = _html(
        brand,
        subject,
        [
            escape(greeting),
            f"Do you still need your <b>{escape(app)}</b> license? It has {escape(used)}.",
            escape(deadline),
        ],
        actions,
    )
    return Message(
        kind="keep_prompt",
        subject=subject,
        text=_text(brand, [greeting, question, deadline], actions),
        html=html,
        actions=actions,
    )


def approval_request(brand: Brand, *, app: str, what: str, count: int | None = None) -> Message:
    """A reclamation waits for approval, or a user's keep request does: the admin acts on the dashboard."""
    review = (Action(label="Review", url=brand.dashboard_url, action_id="review"),) if brand.dashboard_url else ()
    subject = f"Approval needed: {app}"
    line = f"{what}" + (f" ({_seats(count)})" if count is not None else "")
    return Message(
        kind="approval_request",
        subject=subject,
        text=_text(brand, [f"{app}: {line}", "Review it on the dashboard."], review),
        html=_html(brand, subject, [f"<b>{escape(app)}</b>: {escape(line)}", "Review it on the dashboard."], review),
        actions=review,
    )


def reclaim_not_effective(brand: Brand, *, app: str, user: str, reclaimed_on: str) -> Message:
    """A seat the app accepted to take back and still holds: an admin looks, in the app or on the dashboard."""
    review = (Action(label="Review", url=brand.dashboard_url, action_id="review"),) if brand.dashboard_url else ()
    subject = f"Needs attention: {app} still holds a reclaimed seat"
    line = (
        f"{app} accepted the reclaim of {user}'s seat on {reclaimed_on}, and its next sync still lists the seat. "
        "seatkeeper will not send it again by itself: take the seat back in the app, or name the user in a new plan."
    )
    html_line = (
        f"<b>{escape(app)}</b> accepted the reclaim of {escape(user)}'s seat on {escape(reclaimed_on)}, and its next "
        "sync still lists the seat. seatkeeper will not send it again by itself: take the seat back in the app, "
        "or name the user in a new plan."
    )
    return Message(
        kind="reclaim_not_effective",
        subject=subject,
        text=_text(brand, [line], review),
        html=_html(brand, subject, [html_line], review),
        actions=review,
    )


def renewal_reminder(
    brand: Brand, *, app: str, renewal_date: str, opt_out_deadline: str, days_left: int, recommended: int | None
) -> Message:
    subject = f"{app} renews on {renewal_date}: decide by {opt_out_deadline}"
    lines = [
        f"{app} renews on {renewal_date}. The opt-out deadline is {opt_out_deadline}, in {days_left} days.",
    ]
    if recommended is not None:
        lines.append(f"Seats recommended at renewal: {recommended}.")
    return Message(
        kind="renewal_reminder",
        subject=subject,
        text=_text(brand, lines),
        html=_html(brand, subject, [escape(line) for line in lines]),
    )


def low_seats(brand: Brand, *, app: str, free: int, purchased: int, threshold: int) -> Message:
    subject = f"{app}: {free} licenses left"
    line = f"{app} has {free} free licenses of {purchased}, fewer than the {threshold} its policy warns at."
    return Message(
        kind="low_seats", subject=subject, text=_text(brand, [line]), html=_html(brand, subject, [escape(line)])
    )


def _seats(count: int) -> str:
    return f"{count} seat" if count == 1 else f"{count} seats"


def reconnect_needed(brand: Brand, *, app: str) -> Message:
    """An OAuth grant the authorization server refused: someone who may connect grants access again."""
    dashboard = brand.dashboard_url
    reconnect = (Action(label="Reconnect", url=dashboard, action_id="review"),) if dashboard else ()
    subject = f"{app}: reconnect needed"
    lines = [
        f"The authorization server of {app} refused seatkeeper's grant (it expired or was revoked).",
        "Until someone reconnects it on the dashboard, seatkeeper neither syncs it nor reclaims any of its seats.",
    ]
    return Message(
        kind="reconnect_needed",
        subject=subject,
        text=_text(brand, lines, reconnect),
        html=_html(brand, subject, [escape(line) for line in lines], reconnect),
        actions=reconnect,
    )


def digest(
    brand: Brand,
    *,
    week: str,
    reclaimed: list[tuple[str, int, str]],
    waiting: list[tuple[str, int]],
    renewing: list[tuple[str, str]],
) -> Message:
    """The week for admins: what was reclaimed and what it saves, what waits for them, what renews soon.

    `reclaimed` is (app, seats, saving per period from the day it starts), `waiting` (app, seats), `renewing`
    (app, opt-out deadline).
    """
    subject = f"seatkeeper this week ({week})"
    sections = [
        ("Reclaimed", [f"{app}: {_seats(seats)}, saving {saving}" for app, seats, saving in reclaimed]),
        ("Waiting for an admin", [f"{app}: {_seats(seats)} to approve" for app, seats in waiting]),
        ("Renewing in the next 30 days", [f"{app}: decide by {deadline}" for app, deadline in renewing]),
    ]
    text = [
        f"{title}:\n" + ("\n".join(f"- {line}" for line in lines) if lines else "- nothing")
        for title, lines in sections
    ]
    html = [
        f"<b>{escape(title)}</b><br>" + ("<br>".join(escape(line) for line in lines) if lines else "nothing")
        for title, lines in sections
    ]
    review = (
        (Action(label="Open the dashboard", url=brand.dashboard_url, action_id="review"),)
        if brand.dashboard_url
        else ()
    )
    return Message(
        kind="digest", subject=subject, text=_text(brand, text, review), html=_html(brand, subject, html, review)
    )
