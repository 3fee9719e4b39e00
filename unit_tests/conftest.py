"""Unit-test fixtures: the real manifest, with TIMIFY's HTTP mocked by requests-mock.

`FakeTimify` answers like the contract (`../shared/timify-api.md`) from small in-memory lists;
tests change its behaviour per scenario (legacy envelope, ignored page, errors on the Nth call).
"""

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional

import pytest
import requests_mock as requests_mock_module
from airbyte_cdk.models import SyncMode
from airbyte_cdk.test.catalog_builder import CatalogBuilder
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput, read
from airbyte_cdk.test.state_builder import StateBuilder

from source_timify import SourceTimify
from source_timify import components

BASE = "https://api.timify.com"
APP_SECRET = "app-secret-0123456789abcdef"
ACCESS_TOKEN_PREFIX = "access-token-"
COMPANY_A = "5f0000000000000000000001"
COMPANY_B = "5f0000000000000000000002"
ENTERPRISE = "5e0000000000000000000001"
INCREMENTAL_STREAMS = {"appointments", "customers", "enterprise_customers"}


def appointment(company: str, n: int, start: str, updated: str = "2026-01-01T00:00:00Z") -> dict:
    return {
        "id": f"{company[:12]}{n:012x}",
        "startDate": start,
        "date": start[:10] + "Z",
        "updatedAt": updated,
        "createdAt": "2025-01-01T00:00:00Z",
        "timestamp": "0",
    }


