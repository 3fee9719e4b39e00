"""Cancelled appointments: deletion records for the appointments of the range (past or upcoming)
TIMIFY no longer has, the compact ids in the state, and the confirmation request
(appointment_lookup.py, deletion_tracking.ListedIds, CompanyCursor)."""

import pytest
import requests_mock

from source_timify.cancellations import DELETED_AT, LOOKUP_ATTEMPTS, decode_ids, encode_ids
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
    appointment,
    appointment_windows,
    company,
    customer,
    error,
    lookups,
    object_ids,
    register_appointments,
    register_customer_fields,
    register_list,
    register_login,
    register_lookup,
    register_page,
    window_query,
)

LIMIT = 2  # make_config's page_size


def test_ids_survive_encoding_whatever_their_shape():
    ids = object_ids(2_000) + ["not-an-object-id", "5F" * 12, ""]
    assert sorted(decode_ids(encode_ids(ids))) == sorted(set(ids))
    assert decode_ids(encode_ids([])) == [] and decode_ids("") == []


# encode_ids as source-timify 0.5.0 wrote it, for the ids below: a state saved by one version reads
# the same in the next, and a faster encoder must write the same bytes.
ENCODED_BY_0_5_0 = (
    "eNrtUltoIlcYRuM2O4mZXIzGxpjLpGYMmq5GY2Ky2egmYy4mb30rLewlLV3K7ss+9kFCCCJBZoPIImErRUSCbFMJQWyQ0IoN"
    "kgYJ20EWsUFEhiDTtMymIiLN37PSl7728hAG/pnzn+98l/9MRuQXtH2/8W3iuvwnpde6bLx9Xf7J8oxY/ebNdfk/lB8zvz76"
    "+br8iyWf/fIncZiqiDg8q6yIskqoFVFezuHwZiVZJSuBdUUUN+XlPBY38VhFxGMczmMMAZg0yUqgj/CAgbM8BucYgsMBCf00"
    "CRrAxGPAUf2cIRAXKwEMnAcf0Smk7khcWePwhJ7DUQNRAYjHwpT7Y/gGaUQSsbASsAvruCmrjJtYSZpEYtCNTgWX6qchaD1E"
    "SgsI6KXJup2Evh4UFFgJClc5ujJUd4+IgCZNZpURC4czBCSuC6a0MAlkEayDWJiCeaD5/sXC4WCTlUSnYA5oohA5pWWIhB7m"
    "j3jhgRVEBZW8nCFgMGje4CTx5sogIoatt67/vDx0vXk5UEHivBy+QRB20IQQFihTWqBEDCgW2q9PG9ihB+J5OVwq4gAk2OFw"
    "3wcICUGZwvPGeKvbsm3321zNZXt1sTDpsVUXNsa6X016RF6Vb/Jo5rIlaE2ZtoZetyUsh4YdoXshLN6bO1+mbx1pMnhJVWyJ"
    "2pzT5+Jjc1IR69pvijXTyoO+S3Ft5AKjSW9bZDxI+Zdig7QlN7/Zs9/5csgjTQ46JLWlLfP5nVJLvD24WB0/ncXXKXaJlZ0a"
    "DyT01z805lcKtk2Vw5qx7Nk9sk1r9FaxIXWDlbrupPGKxiVnhGcdrCVHpXqq0td2nzCgcNu8czvtLHbWua9zq503v8KTI8fN"
    "AXLtdsh2MbcneKmhGzYWfQsbsi/4nuC0ezkl4xRJbdnKjXrbthR0K7103Lrdfa6NaeJ4RbdJXhh8A1npjrXw7PdGXr9mPlVz"
    "whBV1CVnA2PFrvh0tZPWH09HlK+aambHe6ddUWmZ/K7zaPTF0DZZxArzJ/aILtxd1peaAirn8IaR0XmIk0lOdSEoG+kbWfNh"
    "Q0mVVv82vNsXItJYQFCyHqifm2uNvNKLFVp3Z9yzTL+fYNurE77xkLzSQLcWKaclPZEcPNe7ZtzGw5Xc1Z94Ys//4hU7J/za"
    "tZ7S0JkhaEkJXFTBsHc3aTqxHNpyzRGC6S8TiZWgkL7rUQTGHIv72vWZ7Lt7mt2bOSk/FyJCK2ttsYVML9/rbTlVh8lkX1J9"
    "IowaLsWOLrpjq4OVbb8T7l8fqNlz7ZlZp7pgvCRd/QxV0THDh7rwwJasRrDU+mJwfnMqYV57/4WKG/2QILT9hE4/ajCOmcYn"
    "zPfuP3i4+snb9aewN2b7+wf2Hj95OnLv8ciT+49WHzwd+ewh8dEf8Qp1aQ=="
)


