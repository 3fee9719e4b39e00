"""A list that changes while it is paged is read again, so no record is skipped by shifted pages and
none is emitted twice (PageGuard + TimifyPagination)."""

import pytest

from source_timify.components import MAX_LIST_READS
from unit_tests.conftest import COMPANY_A, COMPANY_B, appointment, final_state, make_config, records_of, run_read


def window_of_five(timify):
    timify.appointments[COMPANY_A] = [
        appointment(COMPANY_A, n, f"2026-02-0{n}T10:00:00Z", updated="2026-01-01T00:00:00Z") for n in range(1, 6)
    ]
    return list(timify.appointments[COMPANY_A])


def on_page(timify, page, change):
    """Run `change` once, just before the first request for `page` of COMPANY_A's appointments."""
    done = []

    def hook(request):
        if not done and request.path == "/v1/appointments" and request.qs.get("page") == [str(page)] \
                and request.headers.get("company-id") == COMPANY_A:
            done.append(True)
            change()

    timify.before_request.append(hook)
    return done


def appointment_pages(timify):
    """The pages requested of COMPANY_A's window that holds the five appointments."""
    return [
        r.qs["page"][0]
        for r in timify.data_requests("/v1/appointments")
        if r.headers.get("company-id") == COMPANY_A and r.qs["from_date"] == ["2026-02-01"]
    ]


def test_a_deletion_after_page_one_rereads_the_list_and_skips_nothing(timify):
    original = window_of_five(timify)  # page_size 2: pages [1,2] [3,4] [5]
    deleted = original[0]
    done = on_page(timify, 2, lambda: timify.appointments[COMPANY_A].remove(deleted))
    output = run_read(make_config(), ["appointments"])
    emitted = [r["id"] for r in records_of(output, "appointments") if r["company_id"] == COMPANY_A]
    assert done
    # Without the re-read, appointment 3 would have moved onto page 1 (already read) and been lost.
    assert sorted(emitted) == sorted(a["id"] for a in original)  # the deleted one was read before
    assert len(emitted) == len(set(emitted))
    assert appointment_pages(timify) == ["1", "2", "1", "2"]


def test_a_record_seen_twice_in_one_pass_rereads_a_list_without_meta(timify):
    timify.legacy_envelope = True  # no totalItems to compare
    original = window_of_five(timify)

    def move_first_to_the_end():  # rescheduled later in the same window
        first = timify.appointments[COMPANY_A].pop(0)
        first["updatedAt"] = "2026-01-02T00:00:00Z"
        timify.appointments[COMPANY_A].append(first)

    on_page(timify, 3, move_first_to_the_end)
    output = run_read(make_config(), ["appointments"])
    emitted = [r["id"] for r in records_of(output, "appointments") if r["company_id"] == COMPANY_A]
    assert sorted(emitted) == sorted(a["id"] for a in original)
    assert len(emitted) == len(set(emitted))
    assert appointment_pages(timify)[:4] == ["1", "2", "3", "1"]


def test_a_record_changed_during_the_sync_on_a_later_page_rereads_the_list(timify):
    from datetime import datetime, timezone

    original = window_of_five(timify)

    def replace_second_by_a_new_booking():  # a deletion and a creation: the count stays the same
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        timify.appointments[COMPANY_A].pop(1)
        timify.appointments[COMPANY_A].append(appointment(COMPANY_A, 9, "2026-02-09T10:00:00Z", updated=now))

    on_page(timify, 2, replace_second_by_a_new_booking)
    output = run_read(make_config(), ["appointments"])
    emitted = [r["id"] for r in records_of(output, "appointments") if r["company_id"] == COMPANY_A]
    assert len(emitted) == len(set(emitted))
    # Appointment 3 shifted onto page 1 after page 1 was read; the new booking on page 3 shows
    # the list changed, and the re-read finds appointment 3.
    assert original[2]["id"] in emitted
    assert set(emitted) == {a["id"] for a in original} | {timify.appointments[COMPANY_A][-1]["id"]}


def test_a_list_that_never_stops_changing_fails_its_company_only(timify):
    window_of_five(timify)
    timify.appointments[COMPANY_B] = [appointment(COMPANY_B, 7, "2026-02-01T10:00:00Z")]
    counter = iter(range(100, 10_000))

    def book_one_more(request):
        if request.path == "/v1/appointments" and request.qs.get("page") == ["2"] \
                and request.headers.get("company-id") == COMPANY_A:
            timify.appointments[COMPANY_A].insert(0, appointment(COMPANY_A, next(counter), "2026-02-01T09:00:00Z"))

    timify.before_request.append(book_one_more)
    output = run_read(make_config(), ["appointments"], expecting_exception=True)
    messages = [e.trace.error.message for e in output.errors]
    assert any("kept changing" in m and COMPANY_A in m and str(MAX_LIST_READS) in m for m in messages)
    assert appointment_pages(timify).count("1") == MAX_LIST_READS
    companies = final_state(output, "appointments")["companies"]
    assert set(companies) == {COMPANY_B}  # A stays unsynced: its next sync reads it in full


@pytest.mark.parametrize("legacy_envelope", [False, True])
def test_an_unchanged_list_is_read_once(timify, legacy_envelope):
    timify.legacy_envelope = legacy_envelope
    window_of_five(timify)
    run_read(make_config(), ["appointments"])
    pages = appointment_pages(timify)
    assert sorted(pages) == sorted(set(pages))
