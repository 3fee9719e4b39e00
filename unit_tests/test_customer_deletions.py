"""Deleted customers: deletion records for the customers TIMIFY no longer lists, confirmed by a
second listing, through the real manifest (deletion_tracking.py, second_listing.py, CompanyCursor)."""

import random

import pytest
import requests_mock

from source_timify.cancellations import DELETED_AT, decode_ids, encode_ids
from source_timify.deletion_tracking import LISTED_IDS
from source_timify.second_listing import LIMIT as SECOND_LIMIT
from unit_tests.conftest import COMPANY_A, COMPANY_B, ENTERPRISE, final_state, make_config, records_of, run_read
from unit_tests.timify_responses import (
    company,
    customer,
    error,
    object_ids,
    page,
    register_customer_fields,
    register_list,
    register_login,
    register_page,
    requests_to,
)

LIMIT = 2  # make_config's page_size


@pytest.fixture
def api():
    with requests_mock.Mocker(case_sensitive=True) as mocker:
        register_login(mocker)
        register_customer_fields(mocker)
        serve_companies(mocker, COMPANY_A, COMPANY_B)
        yield mocker


def serve_companies(api, *company_ids):
    register_list(api, "/v1/companies", [company(c) for c in company_ids], LIMIT, f"enterprise_id={ENTERPRISE}")


def serve(api, a=(), b=(), again_a=None, again_b=None):
    """Companies A's and B's customers as the stream lists them, and as a second listing lists
    them (the same, unless `again_*` says otherwise)."""
    for company_id, listed, again in ((COMPANY_A, a, again_a), (COMPANY_B, b, again_b)):
        register_list(api, "/v1/customers", list(listed), LIMIT, company_id=company_id)
        register_list(
            api, "/v1/customers", list(listed if again is None else again), SECOND_LIMIT, company_id=company_id
        )


def second_listings(api, company_id=None):
    return [r for r in requests_to(api, "/v1/customers", company_id) if r.qs.get("limit") == [str(SECOND_LIMIT)]]


def sync(state=None, expecting_exception=False):
    return run_read(
        make_config(),
        ["customers"],
        state={"customers": state} if state else None,
        expecting_exception=expecting_exception,
    )


def deletions(output):
    return [r for r in records_of(output, "customers") if r.get(DELETED_AT)]


def tracked(output, company_id=COMPANY_A):
    return sorted(decode_ids(final_state(output, "customers")["companies"][company_id][LISTED_IDS]))


def customers_of(company_id, *numbers):
    return [customer(company_id, n, updated="2026-01-01T00:00:00Z") for n in numbers]


def test_customer_absent_from_a_complete_listing_is_reported_once(api):
    before = customers_of(COMPANY_A, 1, 2, 3)
    serve(api, before)
    first = sync()
    assert not deletions(first) and tracked(first) == sorted(c["id"] for c in before)
    assert not second_listings(api)  # nothing tracked was missing: no request more
    serve(api, before[1:])
    second = sync(final_state(first, "customers"))
    (deleted,) = deletions(second)
    assert set(deleted) == {"company_id", "id", "updatedAt", DELETED_AT}
    assert (deleted["company_id"], deleted["id"]) == (COMPANY_A, before[0]["id"])
    assert deleted["updatedAt"] == deleted[DELETED_AT] and deleted[DELETED_AT].endswith("Z")
    assert [r.headers["company-id"] for r in second_listings(api)] == [COMPANY_A]  # confirmed, once
    assert tracked(second) == sorted(c["id"] for c in before[1:])
    third = sync(final_state(second, "customers"))
    assert not deletions(third) and not records_of(third, "customers")
    assert len(second_listings(api)) == 1


def test_customer_missed_by_the_listing_but_listed_again_is_not_reported(api):
    before = customers_of(COMPANY_A, 1, 2, 3)
    serve(api, before)
    first = sync()
    # The stream's listing misses customer 1 (a shift no page showed); TIMIFY still lists it.
    serve(api, before[1:], again_a=before)
    second = sync(final_state(first, "customers"))
    assert not deletions(second) and len(second_listings(api)) == 1
    assert tracked(second) == sorted(c["id"] for c in before)  # still tracked


def test_customer_in_a_changed_listing_is_not_reported(api):
    before = customers_of(COMPANY_A, 1, 2, 3)
    serve(api, before)
    first = sync()
    serve(api, before[1:])
    # The second listing changes while it is paged (its pages count 3 customers, then 2).
    register_page(api, "/v1/customers", 1, SECOND_LIMIT, page(before[1:2], 1, 1, total=3), company_id=COMPANY_A)
    register_page(api, "/v1/customers", 2, SECOND_LIMIT, page(before[2:], 2, 1, total=2), company_id=COMPANY_A)
    second = sync(final_state(first, "customers"))
    assert not deletions(second)
    assert before[0]["id"] in tracked(second)  # kept, to be checked again
    serve(api, before[1:])  # a listing that holds still
    third = sync(final_state(second, "customers"))
    assert [r["id"] for r in deletions(third)] == [before[0]["id"]]


