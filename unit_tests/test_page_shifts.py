"""A list that changes while it is paged is read again, so no record is skipped by shifted pages and
none is emitted twice (PageGuard + TimifyPagination).

Company A's window from 2026-02-01 holds five appointments, read two a page (make_config): each
test registers what TIMIFY answers, request after request, to the pages of that window."""

from datetime import datetime, timezone

import pytest
import requests_mock

from source_timify.lists import MAX_LIST_READS
from unit_tests.conftest import COMPANY_A, COMPANY_B, ENTERPRISE, final_state, make_config, records_of, run_read
from unit_tests.timify_responses import (
    appointment,
    appointment_windows,
    company,
    page,
    pages,
    register_appointments,
    register_list,
    register_login,
    register_page,
    requests_to,
    window_query,
)

LIMIT = 2  # make_config's page_size
FIVE = [appointment(COMPANY_A, n, f"2026-02-0{n}T10:00:00Z", updated="2026-01-01T00:00:00Z") for n in range(1, 6)]


@pytest.fixture
def api():
    """Every window of both companies answers, company A's 2026-02-01 window with the five."""
    with requests_mock.Mocker(case_sensitive=True) as mocker:
        register_login(mocker)
        register_list(
            mocker, "/v1/companies", [company(COMPANY_A), company(COMPANY_B)], LIMIT, f"enterprise_id={ENTERPRISE}"
        )
        windows = appointment_windows(make_config())
        register_appointments(mocker, COMPANY_A, FIVE, windows, LIMIT)
        register_appointments(mocker, COMPANY_B, [], windows, LIMIT)
        yield mocker


def the_window():
    """The query of company A's window that holds the five appointments."""
    (window,) = [w for w in appointment_windows(make_config()) if w[0] <= "2026-02-01" <= w[1]]
    assert window[0] == "2026-02-01"
    return window_query(*window)


def answer_pages(api, *answers):
    """`answers[n - 1]`: what TIMIFY answers to page n of the window, request after request."""
    for number, responses in enumerate(answers, start=1):
        register_page(
            api, "/v1/appointments", number, LIMIT, [{"json": body} for body in responses], the_window(), COMPANY_A
        )


def appointment_pages(api):
    """The pages requested of COMPANY_A's window that holds the five appointments."""
    return [
        r.qs["page"][0] for r in requests_to(api, "/v1/appointments", COMPANY_A) if r.qs["from_date"] == ["2026-02-01"]
    ]


def emitted_of_a(output):
    return [r["id"] for r in records_of(output, "appointments") if r["company_id"] == COMPANY_A]


def test_a_deletion_after_page_one_rereads_the_list_and_skips_nothing(api):
    # pages [1,2] [3,4] [5]; appointment 1 is deleted after page 1 was read: [2,3] [4,5]
    before, after = pages(FIVE, LIMIT), pages(FIVE[1:], LIMIT)
    answer_pages(api, [before[0], after[0]], [after[1]])
    output = run_read(make_config(), ["appointments"])
    emitted = emitted_of_a(output)
    # Without the re-read, appointment 3 would have moved onto page 1 (already read) and been lost.
    assert sorted(emitted) == sorted(a["id"] for a in FIVE)  # the deleted one was read before
    assert len(emitted) == len(set(emitted))
    asked = appointment_pages(api)
    # Page 3 may have been asked for ahead (page_prefetch.py) before page 2 showed the change; it
    # is dropped with the rest of that pass.
    assert [p for p in asked if p != "3"] == ["1", "2", "1", "2"] and asked.count("3") <= 1


def test_a_record_seen_twice_in_one_pass_rereads_a_list_without_meta(api):
    # No totalItems to compare; the first is rescheduled to the end of the window after page 2.
    moved = dict(FIVE[0], updatedAt="2026-01-02T00:00:00Z")
    before, after = pages(FIVE, LIMIT, meta=False), pages(FIVE[1:] + [moved], LIMIT, meta=False)
    answer_pages(api, [before[0], after[0]], [before[1], after[1]], [after[2]])
    output = run_read(make_config(), ["appointments"])
    emitted = emitted_of_a(output)
    assert sorted(emitted) == sorted(a["id"] for a in FIVE)
    assert len(emitted) == len(set(emitted))
    assert appointment_pages(api)[:4] == ["1", "2", "3", "1"]


