"""enterprise_customers incremental (incremental.EnterpriseCursor, the whole list filtered on our side),
with the real manifest and mocked HTTP."""

import pytest
import requests_mock

from source_timify.cancellations import encode_ids
from source_timify.deletion_tracking import LISTED_IDS
from unit_tests.conftest import final_state, make_config, records_of, run_read
from unit_tests.timify_responses import (
    BASE,
    error,
    register_customer_fields,
    register_list,
    register_login,
    requests_to,
)

STREAM = "enterprise_customers"
LOGIN_DATE = "Tue, 01 Dec 2026 08:00:00 GMT"  # TIMIFY's clock at the sync's login


def customer(n, updated):
    return {"id": f"{n:024x}", "createdAt": "2025-01-01T00:00:00Z", "updatedAt": updated}


@pytest.fixture
def api():
    with requests_mock.Mocker() as mocker:
        yield mocker


def serve(api, customers, server_date=LOGIN_DATE):
    """The enterprise's customers, two a page (make_config's page_size), whatever `updated_since`."""
    register_login(api, server_date=server_date)
    register_list(api, "/v1/enterprise-customers", customers, 2)
    register_customer_fields(api, enterprise=True)


def requests(api):
    return requests_to(api, "/v1/enterprise-customers")


def test_a_first_sync_reads_every_customer_without_updated_since_and_saves_the_sync_start(api):
    serve(api, [customer(n, "2026-03-01T00:00:00Z") for n in range(5)] + [customer(9, "2027-06-01T00:00:00Z")])
    output = run_read(make_config(), [STREAM])
    assert len(records_of(output, STREAM)) == 6
    assert all("updated_since" not in r.qs for r in requests(api))
    # The sync's start on TIMIFY's clock, never a record's (future) updatedAt, and the ids listed
    # (the deletion tracking: test_enterprise_customer_deletions.py).
    ids = [customer(n, "")["id"] for n in (0, 1, 2, 3, 4, 9)]
    assert final_state(output, STREAM) == {"updatedAt": "2026-12-01T08:00:00Z", LISTED_IDS: encode_ids(ids)}


def test_the_next_sync_lists_every_customer_and_keeps_those_changed_since_the_cursor_minus_the_lookback(api):
    serve(
        api,
        [customer(1, "2026-11-30T23:59:00Z"), customer(2, "2026-11-30T23:56:00Z"), customer(3, "2026-12-01T10:00:00Z")],
        server_date="Wed, 02 Dec 2026 09:00:00 GMT",
    )
    output = run_read(make_config(), [STREAM], state={STREAM: {"updatedAt": "2026-12-01T00:01:00Z"}})
    # No `updated_since` (the deletion tracking needs the whole list); cursor 00:01 minus 5 minutes
    # is 2026-11-30T23:56: what changed since is kept.
    assert requests(api) and all("updated_since" not in r.qs for r in requests(api))
    assert [r["id"] for r in records_of(output, STREAM)] == [f"{n:024x}" for n in (1, 2, 3)]
    ids = [f"{n:024x}" for n in (1, 2, 3)]
    assert final_state(output, STREAM) == {"updatedAt": "2026-12-02T09:00:00Z", LISTED_IDS: encode_ids(ids)}


def test_records_older_than_the_lookback_are_not_emitted_when_the_server_ignores_updated_since(api):
    serve(
        api,
        [customer(1, "2025-01-01T00:00:00Z"), customer(2, "2026-11-30T23:55:59Z"), customer(3, "2026-11-30T23:56:00Z")],
    )
    output = run_read(make_config(), [STREAM], state={STREAM: {"updatedAt": "2026-12-01T00:01:00Z"}})
    assert [r["id"] for r in records_of(output, STREAM)] == [f"{3:024x}"]


def test_a_failed_sync_keeps_the_old_cursor(api):
    register_login(api)
    api.get(f"{BASE}/v1/enterprise-customers", status_code=400, json=error("BAD_REQUEST", "no"))
    output = run_read(
        make_config(), [STREAM], state={STREAM: {"updatedAt": "2026-12-01T00:01:00Z"}}, expecting_exception=True
    )
    assert final_state(output, STREAM) == {"updatedAt": "2026-12-01T00:01:00Z"}


def test_a_state_of_another_shape_reads_in_full(api):
    serve(api, [customer(1, "2020-01-01T00:00:00Z")])
    output = run_read(
        make_config(), [STREAM], state={STREAM: {"companies": {"x": {"updatedAt": "2026-12-01T00:01:00Z"}}}}
    )
    assert len(records_of(output, STREAM)) == 1
    assert all("updated_since" not in r.qs for r in requests(api))
