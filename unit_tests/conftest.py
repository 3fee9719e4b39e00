"""Unit-test fixtures: the real manifest and the CDK's in-process entry point.

TIMIFY's HTTP is mocked with requests-mock in each test, with bodies built from the real samples
(`unit_tests/timify_responses.py`); how TIMIFY behaves is modelled once, by the emulator that the
integration tests run against.
"""

from datetime import timedelta
from typing import Any, Dict, List, Mapping, Optional

import pytest
from airbyte_cdk.models import SyncMode
from airbyte_cdk.test.catalog_builder import CatalogBuilder
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput, read
from airbyte_cdk.test.state_builder import StateBuilder

from source_timify import SourceTimify
from source_timify.session import ConfigWithSession, TimifySession
from unit_tests.timify_responses import TODAY, OnToday

APP_SECRET = "app-secret-0123456789abcdef"
COMPANY_A = "5f0000000000000000000001"
COMPANY_B = "5f0000000000000000000002"
ENTERPRISE = "5e0000000000000000000001"

# The streams, as discover lists them on an enterprise install: the companies, the streams read
# per company, and the enterprise's own lists.
COMPANY_SCOPED = [
    "appointments",
    "customers",
    "customer_fields",
    "customer_field_categories",
    "services",
    "resources",
    "timeshifts",
]
ENTERPRISE_ONLY = ["enterprise_customers", "enterprise_customer_fields", "enterprise_customer_field_categories"]
ALL_STREAMS = ["companies"] + COMPANY_SCOPED + ENTERPRISE_ONLY
INCREMENTAL_STREAMS = {"appointments", "customers", "enterprise_customers"}


@pytest.fixture(autouse=True)
def no_backoff_sleep(monkeypatch):
    """Retries wait for nothing in unit tests; waits are recorded for tests that check them."""
    waits: List[float] = []
    monkeypatch.setattr("time.sleep", lambda seconds: waits.append(seconds))
    return waits


@pytest.fixture(autouse=True)
def sync_day(monkeypatch):
    """The connector's date ranges are those of TODAY (timify_responses), the day the tests date
    their windows from, whenever the test runs."""
    monkeypatch.setattr("source_timify.date_ranges.datetime", OnToday)
    return TODAY


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


def with_session(config: Mapping[str, Any], session: Optional[TimifySession] = None) -> ConfigWithSession:
    """`config` carrying a session, as SourceTimify hands it to every component it builds: for a
    component built on its own (session.session_of fails on a config without one)."""
    return ConfigWithSession(config, session if session is not None else TimifySession())


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
    states = [
        m.state.stream.stream_state for m in output.state_messages if m.state.stream.stream_descriptor.name == stream
    ]
    return states[-1].__dict__ if states else {}


def days_from_today(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()