class FakeTimify:
    def __init__(self, mocker: requests_mock_module.Mocker) -> None:
        self.mocker = mocker
        self.logins = 0
        self.token_lifetime: Optional[int] = 3600
        self.legacy_envelope = False
        self.ignore_page = False
        self.max_page_size: Optional[int] = None
        self.companies = [{"id": COMPANY_A, "name": "A"}, {"id": COMPANY_B, "name": "B"}]
        self.appointments: Dict[str, List[dict]] = {COMPANY_A: [], COMPANY_B: []}
        self.customers: Dict[str, List[dict]] = {COMPANY_A: [], COMPANY_B: []}
        self.valid_tokens: set = set()
        # Scripted answers for data calls, by 1-based data-call number: (status, body, headers).
        self.scripted: Dict[int, tuple] = {}
        self.data_calls = 0
        self.unauthorized = 0  # 401 answers sent
        # TIMIFY's clock as the login response's `Date` header says it (None: no header).
        self.server_date: Optional[str] = None
        # Called with each data request before it is answered (to change data between pages).
        self.before_request: List[Callable] = []
        mocker.post(f"{BASE}/v1/auth/token", json=self._login)
        for path, source in [
            ("/v1/companies", lambda request: self.companies),
            ("/v1/appointments", self._appointments),
            ("/v1/customers", lambda request: self.customers[request.headers["company-id"]]),
            ("/v1/customers/customfields", lambda request: []),
            ("/v1/services", lambda request: []),
            ("/v1/resources", lambda request: []),
            ("/v1/timeshifts", lambda request: []),
            ("/v1/enterprise-customers", lambda request: []),
        ]:
            mocker.get(f"{BASE}{path}", content=self._list(source))

    def _login(self, request, context) -> dict:
        self.logins += 1
        token = f"{ACCESS_TOKEN_PREFIX}{self.logins:04d}"
        self.valid_tokens.add(token)
        body = {"accessToken": token, "refreshToken": f"refresh-token-{self.logins:04d}"}
        if self.server_date is not None:
            context.headers["Date"] = self.server_date
        if self.token_lifetime is not None:
            body["expires"] = self.token_lifetime
        return body

    def _appointments(self, request) -> List[dict]:
        if "ids" in request.qs:  # a lookup by id needs no dates
            wanted = set(request.qs["ids"][0].split(","))
            return [a for a in self.appointments[request.headers["company-id"]] if a["id"] in wanted]
        from_date, to_date = request.qs["from_date"][0], request.qs["to_date"][0]
        assert request.qs["timezone"] == ["UTC"], "appointment windows must be requested in UTC"
        return [
            a
            for a in self.appointments[request.headers["company-id"]]
            if from_date <= a["startDate"][:10] <= to_date
        ]

    def _list(self, source: Callable) -> Callable:
        def answer(request, context) -> bytes:
            self.data_calls += 1
            for hook in self.before_request:
                hook(request)
            if self.data_calls in self.scripted:
                status, body, headers = self.scripted[self.data_calls]
                context.status_code = status
                context.headers.update(headers or {})
                return body if isinstance(body, bytes) else json.dumps(body).encode()
            if request.headers.get("authorization") not in self.valid_tokens:
                context.status_code = 401
                self.unauthorized += 1
                return json.dumps({"status": 0, "error": {"code": "TOKEN_INVALID", "message": "Invalid token"}}).encode()
            records = source(request)
            page = int(request.qs.get("page", ["1"])[0]) or 1
            limit = int(request.qs.get("limit", ["10000"])[0]) or 10000
            if self.max_page_size:
                limit = min(limit, self.max_page_size)
            if self.ignore_page:
                page = 1
            chunk = records[(page - 1) * limit : page * limit]
            if self.legacy_envelope:
                return json.dumps({"data": chunk}).encode()
            meta = {"page": page, "limit": limit, "totalItems": len(records), "totalPages": -(-len(records) // limit)}
            return json.dumps({"data": chunk, "total": len(records), "meta": meta, "status": 1}).encode()

        return answer

    def data_requests(self, path: str = "") -> list:
        return [r for r in self.mocker.request_history if r.method == "GET" and r.path.startswith(path or "/v1/")]


@pytest.fixture(autouse=True)
def fresh_token_cache():
    """Each test is its own sync: no token or outage carried over from the previous one."""
    components._TOKENS.clear()
    components._OUTAGE.since = None
    yield
    components._TOKENS.clear()
    components._OUTAGE.since = None


@pytest.fixture(autouse=True)
def no_backoff_sleep(monkeypatch):
    """Retries wait for nothing in unit tests; waits are recorded for tests that check them."""
    waits: List[float] = []
    monkeypatch.setattr("time.sleep", lambda seconds: waits.append(seconds))
    return waits


@pytest.fixture
def timify():
    with requests_mock_module.Mocker(case_sensitive=True) as mocker:
        yield FakeTimify(mocker)


def make_config(**overrides: Any) -> dict:
    config = {
        "app_id": "app-id-1",
        "app_secret": APP_SECRET,
        "enterprise_id": ENTERPRISE,
        "start_date": "2026-01-01",
        "lookahead_days": 30,
        "page_size": 2,
    }
    config.update(overrides)
    return {k: v for k, v in config.items() if v is not None}


def run_read(
    config: Mapping[str, Any],
    streams: List[str],
    state: Optional[Dict[str, Mapping[str, Any]]] = None,
    expecting_exception: bool = False,
) -> EntrypointOutput:
    builder = CatalogBuilder()
    for name in streams:
        builder.with_stream(name, SyncMode.incremental if name in INCREMENTAL_STREAMS else SyncMode.full_refresh)
    catalog = builder.build()
    state_messages = None
    if state:
        state_builder = StateBuilder()
        for name, value in state.items():
            state_builder.with_stream_state(name, value)
        state_messages = state_builder.build()
    source = SourceTimify(catalog=catalog, config=config, state=state_messages)
    return read(source, config, catalog, state_messages, expecting_exception=expecting_exception)


def records_of(output: EntrypointOutput, stream: str) -> List[dict]:
    return [m.record.data for m in output.records if m.record.stream == stream]


def final_state(output: EntrypointOutput, stream: str) -> dict:
    states = [m.state.stream.stream_state for m in output.state_messages if m.state.stream.stream_descriptor.name == stream]
    return states[-1].__dict__ if states else {}


def days_from_today(days: int) -> str:
    return (datetime.now(timezone.utc).date() + timedelta(days=days)).isoformat()
