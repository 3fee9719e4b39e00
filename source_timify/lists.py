"""Reading a TIMIFY list page by page: the page numbers (TimifyPagination), the guard against
servers that ignore `page` and lists that change while they are paged (PageGuard), and the
companies list kept to `company_ids` (ConfiguredCompanies)."""

import logging
import threading
import weakref
from dataclasses import InitVar, dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union
from urllib.parse import parse_qs, urlsplit

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.extractors.record_extractor import RecordExtractor
from airbyte_cdk.sources.declarative.interpolation.interpolated_string import InterpolatedString
from airbyte_cdk.sources.declarative.requesters.paginators.strategies.pagination_strategy import (
    PaginationStrategy,
)
from airbyte_cdk.sources.types import Config, Record, StreamSlice
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_timify.session import TimifySession, session_of
from source_timify.timify import config_error, iso_seconds, list_meta, total_pages

logger = logging.getLogger("airbyte")


def _query_int(response: requests.Response, name: str, default: int) -> int:
    """An integer query parameter of the request behind `response` (`default` when absent, 0 or bad)."""
    query = parse_qs(urlsplit(response.request.url or "").query)
    try:
        return int(query.get(name, [default])[0]) or default
    except ValueError:
        return default


def _requested_page(response: requests.Response) -> int:
    return _query_int(response, "page", 1)


@dataclass
class TimifyPagination(PaginationStrategy):
    """Page numbers from 1. Stops on `meta.totalPages` when the server sends `meta`, otherwise on a
    page shorter than `page_size` (older endpoints send `{data}` only).

    `meta` takes precedence because a server may cap `limit` below what was asked: a 100-record
    page is then not the last one, and stopping on its size would silently drop records.
    """

    config: Config
    parameters: InitVar[Mapping[str, Any]]
    page_size: Union[int, str] = 1000

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._page_size = int(InterpolatedString.create(str(self.page_size), parameters=parameters).eval(self.config))

    @property
    def initial_token(self) -> Optional[Any]:
        return 1

    def next_page_token(
        self,
        response: requests.Response,
        last_page_size: int,
        last_record: Optional[Record],
        last_page_token_value: Optional[Any],
        page_size_override: Optional[int] = None,
        stream_slice: Optional[StreamSlice] = None,
    ) -> Optional[Any]:
        if response in LIST_CHANGED:
            return 1  # PageGuard saw the list change while it was paged: read it again
        page = int(last_page_token_value or 1)
        try:
            body = response.json()
        except Exception:
            body = None
        # Count the records TIMIFY sent, not `last_page_size`: the CDK counts only the records that
        # passed the record filter and the incremental cursor, so a page of unchanged records
        # would otherwise end pagination and skip the changed records on the pages after it.
        data = body.get("data") if isinstance(body, dict) else None
        served = len(data) if isinstance(data, list) else last_page_size
        pages = total_pages(body)
        if pages is not None:
            return page + 1 if page < pages and served > 0 else None
        return page + 1 if served >= self._page_size else None

    def get_page_size(self) -> Optional[int]:
        return self._page_size


def _list_key(response: requests.Response) -> str:
    """One list (one read of it, whatever the page): the request's path and query without `page`,
    and its `company-id`."""
    parts = urlsplit(response.request.url or "")
    query = "&".join(sorted(p for p in parts.query.split("&") if not p.startswith("page=")))
    return f"{parts.path}?{query}|{response.request.headers.get('company-id', '')}"


def _is_last_page(response: requests.Response, body: Any, records: List[Any]) -> bool:
    """Whether this page ends its list: `meta.totalPages` when TIMIFY sends it, else a short page."""
    if not records:
        return True
    pages = total_pages(body)
    if pages is not None:
        return _requested_page(response) >= pages
    return len(records) < _query_int(response, "limit", 10000)