def test_a_record_changed_during_the_sync_on_a_later_page_rereads_the_list(api):
    # After page 1, appointment 2 is deleted and a new one booked: the count stays the same.
    def booked_now():
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # during the sync
        return appointment(COMPANY_A, 9, "2026-02-09T10:00:00Z", updated=now)

    after = [FIVE[0]] + FIVE[2:]  # + the new booking
    register_page(
        api,
        "/v1/appointments",
        1,
        LIMIT,
        [{"json": pages(FIVE, LIMIT)[0]}, {"json": page(after[:2], 1, LIMIT, total=5)}],
        the_window(),
        COMPANY_A,
    )
    register_page(api, "/v1/appointments", 2, LIMIT, page(after[2:4], 2, LIMIT, total=5), the_window(), COMPANY_A)
    register_page(
        api,
        "/v1/appointments",
        3,
        LIMIT,
        [{"json": lambda request, context: page([booked_now()], 3, LIMIT, total=5)}],
        the_window(),
        COMPANY_A,
    )
    output = run_read(make_config(), ["appointments"])
    emitted = emitted_of_a(output)
    assert len(emitted) == len(set(emitted))
    # Appointment 3 shifted onto page 1 after page 1 was read; the new booking on page 3 shows
    # the list changed, and the re-read finds appointment 3.
    assert FIVE[2]["id"] in emitted
    assert set(emitted) == {a["id"] for a in FIVE} | {booked_now()["id"]}
    # Two passes over pages 1-3, each starting at page 1; within a pass, pages read ahead
    # (page_prefetch.py) may reach TIMIFY in any order.
    asked = appointment_pages(api)
    assert len(asked) == 6 and asked[0] == asked[3] == "1"
    assert sorted(asked[:3]) == sorted(asked[3:]) == ["1", "2", "3"]


def test_a_list_that_never_stops_changing_fails_its_company_only(api):
    register_appointments(
        api, COMPANY_B, [appointment(COMPANY_B, 7, "2026-02-01T10:00:00Z")], appointment_windows(make_config()), LIMIT
    )
    listed = list(FIVE)
    counter = iter(range(100, 10_000))

    def one_more_booked_before_each_page_two(request, context):
        number = int(request.qs["page"][0])
        if number == 2:
            listed.insert(0, appointment(COMPANY_A, next(counter), "2026-02-01T09:00:00Z"))
        return pages(listed, LIMIT)[number - 1]

    for number in (1, 2, 3):
        register_page(
            api,
            "/v1/appointments",
            number,
            LIMIT,
            [{"json": one_more_booked_before_each_page_two}],
            the_window(),
            COMPANY_A,
        )
    output = run_read(make_config(), ["appointments"], expecting_exception=True)
    messages = [e.trace.error.message for e in output.errors]
    assert any("kept changing" in m and COMPANY_A in m and str(MAX_LIST_READS) in m for m in messages)
    assert appointment_pages(api).count("1") == MAX_LIST_READS
    companies = final_state(output, "appointments")["companies"]
    assert set(companies) == {COMPANY_B}  # A stays unsynced: its next sync reads it in full


@pytest.mark.parametrize("legacy_envelope", [False, True])
def test_an_unchanged_list_is_read_once(api, legacy_envelope):
    answer_pages(api, *[[body] for body in pages(FIVE, LIMIT, meta=not legacy_envelope)])
    output = run_read(make_config(), ["appointments"])
    assert not output.errors
    assert sorted(emitted_of_a(output)) == sorted(a["id"] for a in FIVE)
    pages_read = appointment_pages(api)
    assert sorted(pages_read) == sorted(set(pages_read))


def test_a_page_that_showed_its_list_changed_is_remembered_beside_its_response_not_on_it():
    import gc
    import weakref

    import requests

    from source_timify.lists import LIST_CHANGED

    response, other = requests.Response(), requests.Response()
    LIST_CHANGED.add(response)
    assert response in LIST_CHANGED and other not in LIST_CHANGED
    assert vars(response).keys() == vars(other).keys()  # nothing written on requests' object
    freed = weakref.ref(response)
    del response
    gc.collect()
    assert freed() is None  # the mark does not keep a page in memory