def test_ids_are_encoded_byte_for_byte_as_0_5_0_encoded_them():
    ids = object_ids(300) + ["not-an-object-id", "5F" * 12, "", "0123456789abcdef0123456g"]
    assert encode_ids(ids) == encode_ids(reversed(ids)) == ENCODED_BY_0_5_0
    assert sorted(decode_ids(ENCODED_BY_0_5_0)) == sorted(ids)


@pytest.mark.parametrize("count, bound_bytes", [(10_000, 64_000), (100_000, 600_000)])
def test_the_state_for_upcoming_appointments_is_a_few_bytes_each(count, bound_bytes):
    encoded = encode_ids(object_ids(count))
    # Measured (docs/timify.md, "Cancelled appointments"): about 3.2-3.4 bytes per tracked appointment.
    assert len(encoded) < bound_bytes
    assert len(encoded) / count < 6


@pytest.fixture
def api():
    with requests_mock.Mocker(case_sensitive=True) as mocker:
        register_login(mocker)
        register_list(
            mocker, "/v1/companies", [company(COMPANY_A), company(COMPANY_B)], LIMIT, f"enterprise_id={ENTERPRISE}"
        )
        yield mocker


def serve(api, a=(), b=()):
    """Companies A's and B's appointments, in every window of the sync."""
    windows = appointment_windows(make_config())
    register_appointments(api, COMPANY_A, list(a), windows, LIMIT)
    register_appointments(api, COMPANY_B, list(b), windows, LIMIT)


def upcoming(n, days=10, updated="2026-01-01T00:00:00Z"):
    return appointment(COMPANY_A, n, days_from_today(days) + "T10:00:00Z", updated=updated)


def two_syncs(api, before, after):
    """A first sync while company A has the appointments `before`, and a second sync from the
    first's state once it has `after`."""
    serve(api, before)
    first = run_read(make_config(), ["appointments"])
    state = final_state(first, "appointments")
    serve(api, after)
    return first, run_read(make_config(), ["appointments"], state={"appointments": state})


def deletions(output):
    return [r for r in records_of(output, "appointments") if r.get(DELETED_AT)]


def test_a_cancelled_upcoming_appointment_gets_one_deletion_record(api):
    before = [upcoming(1), upcoming(2), upcoming(3, days=-20)]
    cancelled = before[0]
    register_lookup(api, COMPANY_A, found=[], ids=[cancelled["id"]])  # TIMIFY no longer has it
    first, second = two_syncs(api, before, before[1:])
    # (in-process reads drop null fields; the CLI keeps them: run.py)
    assert records_of(first, "appointments") and all(
        r.get(DELETED_AT) is None for r in records_of(first, "appointments")
    )
    deleted = deletions(second)
    assert [(r["company_id"], r["id"]) for r in deleted] == [(COMPANY_A, cancelled["id"])]
    assert deleted[0]["updatedAt"] == deleted[0][DELETED_AT] and deleted[0][DELETED_AT].endswith("Z")
    assert [r.qs["ids"] for r in lookups(api)] == [[cancelled["id"]]]
    assert lookups(api)[0].headers["company-id"] == COMPANY_A and "from_date" not in lookups(api)[0].qs


def test_an_appointment_that_moved_out_of_the_range_is_not_deleted_but_emitted_as_an_update(api):
    before = [upcoming(1), upcoming(2)]
    moved_to = days_from_today(400) + "T10:00:00Z"  # lookahead_days is 30
    moved = dict(before[0], startDate=moved_to, date=moved_to[:10] + "Z", updatedAt="2026-03-01T00:00:00Z")
    register_lookup(api, COMPANY_A, found=[moved], ids=[moved["id"]])  # TIMIFY still has it
    first, second = two_syncs(api, before, [before[1]])
    assert not deletions(second)
    assert [r.qs["ids"] for r in lookups(api)] == [[moved["id"]]]  # it was asked about
    # The record as the stream emits it (its transformations: company_id, no booking secrets, the
    # CDC column): the first sync's record of the same appointment, with its new date.
    (listed,) = [r for r in records_of(first, "appointments") if r["id"] == moved["id"]]
    (update,) = records_of(second, "appointments")
    assert update == dict(listed, startDate=moved_to, date=moved_to[:10] + "Z", updatedAt=moved["updatedAt"])
    assert update["company_id"] == COMPANY_A and "reschedulingSecret" not in update
    # No longer tracked: the next sync neither asks about it again nor emits it again.
    api.reset_mock()
    third = run_read(make_config(), ["appointments"], state={"appointments": final_state(second, "appointments")})
    assert not records_of(third, "appointments") and not lookups(api)


