"""Deleted enterprise customers: deletion records for the enterprise customers TIMIFY no longer
lists, confirmed by asking TIMIFY by id (`GET /v1/enterprise-customers?ids=...`), through the real
manifest (incremental.EnterpriseCursor, deletion_tracking.ListedIds, id_lookup.IdLookup)."""

import logging
import time
from datetime import datetime

import pytest
import requests_mock

from source_timify.cancellations import DELETED_AT, decode_ids, encode_ids
from source_timify.deletion_tracking import LISTED_IDS
from unit_tests.conftest import final_state, make_config, records_of, run_read
from unit_tests.timify_responses import BASE, error, page, register_customer_fields, register_list, register_login

STREAM = "enterprise_customers"
PATH = "/v1/enterprise-customers"
LIMIT = 2  # make_config's page_size
LOGIN_DATE = "Tue, 01 Dec 2026 08:00:00 GMT"  # TIMIFY's clock at the sync's login
LOGIN_AT = datetime(2026, 12, 1, 8, 0, 0)


def customer(n, updated="2026-01-01T00:00:00Z"):
    return {"id": f"{n:024x}", "createdAt": "2025-01-01T00:00:00Z", "updatedAt": updated}


@pytest.fixture
def api():
    with requests_mock.Mocker(case_sensitive=True) as mocker:
        register_login(mocker, server_date=LOGIN_DATE)
        register_customer_fields(mocker, enterprise=True)
        yield mocker


def serve(api, listed, timify=None, lookup=None):
    """The enterprise's customers as the stream lists them, and TIMIFY's answer to a lookup by id:
    those of the ids asked that `timify` (default: `listed`) holds, unless `lookup` is given (a
    requests-mock response, or a function of the ids asked to a body)."""
    register_list(api, PATH, list(listed), LIMIT)
    holds = {c["id"]: c for c in (listed if timify is None else timify)}

    def answer(request, context):
        asked = request.qs["ids"][0].split(",")
        if callable(lookup):
            return lookup(asked)
        return page([holds[i] for i in asked if i in holds], 1, len(asked))

    response = lookup if isinstance(lookup, dict) else {"json": answer}
    api.get(f"{BASE}{PATH}", additional_matcher=lambda request: "ids" in request.qs, **response)


def lookups(api):
    return [r for r in api.request_history if r.path == PATH and "ids" in r.qs]


def sync(state=None):
    return run_read(make_config(), [STREAM], state={STREAM: state} if state is not None else None)


def deletions(output):
    return [r for r in records_of(output, STREAM) if r.get(DELETED_AT)]


def tracked(output):
    return sorted(decode_ids(final_state(output, STREAM)[LISTED_IDS]))


def ids(*customers):
    return sorted(c["id"] for c in customers)


