"""Incremental appointments and customers: one updatedAt cursor per company, with the date range
each company was last read over, filtered on our side (TIMIFY cannot filter on updatedAt)."""

from datetime import datetime, timedelta, timezone

import pytest
import requests_mock

from unit_tests.conftest import (
    COMPANY_A,
    COMPANY_B,
    ENTERPRISE,
    days_from_today,
    final_state,
    make_config,
    records_of,
    run_read,
)
from unit_tests.timify_responses import (
    BASE,
    appointment,
    appointment_windows,
    company,
    customer,
    error,
    register_appointments,
    register_customer_fields,
    register_list,
    register_login,
)

RANGE_END = days_from_today(30)  # make_config: start_date 2026-01-01, lookahead_days 30
LIMIT = 2  # make_config's page_size


@pytest.fixture
def api():
    with requests_mock.Mocker(case_sensitive=True) as mocker:
        register_list(
            mocker, "/v1/companies", [company(COMPANY_A), company(COMPANY_B)], LIMIT, f"enterprise_id={ENTERPRISE}"
        )
        yield mocker


def serve(api, a=(), b=(), server_date=None):
    """TIMIFY's login, and the appointments of companies A and B in every window of the sync."""
    register_login(api, server_date=server_date)
    windows = appointment_windows(make_config())
    register_appointments(api, COMPANY_A, list(a), windows, LIMIT)
    register_appointments(api, COMPANY_B, list(b), windows, LIMIT)


def serve_customers(api, a=(), b=()):
    register_list(api, "/v1/customers", list(a), LIMIT, company_id=COMPANY_A)
    register_list(api, "/v1/customers", list(b), LIMIT, company_id=COMPANY_B)
    register_customer_fields(api)


def company_state(updated: str, from_date: str = "2026-01-01", to_date: str = RANGE_END) -> dict:
    return {"updatedAt": updated, "from_date": from_date, "to_date": to_date}


def seed():
    """Company A's and company B's appointments."""
    a = [
        appointment(COMPANY_A, 1, "2026-02-01T10:00:00Z", updated="2026-01-10T00:00:00Z"),
        appointment(COMPANY_A, 2, days_from_today(20) + "T10:00:00Z", updated="2026-01-20T00:00:00Z"),
    ]
    b = [
        appointment(COMPANY_B, 3, "2026-01-05T10:00:00Z", updated="2025-12-01T00:00:00Z"),
    ]
    return a, b


def ids(output, stream="appointments"):
    return sorted(r["id"] for r in records_of(output, stream))