def test_nothing_deleted_means_no_deletion_record_and_no_lookup(api):
    register_lookup(api, COMPANY_A, found=[])  # were any id asked about, it would read as deleted
    _, second = two_syncs(api, [upcoming(1), upcoming(2)], [upcoming(1), upcoming(2)])
    assert not records_of(second, "appointments")
    assert not lookups(api)


def test_deleted_past_appointments_are_reported_once_timify_confirms(api):
    old = appointment(COMPANY_A, 1, days_from_today(-150) + "T10:00:00Z")  # months before the sync
    register_lookup(api, COMPANY_A, found=[], ids=[old["id"]])  # TIMIFY no longer has it
    _, second = two_syncs(api, [old, upcoming(2)], [upcoming(2)])
    assert [(r["company_id"], r["id"]) for r in deletions(second)] == [(COMPANY_A, old["id"])]
    assert [r.qs["ids"] for r in lookups(api)] == [[old["id"]]]


def test_a_company_not_read_completely_reports_nothing_and_asks_again_next_time(api):
    before = [upcoming(1), upcoming(2)]
    company_b = [appointment(COMPANY_B, 9, days_from_today(5) + "T10:00:00Z")]
    serve(api, before, company_b)
    first = run_read(make_config(), ["appointments"])
    cancelled = before[0]
    register_lookup(api, COMPANY_A, found=[])  # whatever is asked, TIMIFY no longer has it
    serve(api, before[1:], company_b)
    # One window of company A fails (the first one): A is not read completely.
    first_window = appointment_windows(make_config())[0]
    assert first_window[0] == "2026-01-01"
    forbidden = register_page(
        api,
        "/v1/appointments",
        1,
        LIMIT,
        [{"status_code": 403, "json": error("FORBIDDEN", "no")}],
        window_query(*first_window),
        COMPANY_A,
    )
    failed = run_read(
        make_config(),
        ["appointments"],
        state={"appointments": final_state(first, "appointments")},
        expecting_exception=True,
    )
    assert forbidden.called
    assert failed.errors and not deletions(failed)
    serve(api, before[1:], company_b)  # the window answers again
    third = run_read(make_config(), ["appointments"], state={"appointments": final_state(failed, "appointments")})
    assert [r["id"] for r in deletions(third)] == [cancelled["id"]]


def test_a_lookup_timify_cannot_answer_reports_nothing_and_asks_again_next_time(api):
    before = [upcoming(1), upcoming(2)]
    cancelled = before[0]
    failing = register_lookup(api, COMPANY_A, status_code=500, json=error("INTERNAL", "down"))
    first, second = two_syncs(api, before, before[1:])
    assert failing.call_count == LOOKUP_ATTEMPTS  # asked, and retried
    assert not deletions(second)
    register_lookup(api, COMPANY_A, found=[], ids=[cancelled["id"]])
    third = run_read(make_config(), ["appointments"], state={"appointments": final_state(second, "appointments")})
    assert [r["id"] for r in deletions(third)] == [cancelled["id"]]


def test_a_lookup_answered_with_appointments_not_asked_for_reports_nothing_and_asks_again(api):
    before = [upcoming(1), upcoming(2)]
    cancelled = before[0]
    # A server that ignores `ids` answers with some other appointment: the one asked about is not
    # in the answer, but that says nothing of whether TIMIFY still has it.
    ignoring = register_lookup(api, COMPANY_A, found=[upcoming(7)])
    _, second = two_syncs(api, before, before[1:])
    assert ignoring.called and not deletions(second)
    register_lookup(api, COMPANY_A, found=[], ids=[cancelled["id"]])  # an answer by id, next sync
    third = run_read(make_config(), ["appointments"], state={"appointments": final_state(second, "appointments")})
    assert [r["id"] for r in deletions(third)] == [cancelled["id"]]


def test_customers_carry_no_cancellation_tracking_only_their_listed_ids(api):
    # (their deletions: unit_tests/test_customer_deletions.py)
    listed = customer(COMPANY_A, 1, updated="2026-01-01T00:00:00Z")
    register_list(api, "/v1/customers", [listed], LIMIT, company_id=COMPANY_A)
    register_list(api, "/v1/customers", [], LIMIT, company_id=COMPANY_B)
    register_customer_fields(api)
    output = run_read(make_config(), ["customers"])
    companies = final_state(output, "customers")["companies"]
    assert all(set(entry) == {"updatedAt", "listed_ids"} for entry in companies.values())
    assert decode_ids(companies[COMPANY_A]["listed_ids"]) == [listed["id"]]
    assert not lookups(api)
    assert DELETED_AT not in records_of(output, "customers")[0]  # null: left out by in-process reads
