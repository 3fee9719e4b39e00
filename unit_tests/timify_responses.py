"""TIMIFY's responses for unit tests, built from the real samples in `unit_tests/samples/`.

Copied from `../shared/timify-samples/` (company A's appointment, its company object, services,
resources and customer field definitions), so that a unit test's records look like TIMIFY's, not
like a guess. These are plain response bodies: tests register them with requests-mock, page by
page. How TIMIFY *behaves* (paging, auth, windows, faults) is modelled once, by the emulator in
`emulator/timify_emulator/` (the `timify_emulator` package), which the integration tests run against.
"""

import copy
import json
import random
from datetime import date, datetime, timezone, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import requests_mock

from source_timify.date_ranges import company_date_range, windows

BASE = "https://api.timify.com"
SAMPLES = Path(__file__).parent / "samples"

# The UTC date of the test session, read once. The tests date their windows and appointments from
# it (appointment_windows, conftest.days_from_today) and the connector's date ranges see the same
# day (conftest's autouse `sync_day`): a session that passes midnight UTC would otherwise register
# the windows of the day it started for a sync that asks for the next day's (and so would a module
# whose constants were computed at collection time).
TODAY = datetime.now(timezone.utc).date()


class OnToday(datetime):
    """`datetime` for source_timify.date_ranges, whose `now()` is TODAY at the current time of day
    (the connector reads only its date: the sync's UTC date)."""

    @classmethod
    def now(cls, tz: Optional[tzinfo] = None) -> "OnToday":
        return cls.combine(TODAY, datetime.now(tz).timetz())


@lru_cache(maxsize=None)
def _sample(name: str) -> Any:
    return json.loads((SAMPLES / f"{name}.json").read_text())["data"]


def object_id(prefix: str, n: int) -> str:
    """A 24-hex id: the first 12 characters of `prefix` (e.g. a company id), then `n`."""
    return f"{prefix[:12]}{n:012x}"


def company(company_id: str, name: str = "", **fields: Any) -> dict:
    """Company A of the samples, as `/v1/companies` lists it, with another id."""
    record = copy.deepcopy(_sample("companies")[0])
    record.update(
        id=company_id, name=name or record["name"], createdAt="2025-01-01T00:00:00Z", updatedAt="2025-01-01T00:00:00Z"
    )
    record.update(fields)
    return record


def appointment(company_id: str, n: int, start: str, updated: str = "2026-01-01T00:00:00Z", **fields: Any) -> dict:
    """The sample appointment, as company `company_id`'s n-th, starting at `start` (ISO, UTC)."""
    record = copy.deepcopy(_sample("appointment"))
    record.update(
        id=object_id(company_id, n),
        startDate=start,
        date=start[:10] + "Z",
        updatedAt=updated,
        createdAt="2025-01-01T00:00:00Z",
        timestamp="0",
    )
    record.update(fields)
    return record


def customer(company_id: str, n: int, updated: str = "2026-01-01T00:00:00Z", **fields: Any) -> dict:
    record: dict = {
        "id": object_id(company_id, n),
        "externalId": None,
        "firstName": f"First{n}",
        "lastName": f"Last{n}",
        "fullName": f"First{n} Last{n}",
        "email": f"customer{n}@example.com",
        "totalBookings": 0,
        "createdAt": "2025-01-01T00:00:00Z",
        "updatedAt": updated,
        "ts": 0,
        "fields": [],
    }
    record.update(fields)
    return record


def customer_fields() -> List[dict]:
    return copy.deepcopy(_sample("customer_fields"))


def field_definition(
    field_id: str,
    type: str,
    label: Optional[str] = None,
    translationKey: Optional[str] = None,
    defaultId: Optional[str] = None,
) -> dict:
    """A customer field definition shaped like the samples' (`customerFields` of a company)."""
    record = copy.deepcopy(_sample("customer_fields")[0])
    record.update(id=field_id, type=type, label=label, translationKey=translationKey, selectOptions=None)
    if defaultId is not None:
        record["defaultId"] = defaultId
    return record


