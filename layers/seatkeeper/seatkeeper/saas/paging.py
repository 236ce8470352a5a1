"""Every record of a SaaS list endpoint, page by page, as the profile's pagination says.

Offset and page pagination with a known total fetch the remaining pages concurrently
(users.max_concurrency at once, all of them waiting together when the app rate-limits);
the others follow the app's own next-page pointer one page at a time. After each page the
fetch can stop and later resume from its `PageCursor`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import closing
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel, ConfigDict

from seatkeeper.core.errors import (
    AddressRefused,
    ResponseTooLarge,
    SaaSRequestFailed,
    SaaSUnavailable,
    UnreadableResponse,
)
from seatkeeper.profiles.model import (
    ActivityEndpoint,
    CursorPagination,
    LinkHeaderPagination,
    MoreSeatHolders,
    NextPageRequest,
    NextUrlPagination,
    NoPagination,
    OffsetPagination,
    PagePagination,
    Pagination,
    UsersEndpoint,
    names_in_braces,
)
from seatkeeper.saas.http import SaaSClient
from seatkeeper.saas.records import (
    KEYS_SEEN_MAX,
    FieldTally,
    SaaSUser,
    UnreadableRecord,
    closest_key,
    keys_in,
    read_user,
    records_in,
    search,
)
from seatkeeper.saas.templating import fill_path

BUFFERED_PAGES = 4  # pages fetched ahead of the one handed on, per page in flight: memory stays bounded
MAX_PAGES = 100_000  # a next-page pointer that never ends is a bug in the app, not 10 million users


class PagingLoops(SaaSRequestFailed):
    """The app's next-page pointer points back at a page read already."""


class PageCursor(BaseModel):
    """Where a fetch continues: the next page's position, or done."""

    model_config = ConfigDict(defer_build=True)

    offset: int | None = None
    page: int | None = None
    cursor: str | None = None
    url: str | None = None
    total: int | None = None
    pages_done: int = 0
    done: bool = False


Page = tuple[list[Any], PageCursor]


@dataclass(frozen=True)
class ListEndpoint:
    """What pagination needs of the users endpoint or the bulk activity endpoint."""

    method: str
    path: str
    params: Mapping[str, str | list[str]]
    pagination: Pagination
    records_path: str
    body: Any = None

    @classmethod
    def of(cls, endpoint: UsersEndpoint | ActivityEndpoint) -> ListEndpoint:
        if isinstance(endpoint, UsersEndpoint):
            method, body = endpoint.method, endpoint.body
        else:
            method, body = "GET", None
        return cls(method, endpoint.path, dict(endpoint.params), endpoint.pagination, endpoint.records_path, body)


def with_page_values(body: Any, values: dict[str, Any]) -> Any:
    """The users request's body with each string that is exactly "{name}" of a pagination parameter
    replaced by its value, keeping the value's JSON type (GraphQL's Int variables refuse "2")."""
    if isinstance(body, dict):
        return {key: with_page_values(value, values) for key, value in body.items()}
    if isinstance(body, list):
        return [with_page_values(value, values) for value in body]
    if isinstance(body, str) and body.startswith("{") and body.endswith("}") and body[1:-1] in values:
        return values[body[1:-1]]
    return body


def _records(endpoint: ListEndpoint, body: Any, total: int | None) -> list[Any]:
    try:
        return records_in(endpoint.records_path, body, total)
    except UnreadableRecord as exc:
        raise UnreadableResponse(str(exc)) from None


def _total(path: str | None, body: Any) -> int | None:
    if not path:
        return None
    value = search(path, body)
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


