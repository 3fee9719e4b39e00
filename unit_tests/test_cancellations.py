"""Cancelled appointments: deletion records for upcoming appointments TIMIFY no longer has, the
compact ids in the state, and the confirmation request (cancellations.py, CompanyCursor)."""

import random

import pytest

from source_timify.cancellations import DELETED_AT, decode_ids, encode_ids
from unit_tests.conftest import COMPANY_A, COMPANY_B, appointment, days_from_today, final_state, make_config, records_of, run_read


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


def test_ids_survive_encoding_whatever_their_shape():
    ids = object_ids(2_000) + ["not-an-object-id", "5F" * 12, ""]
    assert sorted(decode_ids(encode_ids(ids))) == sorted(set(ids))
    assert decode_ids(encode_ids([])) == [] and decode_ids("") == []


@pytest.mark.parametrize("count, bound_bytes", [(10_000, 64_000), (100_000, 600_000)])
def test_the_state_for_upcoming_appointments_is_a_few_bytes_each(count, bound_bytes):
    encoded = encode_ids(object_ids(count))
    # Measured (docs/timify.md, "Cancelled appointments"): about 3.2-3.4 bytes per tracked appointment.
    assert len(encoded) < bound_bytes
    assert len(encoded) / count < 6


def upcoming(n, days=10, updated="2026-01-01T00:00:00Z"):
    return appointment(COMPANY_A, n, days_from_today(days) + "T10:00:00Z", updated=updated)


def two_syncs(timify, between):
    """A first sync, `between(timify)`, and a second sync from the first's state."""
    first = run_read(make_config(), ["appointments"])
    state = final_state(first, "appointments")
    between(timify)
    return first, run_read(make_config(), ["appointments"], state={"appointments": state})


def test_a_cancelled_upcoming_appointment_gets_one_deletion_record(timify):
    timify.appointments[COMPANY_A] = [upcoming(1), upcoming(2), upcoming(3, days=-20)]
    cancelled = timify.appointments[COMPANY_A][0]
    first, second = two_syncs(timify, lambda t: t.appointments[COMPANY_A].remove(cancelled))
    # (in-process reads drop null fields; the CLI keeps them: run.py)
    assert records_of(first, "appointments") and all(r.get(DELETED_AT) is None for r in records_of(first, "appointments"))
    deletions = [r for r in records_of(second, "appointments") if r.get(DELETED_AT)]
    assert [(r["company_id"], r["id"]) for r in deletions] == [(COMPANY_A, cancelled["id"])]
    assert deletions[0]["updatedAt"] == deletions[0][DELETED_AT] and deletions[0][DELETED_AT].endswith("Z")
    lookups = [r for r in timify.data_requests("/v1/appointments") if "ids" in r.qs]
    assert [r.qs["ids"] for r in lookups] == [[cancelled["id"]]]
    assert lookups[0].headers["company-id"] == COMPANY_A and "from_date" not in lookups[0].qs


def test_an_appointment_that_moved_out_of_the_range_is_not_deleted(timify):
    timify.appointments[COMPANY_A] = [upcoming(1), upcoming(2)]
    moved = timify.appointments[COMPANY_A][0]

    def move_beyond_the_horizon(t):
        moved["startDate"] = days_from_today(400) + "T10:00:00Z"  # lookahead_days is 30

    _, second = two_syncs(timify, move_beyond_the_horizon)
    assert not [r for r in records_of(second, "appointments") if r.get(DELETED_AT)]
    assert [r for r in timify.data_requests("/v1/appointments") if "ids" in r.qs]  # it was asked about


def test_nothing_deleted_means_no_deletion_record_and_no_lookup(timify):
    timify.appointments[COMPANY_A] = [upcoming(1), upcoming(2)]
    _, second = two_syncs(timify, lambda t: None)
    assert not records_of(second, "appointments")
    assert not [r for r in timify.data_requests("/v1/appointments") if "ids" in r.qs]


def test_deleted_past_appointments_are_not_reported(timify):
    old = appointment(COMPANY_A, 1, "2026-02-01T10:00:00Z")  # months before the sync
    timify.appointments[COMPANY_A] = [old, upcoming(2)]
    _, second = two_syncs(timify, lambda t: t.appointments[COMPANY_A].remove(old))
    assert not records_of(second, "appointments")


def test_a_company_not_read_completely_reports_nothing_and_asks_again_next_time(timify):
    timify.appointments[COMPANY_A] = [upcoming(1), upcoming(2)]
    timify.appointments[COMPANY_B] = [appointment(COMPANY_B, 9, days_from_today(5) + "T10:00:00Z")]
    first = run_read(make_config(), ["appointments"])
    cancelled = timify.appointments[COMPANY_A].pop(0)

    def fail_one_window_of_company_a(request):
        if request.headers.get("company-id") == COMPANY_A and request.qs.get("from_date") == ["2026-01-01"]:
            timify.scripted[timify.data_calls] = (403, {"status": 0, "error": {"code": "FORBIDDEN", "message": "no"}}, {})

    timify.before_request.append(fail_one_window_of_company_a)
    failed = run_read(make_config(), ["appointments"], state={"appointments": final_state(first, "appointments")},
                      expecting_exception=True)
    assert failed.errors and not [r for r in records_of(failed, "appointments") if r.get(DELETED_AT)]
    timify.before_request.clear()
    third = run_read(make_config(), ["appointments"], state={"appointments": final_state(failed, "appointments")})
    assert [r["id"] for r in records_of(third, "appointments") if r.get(DELETED_AT)] == [cancelled["id"]]


def test_a_lookup_timify_cannot_answer_reports_nothing_and_asks_again_next_time(timify):
    timify.appointments[COMPANY_A] = [upcoming(1), upcoming(2)]
    cancelled = timify.appointments[COMPANY_A][0]
    first = run_read(make_config(), ["appointments"])
    timify.appointments[COMPANY_A].remove(cancelled)

    def lookups_fail(request):
        if "ids" in request.qs:
            timify.scripted[timify.data_calls] = (500, {"status": 0, "error": {"code": "INTERNAL", "message": "down"}}, {})

    timify.before_request.append(lookups_fail)
    second = run_read(make_config(), ["appointments"], state={"appointments": final_state(first, "appointments")})
    assert not [r for r in records_of(second, "appointments") if r.get(DELETED_AT)]
    timify.before_request.clear()
    third = run_read(make_config(), ["appointments"], state={"appointments": final_state(second, "appointments")})
    assert [r["id"] for r in records_of(third, "appointments") if r.get(DELETED_AT)] == [cancelled["id"]]


def test_customers_carry_no_cancellation_tracking(timify):
    timify.customers[COMPANY_A] = [{"id": "c1", "updatedAt": "2026-01-01T00:00:00Z"}]
    output = run_read(make_config(), ["customers"])
    assert all(set(entry) == {"updatedAt"} for entry in final_state(output, "customers")["companies"].values())
    assert DELETED_AT not in records_of(output, "customers")[0]