class _Responses:
    """A set of responses that holds them weakly: a response leaves it when it is freed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._responses: "weakref.WeakSet[requests.Response]" = weakref.WeakSet()

    def add(self, response: requests.Response) -> None:
        with self._lock:
            self._responses.add(response)

    def __contains__(self, response: object) -> bool:
        with self._lock:
            return response in self._responses


# The pages that showed their list changed while it was paged: PageGuard adds the page's response,
# and TimifyPagination answers it with page 1 again instead of the next page. Each response belongs
# to one source's read, so nothing is shared between sources.
LIST_CHANGED = _Responses()
MAX_LIST_READS = 4


class _ListRead:
    """One read of one list (one request without `page`): what it has emitted and, for the
    current pass over its pages, the count TIMIFY gave on its first page and the ids seen."""

    __slots__ = ("emitted", "pass_ids", "total", "passes", "restarting", "last_page", "last_first_id")

    def __init__(self) -> None:
        self.emitted: set = set()
        self.pass_ids: set = set()
        self.total: Optional[int] = None
        self.passes = 1
        self.restarting = False
        self.last_page = 0
        self.last_first_id: Any = None


@dataclass
class PageGuard(RecordExtractor):
    """Extracts `data` and guards what page numbers can hide.

    - A server that ignores `page` answers every page number with page 1. Emitting those copies
      would pass duplicated pages off as data and never end: the sync stops with a clear error.
    - A list that changes while it is paged shifts records between pages: after a deletion the
      record at a page boundary moves onto a page already read and is never seen. In incremental
      mode that record would be lost for good. So a page that shows the list changed since its
      first page (a different `meta.totalItems`, a record seen twice in one pass, or a record
      changed since the sync started) has the list read again from page 1, up to
      MAX_LIST_READS times; records already emitted are not emitted again.

    Lists are told apart by their request without `page` (URL plus `company-id`).
    """

    config: Config
    parameters: InitVar[Mapping[str, Any]]
    field_path: List[str] = field(default_factory=lambda: ["data"])
    # Set in __post_init__ from the config (session_of) unless given.
    session: TimifySession = None  # type: ignore[assignment]

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        if self.session is None:
            self.session = session_of(self.config)
        self._reads: Dict[str, _ListRead] = {}
        self._lock = threading.Lock()

    def extract_records(self, response: requests.Response) -> Iterable[Mapping[str, Any]]:
        body = response.json()
        records = body
        for key in self.field_path:
            records = records.get(key) if isinstance(records, dict) else None
        if records is None:
            return []
        if isinstance(records, dict):
            return [records]
        return self._guard(response, body, records)

    def _guard(self, response: requests.Response, body: Any, records: List[Any]) -> List[Any]:
        page = _requested_page(response)
        parts = urlsplit(response.request.url or "")
        company = response.request.headers.get("company-id", "")
        list_key = _list_key(response)
        total = list_meta(body).get("totalItems")
        is_last = _is_last_page(response, body, records)
        first_id = records[0].get("id") if records and isinstance(records[0], dict) else None
        with self._lock:
            read = self._reads.get(list_key)
            if read is None or (page == 1 and not read.restarting):
                read = self._reads[list_key] = _ListRead()
            if page > 1 and first_id is not None and read.last_page == page - 1 and read.last_first_id == first_id:
                del self._reads[list_key]
                raise self._ignored_page(page, parts.path)
            read.last_page, read.last_first_id = page, first_id
            if page == 1 and read.restarting:
                read.restarting = False
                read.passes += 1
                read.pass_ids = set()
            if page == 1:
                read.total = total
            recounted = page > 1 and total is not None and read.total is not None and total != read.total
            out, shifted = self._new_records(read, records, check=page > 1)
            if recounted or shifted:
                if read.passes >= MAX_LIST_READS:
                    del self._reads[list_key]
                    raise self._kept_changing(parts.path, company, response)
                read.restarting = True
                LIST_CHANGED.add(response)
                logger.info(
                    f"TIMIFY's {parts.path} list{f' of company {company}' if company else ''} changed "
                    f"while it was read (page {page}); reading it again from page 1 so that no record is skipped."
                )
            elif is_last:
                del self._reads[list_key]
        return out

    def _new_records(self, read: _ListRead, records: List[Any], check: bool) -> Tuple[List[Any], bool]:
        """The records not emitted yet in this read, and whether this page shows the list changed:
        a record already seen in this pass (the list shifted), or one first seen here with an
        `updatedAt` from this sync (changed while the sync ran)."""
        session = self.session
        since = session.clock.sync_start() if check else None
        since_text = iso_seconds(since) if since is not None else None
        until_text = iso_seconds(session.clock.now() + 60) if since is not None else None
        emitted, pass_ids, out, changed = read.emitted, read.pass_ids, [], False
        for record in records:
            record_id = record.get("id") if isinstance(record, dict) else None
            if record_id is None:
                out.append(record)
                continue
            if check and record_id in pass_ids:
                changed = True
            pass_ids.add(record_id)
            if record_id in emitted:
                continue
            if since_text is not None:
                updated = record.get("updatedAt")
                if isinstance(updated, str) and until_text is not None and since_text <= updated <= until_text:
                    changed = True
            emitted.add(record_id)
            out.append(record)
        return out, changed

    @staticmethod
    def _ignored_page(page: int, path: str) -> AirbyteTracedException:
        message = (
            f"TIMIFY returned the same records for page {page} as for page {page - 1} of "
            f"{path}: the server ignored the `page` parameter, so the sync stopped "
            "instead of emitting duplicates. Set `page_size` to 10000 to read each list in "
            "one page, or retry later."
        )
        return AirbyteTracedException(message=message, internal_message=message, failure_type=FailureType.system_error)

    @staticmethod
    def _kept_changing(path: str, company: str, response: requests.Response) -> AirbyteTracedException:
        query = parse_qs(urlsplit(response.request.url or "").query)
        dates = (
            f" from {query['from_date'][0]} to {query['to_date'][0]}"
            if "from_date" in query and "to_date" in query
            else ""
        )
        message = (
            f"TIMIFY's {path} list{f' of company {company}' if company else ''}{dates} kept changing "
            f"while it was read ({MAX_LIST_READS} times), so the sync stopped rather than risk skipping "
            "a record; run it again (the other companies' state has moved on)."
        )
        return AirbyteTracedException(
            message=message, internal_message=message, failure_type=FailureType.transient_error
        )


@dataclass
class ConfiguredCompanies(PageGuard):
    """Extracts the companies of `/v1/companies` (guarded like every list), keeping only those in
    `company_ids` when it is set.

    A configured id the app cannot see is a config error, not an empty result: otherwise a typo
    in `company_ids` would silently sync nothing for that company. The ids are checked against
    every page of the list: the error comes with its last page.
    """

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        super().__post_init__(parameters)
        self._listed: Dict[str, set] = {}  # per read of the list: every company id it listed so far

    def extract_records(self, response: requests.Response) -> Iterable[Mapping[str, Any]]:
        companies = list(super().extract_records(response))
        wanted = self.config.get("company_ids") or []
        if not wanted:
            return companies
        body = response.json()
        data = body.get("data") if isinstance(body, dict) else None
        listed_here: List[Any] = data if isinstance(data, list) else []
        key = _list_key(response)
        with self._lock:
            if _requested_page(response) == 1:
                self._listed[key] = set()  # a new read, or the list read again from page 1
            listed = self._listed.setdefault(key, set())
            listed.update(company.get("id") for company in listed_here if isinstance(company, dict))
            missing = (
                []
                if response in LIST_CHANGED or not _is_last_page(response, body, listed_here)
                else [company_id for company_id in wanted if company_id not in listed]
            )
            if _is_last_page(response, body, listed_here):
                self._listed.pop(key, None)
        if missing:
            raise config_error(
                f"This TIMIFY app cannot access company {', '.join(missing)} listed in "
                "`company_ids`: remove it, or install the app on that company (or its "
                "enterprise) in the TIMIFY Developer Platform."
            )
        return [company for company in companies if company.get("id") in wanted]