class PageFetcher:
    def __init__(self, client: SaaSClient, endpoint: ListEndpoint, concurrency: int) -> None:
        self.client = client
        self.endpoint = endpoint
        self.concurrency = max(1, concurrency)
        self.base = urlsplit(client.url("/"))
        # What the pages said that the profile may have got wrong: a sync keeps them as warnings.
        self.notes: list[dict[str, Any]] = []
        # A preview reads a few pages: none is asked for beyond them, not even ahead of time.
        self.most_pages = MAX_PAGES

    def _get(
        self, url: str | None = None, extra: dict[str, Any] | None = None, following: NextPageRequest | None = None
    ) -> tuple[Any, Any]:
        """One page: at `url` (the app's own next-page URL), else at the endpoint's path, or at the
        pagination's `following` request, with the page's parameters in braces where named."""
        values = dict(extra or {})
        if url:
            response = self.client.send(self.endpoint.method, url)
            return self.client.json(response), response
        path = following.path if following else self.endpoint.path
        template = following.body if following else self.endpoint.body
        in_path = names_in_braces(path)
        path = fill_path(path, values) if in_path else path
        body = None
        if template is not None:
            # A body carries the page's parameters itself (a GraphQL query's variables); the
            # first page of a cursor pagination asks with a null cursor.
            if isinstance(self.endpoint.pagination, CursorPagination):
                values.setdefault(self.endpoint.pagination.cursor_param, None)
            params, body = dict(self.endpoint.params), with_page_values(template, values)
        else:
            params = {**self.endpoint.params, **{k: v for k, v in values.items() if k not in in_path}}
        response = self.client.send(self.endpoint.method, self.client.url(path), params=params, body=body)
        return self.client.json(response), response

    def _get_body(self, extra: dict[str, Any]) -> Any:
        return self._get(extra=extra)[0]

    def _same_app(self, url: str) -> str:
        # The next page's URL comes from the app's answer; the credential goes only to the app's own origin.
        absolute = urljoin(self.client.url(self.endpoint.path), url)
        target = urlsplit(absolute)
        if (target.scheme, target.netloc) != (self.base.scheme, self.base.netloc):
            raise SaaSRequestFailed(f"the next page is at {target.netloc}, not at the app's own {self.base.netloc}")
        return absolute

    def pages(self, start: PageCursor | None = None) -> Iterator[Page]:
        """Every page from `start` on, each with the cursor that resumes after it."""
        pagination = self.endpoint.pagination
        cursor = start or PageCursor()
        if cursor.done:
            return
        if isinstance(pagination, NoPagination):
            body, _ = self._get()
            yield _records(self.endpoint, body, None), cursor.model_copy(update={"pages_done": 1, "done": True})
        elif isinstance(pagination, OffsetPagination | PagePagination):
            yield from self._numbered(pagination, cursor)
        else:
            yield from self._linked(pagination, cursor)

    # --- offset and page: numbered pages, concurrent once the total is known ---------------

    def _numbered(self, pagination: OffsetPagination | PagePagination, cursor: PageCursor) -> Iterator[Page]:
        size = pagination.page_size
        # Positions count records (offset) or pages (page); `per_step` records lie between two steps.
        if isinstance(pagination, OffsetPagination):
            first, step, per_step = pagination.first_offset, size, 1

            def params(position: int) -> dict[str, Any]:
                return {pagination.offset_param: position, pagination.limit_param: size}
        else:
            first, step, per_step = pagination.first_page, 1, size

            def params(position: int) -> dict[str, Any]:
                sized = {pagination.size_param: size} if pagination.size_param else {}
                return {pagination.page_param: position, **sized}

        offsets = isinstance(pagination, OffsetPagination)
        position = cursor.offset if cursor.offset is not None else cursor.page if cursor.page is not None else first
        key = "offset" if isinstance(pagination, OffsetPagination) else "page"
        total, pages_done = cursor.total, cursor.pages_done

        def past_end(at: int, total: int) -> bool:
            return (at - first) * per_step >= total

        def last_page(body: Any, records: list[Any]) -> bool:
            # Where the app says whether more follow, its word ends the list (Adobe answers a page
            # past the end with the last page again, so a short page would never come).
            if pagination.has_more_path:
                return not search(pagination.has_more_path, body)
            return len(records) < size

        if total is None:
            body, _ = self._get(extra=params(position))
            total = _total(pagination.total_path, body)
            if total is None and isinstance(pagination, PagePagination) and pagination.total_pages_path:
                pages = _total(pagination.total_pages_path, body)
                total = pages * size if pages is not None else None
            records = _records(self.endpoint, body, total)
            pages_done += 1
            if offsets and total is not None and 0 < len(records) < min(size, total):
                # The app caps its pages below the size asked for, as SCIM allows ("MAY return fewer
                # results", RFC 9865 on count): the next offsets follow what it answered, or users between
                # them would be skipped.
                size = step = len(records)
            position += step
            done = last_page(body, records) if total is None else past_end(position, total)
            yield records, PageCursor(**{key: position}, total=total, pages_done=pages_done, done=done)
            if done:
                return
        if total is None:
            yield from self._numbered_one_by_one(params, last_page, key, position, step=step, pages_done=pages_done)
            return
        remaining: list[int] = []
        while not past_end(position, total) and len(remaining) < self.most_pages - pages_done:
            remaining.append(position)
            position += step
        for at, body in self._in_order(remaining, params):
            pages_done += 1
            following = at + step
            records = _records(self.endpoint, body, total)
            if offsets:
                self._refuse_a_short_page(
                    at - first, records, min(step, total - (at - first)), _total(pagination.total_path, body)
                )
            yield (
                records,
                PageCursor(**{key: following}, total=total, pages_done=pages_done, done=past_end(following, total)),
            )

    def _refuse_a_short_page(self, skipped: int, records: list[Any], expected: int, total_now: int | None) -> None:
        """A page of offsets holding fewer records than asked for, before the end: the offsets after it
        would skip the ones it left out, so the fetch stops rather than miss users."""
        if total_now is not None:
            expected = min(expected, max(total_now - skipped, 0))  # users removed meanwhile end the list sooner
        if len(records) < expected:
            raise SaaSRequestFailed(
                f"the app answered {len(records)} records where {expected} were asked for, before the end of the"
                f" list: set users.pagination.page_size to {len(records)} or lower so that no user is skipped"
            )

    def _in_order(self, positions: list[int], params: Callable[[int], dict[str, Any]]) -> Iterator[tuple[int, Any]]:
        """Each position's page body, in order, `concurrency` pages in flight whichever finishes first (a
        slow page does not idle the other slots), so the cursor after a page handed on is a safe place to
        resume while the next ones download; at most BUFFERED_PAGES times that many wait, done, in memory."""
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="page") as pool:
            upcoming = iter(positions)
            queue: deque[tuple[int, Future[Any]]] = deque()
            most = self.concurrency * BUFFERED_PAGES
            while True:
                pending = [future for _, future in queue if not future.done()]
                while len(pending) < self.concurrency and len(queue) < most:
                    if (at := next(upcoming, None)) is None:
                        break
                    queue.append((at, pool.submit(self._get_body, params(at))))
                    pending.append(queue[-1][1])
                if not queue:
                    return
                at, head = queue[0]
                if not head.done():
                    wait(pending, return_when=FIRST_COMPLETED)
                    continue
                queue.popleft()
                yield at, head.result()

    def _numbered_one_by_one(
        self,
        params: Callable[[int], dict[str, Any]],
        last_page: Callable[[Any, list[Any]], bool],
        key: str,
        position: int,
        *,
        step: int,
        pages_done: int,
    ) -> Iterator[Page]:
        while pages_done < MAX_PAGES:
            body, _ = self._get(extra=params(position))
            records = _records(self.endpoint, body, None)
            pages_done += 1
            position += step
            done = last_page(body, records)
            yield records, PageCursor(**{key: position}, pages_done=pages_done, done=done)
            if done:
                return
        raise SaaSRequestFailed(f"more than {MAX_PAGES} pages: the app's pagination does not end")

    # --- cursor, next URL, Link header: the app says where the next page is ---------------

    def _linked(
        self, pagination: CursorPagination | NextUrlPagination | LinkHeaderPagination, cursor: PageCursor
    ) -> Iterator[Page]:
        limit = {pagination.limit_param: pagination.page_size} if pagination.limit_param else {}
        pages_done = cursor.pages_done
        seen: set[str] = set()
        value, url = cursor.cursor, cursor.url
        while pages_done < MAX_PAGES:
            # Where the app says whether more follow (has_more), its word decides whether a page
            # without a pointer is the last one or a wrong path; else only a full first page is suspect.
            said: bool | None = None
            if isinstance(pagination, CursorPagination):
                extra = {**limit, **({pagination.cursor_param: value} if value else {})}
                # Some apps continue a list at another endpoint, the cursor in its body (Dropbox).
                body, response = self._get(extra=extra, following=pagination.next_request if value else None)
            else:
                body, response = self._get(url, extra=limit)
            records = _records(self.endpoint, body, None)
            pages_done += 1
            if isinstance(pagination, CursorPagination):
                following = search(pagination.cursor_path, body)
                more = search(pagination.has_more_path, body) if pagination.has_more_path else True
                said = bool(more) if pagination.has_more_path else None
                value = str(following) if more and following not in (None, "") else None
                pointer = value
            elif isinstance(pagination, NextUrlPagination):
                following = search(pagination.next_url_path, body)
                url = self._same_app(str(following)) if following else None
                pointer = url
            else:
                link = response.links.get("next", {}).get("url")
                url = self._same_app(link) if link else None
                pointer = url
            if (
                pointer is None
                and len(records) >= pagination.page_size
                and (said or (said is None and pages_done == 1))
            ):
                self._note_missing_pointer(pagination, body)
            if pointer is not None and pointer in seen:
                where = (
                    f"cursor_path {pagination.cursor_path!r}"
                    if isinstance(pagination, CursorPagination)
                    else f"next_url_path {pagination.next_url_path!r}"
                    if isinstance(pagination, NextUrlPagination)
                    else "its Link header"
                )
                # The pointer itself is not shown: a next-page URL may carry a signed token.
                raise PagingLoops(
                    f"the app's next-page pointer repeats itself: page {pages_done} pointed back at a page read"
                    f" already ({where}); the list would never end, so it is not read further"
                )
            if pointer is not None:
                seen.add(pointer)
            yield records, PageCursor(cursor=value, url=url, pages_done=pages_done, done=pointer is None)
            if pointer is None:
                return
        raise SaaSRequestFailed(f"more than {MAX_PAGES} pages: the app's pagination does not end")

    def _note_missing_pointer(
        self, pagination: CursorPagination | NextUrlPagination | LinkHeaderPagination, body: Any
    ) -> None:
        """A full first page (or one the app says more follow) and no next-page pointer: most often a
        path that matches nothing, which would end the list early without a word."""
        if isinstance(pagination, LinkHeaderPagination):
            return
        field, path = (
            ("users.pagination.cursor_path", pagination.cursor_path)
            if isinstance(pagination, CursorPagination)
            else ("users.pagination.next_url_path", pagination.next_url_path)
        )
        keys = keys_in(body, depth=3, skip=self.endpoint.records_path)
        self.notes.append(
            {
                "kind": "paging_ended_early",
                "field": field,
                "path": path,
                "keys_seen": sorted(keys)[:KEYS_SEEN_MAX],
                "suggestion": closest_key(path, keys),
                "message": f"a full page of {pagination.page_size} records had nothing at {field} {path!r}: "
                f"paging stopped there; the answer has {', '.join(sorted(keys)[:KEYS_SEEN_MAX]) or 'no keys'}",
            }
        )