def register_customer_fields(
    mocker: requests_mock.Mocker,
    definitions: Sequence[dict] = (),
    company_id: Optional[str] = None,
    limit: int = 2,
    enterprise: bool = False,
) -> List[Any]:
    """The customer field definitions of `company_id` (any company when None), or with
    `enterprise`, the enterprise's own (`/v1/enterprise-customers/customfields`): one list, read
    `limit` at a time."""
    path = "/v1/enterprise-customers/customfields" if enterprise else "/v1/customers/customfields"
    return register_list(mocker, path, list(definitions), limit, company_id=company_id)


def services() -> List[dict]:
    return copy.deepcopy(_sample("services"))


def resources() -> List[dict]:
    return copy.deepcopy(_sample("resources"))


def page(records: List[Any], page: int = 1, limit: int = 10000, total: Optional[int] = None, meta: bool = True) -> dict:
    """One page of a list in TIMIFY's envelope, `meta` included; `total` is the whole list's size.
    With `meta=False`, the older endpoints' envelope: `{"data": [...]}` only."""
    if not meta:
        return {"data": records}
    total = len(records) if total is None else total
    return {
        "data": records,
        "total": total,
        "meta": {"page": page, "limit": limit, "totalItems": total, "totalPages": -(-total // limit)},
        "status": 1,
    }


def pages(records: List[Any], limit: int, meta: bool = True) -> List[dict]:
    """Every page of a list of `records` read `limit` at a time (at least one, empty, page)."""
    chunks = [records[i : i + limit] for i in range(0, len(records), limit)] or [[]]
    return [page(chunk, n, limit, total=len(records), meta=meta) for n, chunk in enumerate(chunks, start=1)]


def login(token: str = "access-token-0001", expires: Optional[int] = 3600) -> dict:
    body: Dict[str, Any] = {"accessToken": token, "refreshToken": "refresh-token-0001"}
    if expires is not None:
        body["expires"] = expires
    return body


def error(code: str, message: str) -> dict:
    """TIMIFY's nested error body."""
    return {"status": 0, "error": {"code": code, "message": message}}


def register_login(
    mocker: requests_mock.Mocker,
    token: str = "access-token-0001",
    expires: Optional[int] = 3600,
    server_date: Optional[str] = None,
):
    """The login; `server_date` is TIMIFY's clock as its `Date` header says (RFC 1123)."""
    headers = {"Date": server_date} if server_date else {}
    return mocker.post(f"{BASE}/v1/auth/token", json=login(token, expires), headers=headers)


def page_url(path: str, number: int, limit: int, query: str = "") -> str:
    return f"{BASE}{path}?{query + '&' if query else ''}page={number}&limit={limit}"


def register_page(
    mocker: requests_mock.Mocker,
    path: str,
    number: int,
    limit: int,
    answer: Any,
    query: str = "",
    company_id: Optional[str] = None,
):
    """Registers the answer to `GET path?<query>&page=<number>&limit=<limit>` (with the
    `company-id` header when given): a body, or a list of requests-mock responses
    (`[{"json": ...}, {"status_code": 503}, ...]`, answered in turn, the last one repeated)."""
    headers = {"company-id": company_id} if company_id else {}
    url = page_url(path, number, limit, query)
    if isinstance(answer, list):
        return mocker.get(url, answer, request_headers=headers, complete_qs=False)
    return mocker.get(url, json=answer, request_headers=headers, complete_qs=False)


def register_pages(
    mocker: requests_mock.Mocker,
    path: str,
    bodies: Sequence[Any],
    limit: int,
    query: str = "",
    company_id: Optional[str] = None,
) -> List[Any]:
    """Registers `bodies[n - 1]` as the answer to page n (asked `limit` at a time); returns the
    matchers, one per page."""
    return [
        register_page(mocker, path, number, limit, body, query, company_id)
        for number, body in enumerate(bodies, start=1)
    ]


def register_list(
    mocker: requests_mock.Mocker,
    path: str,
    records: List[Any],
    limit: int,
    query: str = "",
    company_id: Optional[str] = None,
    meta: bool = True,
) -> List[Any]:
    """Registers each page of `records` for `GET path?<query>&page=N&limit=<limit>` (and the
    `company-id` header when given); returns the matchers, one per page."""
    return register_pages(mocker, path, pages(records, limit, meta=meta), limit, query, company_id)


# ----- appointments: read per company in `from_date`/`to_date` windows (UTC dates) ---------------

# The manifest's `fallback_window_days`: the window-width probe (a 365-day window, `limit=1`) is
# registered only by test_window_width.py; elsewhere it matches nothing, so syncs read 31-day windows.
WINDOW_DAYS = 31


def appointment_windows(
    config: Mapping[str, Any], created_at: Optional[str] = None, today: Optional[date] = None
) -> List[Tuple[str, str]]:
    """The (from_date, to_date) windows a sync with `config` asks for, today (UTC), of a company
    created at `created_at` (only used when `start_date` is empty)."""
    today = today or TODAY
    return [
        (start.isoformat(), end.isoformat())
        for start, end in windows(*company_date_range(config, created_at, today), WINDOW_DAYS)
    ]


def window_query(from_date: str, to_date: str) -> str:
    return f"from_date={from_date}&to_date={to_date}&timezone=UTC"


def register_appointments(
    mocker: requests_mock.Mocker,
    company_id: str,
    appointments: List[dict],
    windows: List[Tuple[str, str]],
    limit: int,
) -> List[Any]:
    """Registers, for each window of `windows`, the pages of `company_id`'s appointments dated in
    it (their startDate's UTC date), as `GET /v1/appointments?from_date=..&to_date=..&timezone=UTC`
    lists them; a window without appointments answers one empty page. A request for any other
    window, or without `timezone=UTC`, matches nothing (requests-mock raises NoMockAddress)."""
    matchers = []
    for from_date, to_date in windows:
        dated = [a for a in appointments if from_date <= a["startDate"][:10] <= to_date]
        matchers += register_list(
            mocker, "/v1/appointments", dated, limit, window_query(from_date, to_date), company_id
        )
    return matchers


def register_lookup(
    mocker: requests_mock.Mocker,
    company_id: str,
    found: Sequence[dict] = (),
    ids: Optional[Sequence[str]] = None,
    **response: Any,
):
    """Registers the answer to the cancellation check `GET /v1/appointments?ids=...` of
    `company_id` (for exactly `ids` when given, else for any ids): `found`, the appointments TIMIFY
    still has, or the requests-mock `response` given (`status_code=500, json=error(...)`)."""
    url = f"{BASE}/v1/appointments" + (f"?ids={','.join(ids)}" if ids is not None else "")
    return mocker.get(
        url,
        request_headers={"company-id": company_id},
        additional_matcher=lambda request: "ids" in request.qs,
        **(response or {"json": page(list(found))}),
    )


def requests_to(mocker: requests_mock.Mocker, path: str, company_id: Optional[str] = None) -> List[Any]:
    """The requests sent to `path` (of `company_id` when given), matched or not, in order."""
    return [
        r
        for r in mocker.request_history
        if r.path == path and (company_id is None or r.headers.get("company-id") == company_id)
    ]


def lookups(mocker: requests_mock.Mocker) -> List[Any]:
    """The cancellation checks sent (`GET /v1/appointments?ids=...`)."""
    return [r for r in requests_to(mocker, "/v1/appointments") if "ids" in r.qs]


def object_ids(count, seed=1, processes=4, other_accounts=5000):
    """Ids shaped like TIMIFY's (the samples): creation time, a 5-byte part per server process,
    that process's counter, which also counts the ids made for other accounts in between."""
    rng = random.Random(seed)
    parts = [rng.getrandbits(40) for _ in range(processes)]
    counters = [rng.getrandbits(24) for _ in range(processes)]
    ids = []
    for n in range(count):
        process = rng.randrange(processes)
        counters[process] = (counters[process] + 1 + rng.randrange(other_accounts)) & 0xFFFFFF
        ids.append("%08x%010x%06x" % (1_700_000_000 + n * 317, parts[process], counters[process]))
    return ids
