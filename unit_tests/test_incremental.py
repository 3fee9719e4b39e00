"""Incremental appointments and customers: a global updatedAt cursor, filtered client-side."""

from unit_tests.conftest import (
    COMPANY_A,
    COMPANY_B,
    appointment,
    days_from_today,
    final_state,
    make_config,
    records_of,
    run_read,
)


def seed(timify):
    timify.appointments[COMPANY_A] = [
        appointment(COMPANY_A, 1, "2026-02-01T10:00:00Z", updated="2026-01-10T00:00:00Z"),
        appointment(COMPANY_A, 2, days_from_today(20) + "T10:00:00Z", updated="2026-01-20T00:00:00Z"),
    ]
    timify.appointments[COMPANY_B] = [
        appointment(COMPANY_B, 3, "2026-01-05T10:00:00Z", updated="2025-12-01T00:00:00Z"),
    ]


def test_first_sync_emits_everything_including_appointments_changed_before_start_date(timify):
    seed(timify)  # COMPANY_B's appointment was last changed before start_date (2026-01-01)
    output = run_read(make_config(), ["appointments"])
    assert len(records_of(output, "appointments")) == 3
    state = final_state(output, "appointments")
    assert state["use_global_cursor"] is True
    assert state["state"] == {"updatedAt": "2026-01-20T00:00:00Z"}
    assert state["lookback_window"] >= 0


def test_next_sync_emits_only_changes_whatever_the_appointment_date(timify):
    seed(timify)
    state = {"use_global_cursor": True, "state": {"updatedAt": "2026-01-20T00:00:00Z"}, "lookback_window": 0}
    timify.appointments[COMPANY_B].append(  # booked far in the past, changed now
        appointment(COMPANY_B, 4, "2026-01-02T10:00:00Z", updated="2026-11-01T00:00:00Z")
    )
    timify.appointments[COMPANY_A][0]["updatedAt"] = "2026-10-01T00:00:00Z"
    output = run_read(make_config(), ["appointments"], state={"appointments": state})
    emitted = sorted(r["id"] for r in records_of(output, "appointments"))
    # The changed two, plus the one exactly at the cursor (the cursor is inclusive).
    assert emitted == sorted(
        [timify.appointments[COMPANY_B][1]["id"], timify.appointments[COMPANY_A][0]["id"], timify.appointments[COMPANY_A][1]["id"]]
    )
    assert final_state(output, "appointments")["state"] == {"updatedAt": "2026-11-01T00:00:00Z"}


def test_lookback_window_rereads_changes_made_while_the_previous_sync_ran(timify):
    seed(timify)
    # The previous sync took 30 days (an exaggeration): anything changed in its last 30 days
    # before the cursor may have been missed by windows it had already read, so it comes again.
    state = {"use_global_cursor": True, "state": {"updatedAt": "2026-01-20T00:00:00Z"}, "lookback_window": 30 * 86400}
    output = run_read(make_config(), ["appointments"], state={"appointments": state})
    assert len(records_of(output, "appointments")) == 2  # updated 2026-01-10 and 2026-01-20


def test_changes_stamped_ahead_of_our_clock_are_not_dropped(timify):
    timify.appointments[COMPANY_A] = [appointment(COMPANY_A, 1, "2026-02-01T10:00:00Z", updated="2099-01-01T00:00:00Z")]
    output = run_read(make_config(), ["appointments"])
    assert len(records_of(output, "appointments")) == 1


def test_failed_sync_keeps_the_previous_cursor(timify):
    seed(timify)
    previous = {"use_global_cursor": True, "state": {"updatedAt": "2026-01-01T00:00:00Z"}, "lookback_window": 0}
    timify.scripted = {3: (403, {"status": 0, "error": {"code": "FORBIDDEN", "message": "no"}}, {})}
    output = run_read(make_config(), ["appointments"], state={"appointments": previous}, expecting_exception=True)
    assert output.errors
    state = final_state(output, "appointments")
    assert state.get("state", previous["state"]) == previous["state"]


def test_customers_are_filtered_on_updated_at(timify):
    timify.customers[COMPANY_A] = [
        {"id": "c1", "updatedAt": "2026-01-01T00:00:00Z"},
        {"id": "c2", "updatedAt": "2026-06-01T00:00:00Z"},
    ]
    state = {"use_global_cursor": True, "state": {"updatedAt": "2026-03-01T00:00:00Z"}, "lookback_window": 0}
    output = run_read(make_config(), ["customers"], state={"customers": state})
    assert [r["id"] for r in records_of(output, "customers")] == ["c2"]


def test_changed_since_compares_times_not_strings_of_other_shapes():
    from airbyte_cdk.sources.types import StreamSlice

    from source_timify.components import ChangedSince

    since = StreamSlice(partition={}, cursor_slice={"start_time": "2026-01-01T00:00:00Z", "end_time": "2999-12-31T23:59:59Z"})
    records = [
        {"id": "same-second-with-millis", "updatedAt": "2026-01-01T00:00:00.500Z"},
        {"id": "offset-form-later", "updatedAt": "2026-01-01T01:00:00+01:00"},  # = 00:00:00Z
        {"id": "older", "updatedAt": "2025-12-31T23:59:59Z"},
        {"id": "no-cursor-value"},
    ]
    kept = ChangedSince(config={}, parameters={}).filter_records(records, {}, since)
    assert [r["id"] for r in kept] == ["same-second-with-millis", "offset-form-later", "no-cursor-value"]


def test_a_plain_cursor_state_is_accepted_as_the_global_cursor(timify):
    seed(timify)
    output = run_read(make_config(), ["appointments"], state={"appointments": {"updatedAt": "2026-01-15T00:00:00Z"}})
    assert [r["id"] for r in records_of(output, "appointments")] == [timify.appointments[COMPANY_A][1]["id"]]
    assert final_state(output, "appointments")["state"] == {"updatedAt": "2026-01-20T00:00:00Z"}