def fetch_users(
    client: SaaSClient,
    start: PageCursor | None = None,
    *,
    tally: FieldTally | None = None,
    notes: list[dict[str, Any]] | None = None,
    most_pages: int = MAX_PAGES,
    listing: MoreSeatHolders | None = None,
) -> Generator[tuple[list[Any], PageCursor]]:
    """The users' pages of the profile's users endpoint (or of its more list `listing`), read into SaaS
    users; each mapped field's matches counted into `tally`, and what the paging noticed appended to `notes`."""
    users = client.profile.users
    if listing is not None:
        yield from _more_seat_holders(client, users, listing, start, tally=tally, notes=notes, most_pages=most_pages)
        return
    fetcher = PageFetcher(client, ListEndpoint.of(users), users.max_concurrency)
    fetcher.most_pages = most_pages
    if notes is not None:
        fetcher.notes = notes
    for records, cursor in fetcher.pages(start):
        if tally is not None:
            tally.count(records)
        try:
            yield [read_user(users.fields, record) for record in records], cursor
        except UnreadableRecord as exc:
            raise UnreadableResponse(f"page {cursor.pages_done}: {exc}") from None


def _more_seat_holders(
    client: SaaSClient,
    users: UsersEndpoint,
    listing: MoreSeatHolders,
    start: PageCursor | None,
    *,
    tally: FieldTally | None,
    notes: list[dict[str, Any]] | None,
    most_pages: int,
) -> Generator[tuple[list[Any], PageCursor]]:
    """A more list's pages, as many at once as the users list's, each user of the list's kind."""
    endpoint = ListEndpoint("GET", listing.path, dict(listing.params), listing.pagination, listing.records_path)
    fetcher = PageFetcher(client, endpoint, users.max_concurrency)
    fetcher.most_pages = most_pages
    if notes is not None:
        fetcher.notes = notes
    fields = listing.fields or users.fields
    for records, cursor in fetcher.pages(start):
        if tally is not None:
            tally.count(records)
        try:
            read = [read_user(fields, record) for record in records]
        except UnreadableRecord as exc:
            raise UnreadableResponse(f"{listing.kind} list, page {cursor.pages_done}: {exc}") from None
        for user in read:
            user.kind = listing.kind
        yield read, cursor


def first_page_of_users(client: SaaSClient, listing: MoreSeatHolders | None = None) -> list[SaaSUser]:
    """The users on the first page (of the users list, or of its more list `listing`), read as the sync
    reads them."""
    with closing(fetch_users(client, listing=listing)) as pages:
        return next(pages, ([], None))[0]


def first_page_of_every_list(client: SaaSClient) -> dict[str | None, int]:
    """The users on the first page of the users list and of each more list (users.also), by the list's kind
    (None: the users list's): what a connection test asks for. A credential that may read members and not,
    say, GitHub's outside collaborators fails here, naming the list, rather than at the first sync."""
    found: dict[str | None, int] = {None: len(first_page_of_users(client))}
    for at, listing in enumerate(client.profile.users.also):
        try:
            found[listing.kind] = len(first_page_of_users(client, listing))
        except (SaaSRequestFailed, SaaSUnavailable, AddressRefused, ResponseTooLarge) as exc:
            # The same error (the saga and the person read its name), saying which list it came from.
            raise type(exc)(f"users.also[{at}] ({listing.kind} list, GET {listing.path}): {exc}").with_traceback(
                exc.__traceback__
            ) from None
    return found