def test_first_sync_emits_everything_and_saves_one_cursor_per_company(api):
    serve(api, *seed())  # COMPANY_B's appointment was last changed before start_date (2026-01-01)
    before = datetime.now(timezone.utc).replace(microsecond=0)
    output = run_read(make_config(), ["appointments"])
    assert len(records_of(output, "appointments")) == 3
    state = final_state(output, "appointments")
    assert set(state) == {"companies"}
    assert set(state["companies"]) == {COMPANY_A, COMPANY_B}
    for entry in state["companies"].values():
        assert entry["from_date"] == "2026-01-01" and entry["to_date"] == RANGE_END
        saved = datetime.strptime(entry["updatedAt"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        # Without a Date header, the sync's start on our clock (the login) is the cursor.
        assert before - timedelta(seconds=1) <= saved <= datetime.now(timezone.utc)


def test_next_sync_emits_only_changes_whatever_the_appointment_date(api):
    a, b = seed()
    state = {"companies": {c: company_state("2026-01-20T00:00:00Z") for c in (COMPANY_A, COMPANY_B)}}
    b.append(  # booked far in the past, changed now
        appointment(COMPANY_B, 4, "2026-01-02T10:00:00Z", updated="2026-11-01T00:00:00Z")
    )
    a[0]["updatedAt"] = "2026-10-01T00:00:00Z"
    serve(api, a, b)
    output = run_read(make_config(), ["appointments"], state={"appointments": state})
    # The changed two, plus the one exactly at the cursor minus the lookback (inclusive).
    assert ids(output) == sorted([b[1]["id"], a[0]["id"], a[1]["id"]])


def test_a_company_missing_from_the_state_is_read_in_full_and_the_others_keep_their_cursor(api):
    a, b = seed()
    b.append(appointment(COMPANY_B, 5, "2026-06-01T10:00:00Z", updated="2025-06-01T00:00:00Z"))
    serve(api, a, b)
    state = {"companies": {COMPANY_A: company_state("2026-06-01T00:00:00Z")}}
    output = run_read(make_config(), ["appointments"], state={"appointments": state})
    assert ids(output) == sorted(appointment["id"] for appointment in b)
    companies = final_state(output, "appointments")["companies"]
    assert set(companies) == {COMPANY_A, COMPANY_B}


def test_records_dated_outside_the_previous_range_are_emitted_whatever_their_updated_at(api):
    a = [
        appointment(COMPANY_A, 1, "2026-01-03T10:00:00Z", updated="2025-01-01T00:00:00Z"),  # before the old range
        appointment(COMPANY_A, 2, "2026-03-01T10:00:00Z", updated="2025-01-01T00:00:00Z"),  # inside it
        appointment(COMPANY_A, 3, days_from_today(25) + "T10:00:00Z", updated="2025-01-01T00:00:00Z"),  # after it
    ]
    serve(api, a)
    # The previous sync read 2026-01-10 .. today+10: start_date moved back, the horizon moved on.
    state = {"companies": {COMPANY_A: company_state("2026-06-01T00:00:00Z", "2026-01-10", days_from_today(10))}}
    output = run_read(make_config(), ["appointments"], state={"appointments": state})
    emitted = ids(output)
    assert emitted == sorted([a[0]["id"], a[2]["id"]])
    entry = final_state(output, "appointments")["companies"][COMPANY_A]
    assert (entry["from_date"], entry["to_date"]) == ("2026-01-01", RANGE_END)


def test_a_previous_state_without_a_range_reads_the_company_in_full(api):
    a, b = seed()
    serve(api, a, b)
    state = {
        "companies": {
            COMPANY_A: {"updatedAt": "2026-06-01T00:00:00Z"},
            COMPANY_B: company_state("2026-06-01T00:00:00Z"),
        }
    }
    output = run_read(make_config(), ["appointments"], state={"appointments": state})
    assert ids(output) == sorted(appointment["id"] for appointment in a)


def test_cursor_is_capped_at_timifys_clock_when_a_record_is_stamped_in_the_future(api):
    # TIMIFY's clock, behind ours, as the login's Date header says.
    serve(
        api,
        [appointment(COMPANY_A, 1, "2026-02-01T10:00:00Z", updated="2099-01-01T00:00:00Z")],
        server_date="Tue, 01 Dec 2026 08:00:00 GMT",
    )
    output = run_read(make_config(), ["appointments"])
    assert len(records_of(output, "appointments")) == 1  # emitted...
    companies = final_state(output, "appointments")["companies"]
    assert companies[COMPANY_A]["updatedAt"] == "2026-12-01T08:00:00Z"  # ...but the cursor is TIMIFY's now


def test_lookback_reaches_five_minutes_behind_the_cursor_for_late_visible_changes(api):
    a = [
        appointment(COMPANY_A, 1, "2026-02-01T10:00:00Z", updated="2026-06-01T11:55:01Z"),  # 4:59 before
        appointment(COMPANY_A, 2, "2026-02-02T10:00:00Z", updated="2026-06-01T11:54:59Z"),  # 5:01 before
    ]
    serve(api, a)
    state = {"companies": {COMPANY_A: company_state("2026-06-01T12:00:00Z")}}
    output = run_read(make_config(), ["appointments"], state={"appointments": state})
    assert ids(output) == [a[0]["id"]]


def test_a_failing_company_keeps_its_cursor_and_the_others_move_on(api):
    serve(api, *seed())
    previous = {c: company_state("2026-01-01T00:00:00Z") for c in (COMPANY_A, COMPANY_B)}
    forbidden = api.get(
        f"{BASE}/v1/appointments",
        status_code=403,
        json=error("FORBIDDEN", "no access"),
        request_headers={"company-id": COMPANY_B},
    )  # every window of company B
    output = run_read(
        make_config(), ["appointments"], state={"appointments": {"companies": previous}}, expecting_exception=True
    )
    assert forbidden.called
    assert any(COMPANY_B in (e.trace.error.message or "") for e in output.errors)
    companies = final_state(output, "appointments")["companies"]
    assert companies[COMPANY_B] == previous[COMPANY_B]
    assert companies[COMPANY_A]["updatedAt"] > previous[COMPANY_A]["updatedAt"]
    assert {r["company_id"] for r in records_of(output, "appointments")} == {COMPANY_A}


def test_customers_have_one_cursor_per_company_and_no_range(api):
    register_login(api)
    a = [customer(COMPANY_A, 1, updated="2026-01-01T00:00:00Z"), customer(COMPANY_A, 2, updated="2026-06-01T00:00:00Z")]
    b = [customer(COMPANY_B, 3, updated="2020-01-01T00:00:00Z")]
    serve_customers(api, a, b)
    state = {"companies": {COMPANY_A: {"updatedAt": "2026-03-01T00:00:00Z"}}}
    output = run_read(make_config(), ["customers"], state={"customers": state})
    assert ids(output, "customers") == sorted([a[1]["id"], b[0]["id"]])  # COMPANY_B is new: in full
    companies = final_state(output, "customers")["companies"]
    assert set(companies) == {COMPANY_A, COMPANY_B}
    # no date range; the ids of the listing, for deleted customers (test_customer_deletions.py)
    assert all(set(entry) == {"updatedAt", "listed_ids"} for entry in companies.values())


def test_a_plain_cursor_state_of_0_1_0_is_migrated_to_a_full_read(api):
    serve(api, *seed())
    output = run_read(make_config(), ["appointments"], state={"appointments": {"updatedAt": "2026-01-15T00:00:00Z"}})
    assert len(records_of(output, "appointments")) == 3
    assert set(final_state(output, "appointments")["companies"]) == {COMPANY_A, COMPANY_B}


def test_the_global_cursor_state_of_0_1_0_is_migrated_without_losing_a_record(api):
    serve(api, *seed())
    serve_customers(api)
    legacy = {"use_global_cursor": True, "state": {"updatedAt": "2026-01-20T00:00:00Z"}, "lookback_window": 12}
    output = run_read(make_config(), ["appointments", "customers"], state={"appointments": legacy, "customers": legacy})
    # 0.1.0's cursor cannot say which companies and dates it covered: everything comes once.
    assert len(records_of(output, "appointments")) == 3
    state = final_state(output, "appointments")
    assert set(state) == {"companies"} and set(state["companies"]) == {COMPANY_A, COMPANY_B}


def test_state_is_small_per_company(api):
    import json

    serve(api, *seed())
    output = run_read(make_config(), ["appointments"])
    state = final_state(output, "appointments")
    # The cursor and the range; the tracked ids (for cancellations) come on top, a few bytes each
    # (unit_tests/test_cancellations.py measures them).
    cursors = {c: {k: v for k, v in e.items() if k != "listed_ids"} for c, e in state["companies"].items()}
    per_company = len(json.dumps({"companies": cursors}, separators=(",", ":"))) / len(cursors)
    assert per_company < 120  # bytes: id, cursor and range


def test_changed_since_keeps_changes_and_records_outside_the_previous_range():
    from airbyte_cdk.sources.types import StreamSlice

    from source_timify.records import ChangedSince

    records = [
        {"id": "same-second-with-millis", "updatedAt": "2026-01-01T00:00:00.500Z", "startDate": "2026-02-01T10:00:00Z"},
        {"id": "offset-form-later", "updatedAt": "2026-01-01T01:00:00+01:00", "startDate": "2026-02-01T10:00:00Z"},
        {"id": "older-inside", "updatedAt": "2025-12-31T23:59:59Z", "startDate": "2026-02-01T10:00:00Z"},
        {"id": "older-before-range", "updatedAt": "2025-12-31T23:59:59Z", "startDate": "2026-01-31T23:59:59Z"},
        {"id": "older-after-range", "updatedAt": "2025-12-31T23:59:59Z", "startDate": "2026-03-01T00:00:00Z"},
        {"id": "no-cursor-value", "startDate": "2026-02-01T10:00:00Z"},
    ]
    changed = {"changed_since": "2026-01-01T00:00:00Z"}
    ranged = {**changed, "previous_from_date": "2026-02-01", "previous_to_date": "2026-02-28"}
    keep = ChangedSince(config={}, parameters={}, date_field="startDate")

    def kept(cursor_slice):
        return [r["id"] for r in keep.filter_records(records, {}, StreamSlice(partition={}, cursor_slice=cursor_slice))]

    assert kept({}) == [r["id"] for r in records]
    assert kept(changed) == ["same-second-with-millis", "offset-form-later", "no-cursor-value"]
    assert kept(ranged) == [
        "same-second-with-millis",
        "offset-form-later",
        "older-before-range",
        "older-after-range",
        "no-cursor-value",
    ]
