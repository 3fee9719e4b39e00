"""TIMIFY's responses for unit tests, built from the real samples in `unit_tests/samples/`.

Copied from `../shared/timify-samples/` (company A's appointment, its company object, services,
resources and customer field definitions), so that a unit test's records look like TIMIFY's, not
like a guess. These are plain response bodies: tests register them with requests-mock, page by
page. How TIMIFY *behaves* (paging, auth, windows, faults) is modelled once, by the emulator in
`integration_tests/timify_emulator/`, which the integration tests run against.
"""

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

import requests_mock

BASE = "https://api.timify.com"
SAMPLES = Path(__file__).parent / "samples"


@lru_cache(maxsize=None)
def _sample(name: str) -> Any:
    return json.loads((SAMPLES / f"{name}.json").read_text())["data"]


def object_id(prefix: str, n: int) -> str:
    """A 24-hex id: the first 12 characters of `prefix` (e.g. a company id), then `n`."""
    return f"{prefix[:12]}{n:012x}"


def company(company_id: str, name: str = "", **fields: Any) -> dict:
    """Company A of the samples, as `/v1/companies` lists it, with another id."""
    record = copy.deepcopy(_sample("companies")[0])
    record.update(id=company_id, name=name or record["name"], createdAt="2025-01-01T00:00:00Z", updatedAt="2025-01-01T00:00:00Z")
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
    record = {
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


def services() -> List[dict]:
    return copy.deepcopy(_sample("services"))


def resources() -> List[dict]:
    return copy.deepcopy(_sample("resources"))


def page(records: List[Any], page: int = 1, limit: int = 10000, total: Optional[int] = None) -> dict:
    """One page of a list in TIMIFY's envelope, `meta` included; `total` is the whole list's size."""
    total = len(records) if total is None else total
    return {
        "data": records,
        "total": total,
        "meta": {"page": page, "limit": limit, "totalItems": total, "totalPages": -(-total // limit)},
        "status": 1,
    }


def pages(records: List[Any], limit: int) -> List[dict]:
    """Every page of a list of `records` read `limit` at a time (at least one, empty, page)."""
    chunks = [records[i : i + limit] for i in range(0, len(records), limit)] or [[]]
    return [page(chunk, n, limit, total=len(records)) for n, chunk in enumerate(chunks, start=1)]


def login(token: str = "access-token-0001", expires: Optional[int] = 3600) -> dict:
    body: Dict[str, Any] = {"accessToken": token, "refreshToken": "refresh-token-0001"}
    if expires is not None:
        body["expires"] = expires
    return body


def error(code: str, message: str) -> dict:
    """TIMIFY's nested error body."""
    return {"status": 0, "error": {"code": code, "message": message}}


def register_login(mocker: requests_mock.Mocker, token: str = "access-token-0001", expires: Optional[int] = 3600):
    return mocker.post(f"{BASE}/v1/auth/token", json=login(token, expires))


def register_list(
    mocker: requests_mock.Mocker,
    path: str,
    records: List[Any],
    limit: int,
    query: str = "",
    company_id: Optional[str] = None,
) -> List[Any]:
    """Registers each page of `records` for `GET path?<query>&page=N&limit=<limit>` (and the
    `company-id` header when given); returns the matchers, one per page."""
    headers = {"company-id": company_id} if company_id else {}
    matchers = []
    for body in pages(records, limit):
        number = body["meta"]["page"]
        url = f"{BASE}{path}?{query + '&' if query else ''}page={number}&limit={limit}"
        matchers.append(mocker.get(url, json=body, request_headers=headers, complete_qs=False))
    return matchers


def requests_to(mocker: requests_mock.Mocker, path: str) -> Iterable[Any]:
    return [r for r in mocker.request_history if r.path == path]