def test_a_listing_read_again_after_it_changed_while_paged_counts_every_pass(api):
    before = customers_of(COMPANY_A, 1, 2, 3, 4)
    serve(api, before)
    first = sync()
    a, b, c, d = before
    # Pass 1: page 1 [a, b] of 4, then page 2 counts 3: the list changed, PageGuard reads it again
    # (pass 2: [b, c], [d]). Customer `a` shows only in pass 1 and is not reported.
    register_page(
        api,
        "/v1/customers",
        1,
        LIMIT,
        [{"json": page([a, b], 1, LIMIT, 4)}, {"json": page([b, c], 1, LIMIT, 3)}],
        company_id=COMPANY_A,
    )
    register_page(api, "/v1/customers", 2, LIMIT, [{"json": page([d], 2, LIMIT, 3)}], company_id=COMPANY_A)
    register_list(api, "/v1/customers", [], LIMIT, company_id=COMPANY_B)
    second = sync(final_state(first, "customers"))
    assert not deletions(second) and not second_listings(api)
    assert tracked(second) == sorted(x["id"] for x in before)


def test_failed_company_reports_no_deletions(api):
    a, b = customers_of(COMPANY_A, 1, 2), customers_of(COMPANY_B, 1, 2)
    serve(api, a, b)
    first = sync()
    serve(api, a[1:], b[1:])
    refused = register_page(
        api, "/v1/customers", 1, LIMIT, [{"status_code": 403, "json": error("FORBIDDEN", "no")}], company_id=COMPANY_A
    )
    failed = sync(final_state(first, "customers"), expecting_exception=True)
    assert refused.called and failed.errors
    # The company read completely reports its deletion; the one that failed, none, and keeps its entry.
    assert [(r["company_id"], r["id"]) for r in deletions(failed)] == [(COMPANY_B, b[0]["id"])]
    assert not second_listings(api, COMPANY_A)
    assert (
        final_state(failed, "customers")["companies"][COMPANY_A]
        == final_state(first, "customers")["companies"][COMPANY_A]
    )
    serve(api, a[1:], b[1:])  # A answers again
    recovered = sync(final_state(failed, "customers"))
    assert [(r["company_id"], r["id"]) for r in deletions(recovered)] == [(COMPANY_A, a[0]["id"])]


def test_departed_company_reports_nothing_and_nothing_false_when_it_returns(api):
    a, b = customers_of(COMPANY_A, 1, 2), customers_of(COMPANY_B, 1, 2, 3)
    serve(api, a, b)
    first = sync()
    serve_companies(api, COMPANY_A)  # B leaves the enterprise
    gone = sync(final_state(first, "customers"))
    assert not deletions(gone)
    assert (
        final_state(gone, "customers")["companies"][COMPANY_B]
        == final_state(first, "customers")["companies"][COMPANY_B]
    )
    serve_companies(api, COMPANY_A, COMPANY_B)  # B comes back; one customer was deleted meanwhile
    serve(api, a, b[:2])
    back = sync(final_state(gone, "customers"))
    assert [(r["company_id"], r["id"]) for r in deletions(back)] == [(COMPANY_B, b[2]["id"])]


def test_state_from_0_4_0_reports_no_deletion(api):
    listed = customers_of(COMPANY_A, 2, 3)
    serve(api, listed)
    state_0_4_0 = {"companies": {COMPANY_A: {"updatedAt": "2026-03-01T00:00:00Z"}}}  # no listed ids
    output = sync(state_0_4_0)
    assert not deletions(output) and not second_listings(api)
    assert tracked(output) == sorted(c["id"] for c in listed)  # the tracking starts


def test_a_second_listing_timify_cannot_answer_reports_nothing_and_checks_again_next_time(api):
    before = customers_of(COMPANY_A, 1, 2)
    serve(api, before)
    first = sync()
    serve(api, before[1:])
    failing = register_page(
        api,
        "/v1/customers",
        1,
        SECOND_LIMIT,
        [{"status_code": 500, "json": error("INTERNAL", "down")}],
        company_id=COMPANY_A,
    )
    second = sync(final_state(first, "customers"))
    assert failing.call_count > 1  # asked, and retried
    assert not deletions(second) and before[0]["id"] in tracked(second)
    serve(api, before[1:])
    third = sync(final_state(second, "customers"))
    assert [r["id"] for r in deletions(third)] == [before[0]["id"]]