def test_enterprise_customer_absent_and_confirmed_gone_is_reported_once(api):
    before = [customer(n) for n in (1, 2, 3)]
    serve(api, before)
    first = sync()
    assert not deletions(first) and tracked(first) == ids(*before)
    # Live: an empty column (the test harness's serialiser drops nulls; integration tests see them).
    assert all(r.get(DELETED_AT) is None for r in records_of(first, STREAM))
    assert not lookups(api)  # nothing tracked was missing: no request more
    serve(api, before[1:])
    started = time.monotonic()
    second = sync(final_state(first, STREAM))
    took = time.monotonic() - started
    (deleted,) = deletions(second)
    stamp = deleted[DELETED_AT]
    assert deleted == {"id": before[0]["id"], "updatedAt": stamp, DELETED_AT: stamp}
    # TIMIFY's clock when the deletion was confirmed: the login's Date plus the whole seconds our
    # clock counted since, which a slow machine can make one or more (not always 08:00:00).
    assert 0 <= (datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ") - LOGIN_AT).total_seconds() <= took
    assert [r.qs["ids"] for r in lookups(api)] == [[before[0]["id"]]]  # confirmed by id, once
    assert "company-id" not in lookups(api)[0].headers
    assert tracked(second) == ids(*before[1:])
    third = sync(final_state(second, STREAM))
    assert not deletions(third) and not records_of(third, STREAM)  # nothing changed, nothing repeated
    assert len(lookups(api)) == 1


def test_enterprise_customer_the_lookup_still_returns_is_not_reported(api):
    before = [customer(n) for n in (1, 2, 3)]
    serve(api, before)
    first = sync()
    # The listing misses customer 1 (a shift no page showed); asked by id, TIMIFY still has it.
    serve(api, before[1:], timify=before)
    second = sync(final_state(first, STREAM))
    assert not deletions(second) and len(lookups(api)) == 1
    assert tracked(second) == ids(*before)  # still tracked


@pytest.mark.parametrize("meta", [True, False], ids=["with-meta", "without-meta"])
def test_server_ignoring_ids_reports_nothing(api, meta, caplog):
    everyone = [customer(n) for n in range(1, 8)]
    serve(api, everyone)
    first = sync()
    gone = everyone[2]
    # A server without the filter answers with its whole list (its first page), whatever was asked.
    rest = [c for c in everyone if c is not gone]
    serve(api, rest, lookup=lambda asked: page(rest[: len(asked)], 1, len(asked), total=len(rest), meta=meta))
    with caplog.at_level(logging.WARNING, logger="airbyte"):
        second = sync(final_state(first, STREAM))
    assert not deletions(second) and lookups(api)
    assert tracked(second) == ids(*everyone)  # kept, to be asked again
    assert any("ignore `ids`" in r.getMessage() for r in caplog.records)


def test_server_ignoring_ids_with_a_list_as_short_as_the_ids_asked_reports_nothing(api):
    everyone = [customer(n) for n in (1, 2)]
    serve(api, everyone)
    first = sync()
    # Customer 1 is gone; a server ignoring `ids` answers `limit=1` with the first of the rest,
    # counting one item: one record, not asked for.
    serve(api, everyone[1:], lookup=lambda asked: page(everyone[1:2], 1, 1))
    second = sync(final_state(first, STREAM))
    assert not deletions(second) and tracked(second) == ids(*everyone)


def test_a_lookup_timify_cannot_answer_reports_nothing_and_the_next_sync_asks_again(api, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    before = [customer(n) for n in (1, 2, 3)]
    serve(api, before)
    first = sync()
    serve(api, before[1:], lookup={"status_code": 503, "json": error("INTERNAL", "down")})
    second = sync(final_state(first, STREAM))
    assert not deletions(second) and len(lookups(api)) > 1  # tried again, then given up
    assert tracked(second) == ids(*before)
    serve(api, before[1:])
    third = sync(final_state(second, STREAM))
    assert [r["id"] for r in deletions(third)] == [before[0]["id"]]


def test_an_answer_cut_into_pages_is_read_whole_before_anything_is_confirmed(api):
    everyone = [customer(n) for n in range(1, 6)]
    serve(api, everyone)
    first = sync()
    # Three customers vanish from the listing; TIMIFY, serving one record a page, still has two.
    still = everyone[1:3]

    def one_a_page(request, context):
        number = int(request.qs["page"][0])
        return page(still[number - 1 : number], number, 1, total=len(still))

    serve(api, everyone[3:], lookup={"json": one_a_page})
    second = sync(final_state(first, STREAM))
    assert [r["id"] for r in deletions(second)] == [everyone[0]["id"]]
    assert sorted(int(r.qs["page"][0]) for r in lookups(api)) == [1, 2]
    assert tracked(second) == ids(*everyone[1:])


def test_state_without_listed_ids_starts_tracking_without_a_deletion(api):
    # The state of the previous version: one `updatedAt`. Customer 9 was deleted before this sync.
    listed = [customer(1, "2026-11-30T10:00:00Z"), customer(2, "2026-12-01T07:59:00Z")]
    serve(api, listed)
    output = sync({"updatedAt": "2026-12-01T07:00:00Z"})
    assert not deletions(output) and not lookups(api)
    # The cursor was kept (no full re-read): only what changed since it minus 5 minutes.
    assert [r["id"] for r in records_of(output, STREAM)] == [listed[1]["id"]]
    assert final_state(output, STREAM) == {"updatedAt": "2026-12-01T08:00:00Z", LISTED_IDS: encode_ids(ids(*listed))}


def test_unreadable_listed_ids_start_tracking_anew_and_keep_the_cursor(api):
    listed = [customer(1, "2026-11-30T10:00:00Z"), customer(2, "2026-12-01T07:59:00Z")]
    serve(api, listed)
    output = sync({"updatedAt": "2026-12-01T07:00:00Z", LISTED_IDS: "not base64 of ids"})
    assert not deletions(output) and not lookups(api)
    assert [r["id"] for r in records_of(output, STREAM)] == [listed[1]["id"]]
    assert tracked(output) == ids(*listed)


def test_a_listing_that_shows_none_of_the_customers_reports_nothing(api):
    before = [customer(n) for n in (1, 2, 3)]
    serve(api, before)
    first = sync()
    serve(api, [], timify=[])
    second = sync(final_state(first, STREAM))
    assert not deletions(second) and not lookups(api)
    assert tracked(second) == ids(*before)


def test_many_missing_ids_are_asked_a_hundred_at_a_time(api):
    everyone = [customer(n) for n in range(1, 251)]
    serve(api, everyone)
    first = sync()
    missing, listed = everyone[:130], everyone[130:]
    still = missing[-10:]  # missed by the listing, still in TIMIFY
    serve(api, listed, timify=listed + still)
    second = sync(final_state(first, STREAM))
    assert sorted(len(r.qs["ids"][0].split(",")) for r in lookups(api)) == [30, 100]
    assert sorted(r["id"] for r in deletions(second)) == ids(*missing[:-10])
    assert tracked(second) == ids(*listed, *still)