def test_a_listing_that_shows_none_of_its_customers_reports_nothing(api):
    before = customers_of(COMPANY_A, 1, 2, 3)
    serve(api, before)
    first = sync()
    serve(api, [])  # every customer gone at once: a wrong answer more likely than an erasure
    second = sync(final_state(first, "customers"))
    assert not deletions(second) and not second_listings(api)
    assert tracked(second) == sorted(c["id"] for c in before)


def test_the_deletion_column_is_declared_in_the_customers_and_enterprise_customers_schemas_only():
    from source_timify import SourceTimify

    streams = {s.name: s for s in SourceTimify(config=make_config()).streams(make_config())}
    for name in ("customers", "enterprise_customers"):  # enterprise customers' deletions: issue 21
        declared = streams[name].get_json_schema()["properties"]
        assert declared[DELETED_AT]["type"] == ["string", "null"] and declared[DELETED_AT]["format"] == "date-time"
    for name in ("customer_fields", "enterprise_customer_fields", "enterprise_customer_field_categories"):
        assert DELETED_AT not in streams[name].get_json_schema()["properties"]


# ----- the state's size --------------------------------------------------------------------------


def one_by_one_ids(count, years=2, seed=2):
    """Ids as the samples show records created one at a time (../shared/timify-samples: 31 process
    parts among 127 ids, one shared only by records made within seconds): each customer its own
    5-byte part and counter, creation times over `years`."""
    rng = random.Random(seed)
    start = 1_700_000_000
    return [
        "%08x%010x%06x" % (start + rng.randrange(years * 365 * 86400), rng.getrandbits(40), rng.getrandbits(24))
        for _ in range(count)
    ]


# bytes per id measured (docs/timify.md, "Deleted customers"); the bounds leave 10% for other seeds
@pytest.mark.parametrize("count", [10_000, 100_000, 250_000])
@pytest.mark.parametrize("ids, measured", [(object_ids, 3.42), (one_by_one_ids, 16.9)], ids=["timify", "one_by_one"])
def test_the_tracked_customers_take_the_documented_bytes_per_id(count, ids, measured):
    made = ids(count)
    encoded = encode_ids(made)
    assert sorted(decode_ids(encoded)) == sorted(set(made))
    assert len(encoded) / count <= measured * 1.1, len(encoded) / count


# ----- the second listing on its own -------------------------------------------------------------


def second_listing(api_answers, sync_start=None):
    """SecondListing.still_listed(COMPANY_A, {ids 1-4}) against pages `api_answers` (bodies or
    lists of responses, page 1 first), and the requests it sent."""
    from source_timify.second_listing import SecondListing
    from source_timify.session import TimifySession
    from unit_tests.conftest import with_session

    session = TimifySession()
    session.start_sync()
    if sync_start is not None:
        session.clock.logged_in(server_time=sync_start, received=sync_start)
    with requests_mock.Mocker(case_sensitive=True) as mocker:
        register_login(mocker)
        for number, answer in enumerate(api_answers, start=1):
            register_page(mocker, "/v1/customers", number, SECOND_LIMIT, answer, company_id=COMPANY_A)
        config = with_session(make_config(), session)
        asked = {c["id"] for c in customers_of(COMPANY_A, 1, 2, 3, 4)}
        found = SecondListing(config, session, "/v1/customers").still_listed(COMPANY_A, asked)
        return found, [r.qs["page"] for r in requests_to(mocker, "/v1/customers")]


ONE, TWO, THREE = customers_of(COMPANY_A, 1, 2, 3)


def test_a_second_listing_of_one_page_confirms_from_one_answer():
    found, pages_asked = second_listing([page([ONE, TWO], 1, SECOND_LIMIT)])
    assert found == {ONE["id"], TWO["id"]} and pages_asked == [["1"]]


def test_a_second_listing_without_meta_is_read_until_an_empty_page():
    found, pages_asked = second_listing([{"data": [ONE]}, {"data": [TWO]}, {"data": []}])
    assert found == {ONE["id"], TWO["id"]} and pages_asked == [["1"], ["2"], ["3"]]


def test_a_second_listing_whose_pages_repeat_an_id_confirms_nothing():
    found, _ = second_listing([page([ONE, TWO], 1, 2, total=4), page([TWO, THREE], 2, 2, total=4)])
    assert found is None


def test_a_second_listing_that_lists_fewer_ids_than_it_counts_confirms_nothing():
    found, _ = second_listing([page([ONE], 1, 1, total=2), page([], 2, 1, total=2)])
    assert found is None


def test_a_second_listing_with_a_record_changed_during_the_sync_after_page_1_confirms_nothing():
    changed = dict(TWO, updatedAt="2026-06-01T00:00:10Z")
    found, _ = second_listing([page([ONE], 1, 1, total=2), page([changed], 2, 1, total=2)], sync_start=1_780_272_000)
    assert found is None  # 1_780_272_000 is 2026-06-01T00:00:00Z
