"""The real `source-timify` entry point against the TIMIFY emulator over HTTP."""

import datetime as dt

import pytest
from timify_emulator import Emulator

from integration_tests.connector import (
    ENTERPRISE_STREAMS,
    STREAMS,
    changed_within_lookback,
    expected_records,
    full_range_config,
    keyed,
    run_connector,
    sync_day,
    utc_today,
)


def test_spec_lists_every_config_field_with_validation():
    run = run_connector("spec")
    assert run.returncode == 0
    spec = run.of_type("SPEC")[0]["spec"]["connectionSpecification"]
    assert spec["required"] == ["app_id", "app_secret"]
    properties = spec["properties"]
    assert set(properties) == {
        "app_id",
        "app_secret",
        "start_date",
        "subdomain",
        "company_ids",
        "enterprise_id",
        "lookahead_days",
        "base_url",
        "page_size",
        "num_workers",
        "include_booking_secrets",
    }
    assert properties["app_secret"]["airbyte_secret"] is True
    assert "App Overview" in properties["app_id"]["description"]
    for name, prop in properties.items():
        assert prop.get("title") and prop.get("description") and "order" in prop, name


def test_check_succeeds_against_an_enterprise_install(enterprise_emulator):
    run = run_connector("check", enterprise_emulator.connector_config())
    assert run.connection_status()["status"] == "SUCCEEDED", run.stdout[-2000:]


def test_check_with_a_wrong_secret_fails_in_one_sentence_naming_the_app_secret(enterprise_emulator):
    run = run_connector("check", enterprise_emulator.connector_config(app_secret="not-the-secret"))
    status = run.connection_status()
    assert status["status"] == "FAILED"
    assert "App Secret" in status["message"] and "Traceback" not in status["message"]
    assert "not-the-secret" not in run.stdout + run.stderr


@pytest.mark.parametrize("page_size", [1000, 1], ids=["one-page", "a-page-per-company"])
def test_check_with_an_inaccessible_company_names_it(enterprise_emulator, page_size):
    stranger = "0123456789abcdef01234567"
    listed = enterprise_emulator.truth("companies")[0]["id"]
    config = enterprise_emulator.connector_config(company_ids=[listed, stranger], page_size=page_size)
    run = run_connector("check", config)
    status = run.connection_status()
    assert status["status"] == "FAILED"
    assert stranger in status["message"] and "company_ids" in status["message"]
    assert listed not in status["message"]


def test_discover_lists_enterprise_customers_only_for_an_enterprise_install(enterprise_emulator):
    run = run_connector("discover", enterprise_emulator.connector_config())
    streams = {s["name"]: s for s in run.of_type("CATALOG")[0]["catalog"]["streams"]}
    assert set(streams) == set(ENTERPRISE_STREAMS)
    assert streams["appointments"]["source_defined_primary_key"] == [["company_id"], ["id"]]
    assert streams["companies"]["source_defined_primary_key"] == [["id"]]
    assert streams["appointments"]["default_cursor_field"] == ["updatedAt"]
    assert "incremental" in streams["customers"]["supported_sync_modes"]

    with Emulator(companies=1, appointments_per_company=10, enterprise=False, seed=3) as company_install:
        run = run_connector("discover", company_install.connector_config())
        names = {s["name"] for s in run.of_type("CATALOG")[0]["catalog"]["streams"]}
        assert names == set(STREAMS)


def test_full_read_equals_the_ground_truth_record_for_record(enterprise_emulator):
    emu = enterprise_emulator
    emu.reset_log()
    config = full_range_config(emu, page_size=7, num_workers=4)
    run = run_connector("read", config, ENTERPRISE_STREAMS)
    assert run.returncode == 0, run.stdout[-3000:]
    assert not run.errors()
    for stream in ENTERPRISE_STREAMS:
        expected = keyed(expected_records(emu, stream, config), stream)
        actual_records = run.records(stream)
        actual = keyed(actual_records, stream)
        assert len(actual_records) == len(actual), f"{stream}: duplicates emitted"
        assert actual == expected, f"{stream}: {len(actual)} read, {len(expected)} expected"
    assert len(run.records("appointments")) == 900
    assert emu.counters()["logins"] == 1
    appointment_calls = [e for e in emu.requests_log() if e["path"] == "/v1/appointments"]
    assert all(e["query"]["timezone"] == "UTC" for e in appointment_calls)
    # The emulator accepts 31-day windows: one probe for a 365-day window is refused, every other
    # window fits the limit.
    refused = [e for e in appointment_calls if e["status"] == 400]
    assert len(refused) == 1 and refused[0]["query"]["limit"] == "1"
    for call in appointment_calls:
        if call is refused[0]:
            continue
        assert call["status"] == 200
        days = (
            dt.date.fromisoformat(call["query"]["to_date"]) - dt.date.fromisoformat(call["query"]["from_date"])
        ).days + 1
        assert days >= 1 and days <= 31


def test_default_range_reads_from_each_companys_creation_to_a_year_ahead(enterprise_emulator):
    emu = enterprise_emulator
    emu.reset_log()
    config = emu.connector_config(page_size=100)
    before = utc_today()
    run = run_connector("read", config, ["appointments"])
    after = utc_today()
    calls = [e for e in emu.requests_log() if e["path"] == "/v1/appointments"]
    ends = set()
    for company in emu.truth("companies"):
        mine = [e["query"] for e in calls if e["company_id"] == company["id"]]
        assert min(c["from_date"] for c in mine) == company["createdAt"][:10]
        ends.add(max(c["to_date"] for c in mine))
    # One horizon for every company: the sync's UTC date + 365 days (taken after the sync, that
    # date was the next day's when midnight passed while it ran).
    (end,) = ends
    today = sync_day(before, after, end, 365)
    expected = keyed(expected_records(emu, "appointments", config, today), "appointments")
    assert keyed(run.records("appointments"), "appointments") == expected


def test_company_ids_restrict_the_sync_to_those_companies(enterprise_emulator):
    chosen = enterprise_emulator.company_ids[1]
    config = full_range_config(enterprise_emulator, company_ids=[chosen], page_size=50)
    run = run_connector("read", config, ["companies", "appointments", "customers"])
    assert [c["id"] for c in run.records("companies")] == [chosen]
    assert {r["company_id"] for r in run.records("appointments") + run.records("customers")} == {chosen}
    assert keyed(run.records("appointments"), "appointments") == keyed(
        expected_records(enterprise_emulator, "appointments", config), "appointments"
    )


def test_incremental_read_emits_every_change_and_next_to_nothing_else(mutable_emulator):
    reads_every_change_and_next_to_nothing_else(mutable_emulator)


def test_incremental_read_re_emits_an_unchanged_record_inside_the_lookback_and_nothing_older():
    # This clock makes the seeded data hold an appointment stamped 125 s before the emulator's
    # start: inside the third read's lookback (it is the same data whatever today's date is).
    # The test above met such data at random times of day, and failed on it in CI.
    start = dt.datetime(2026, 12, 4, 19, 0, tzinfo=dt.timezone.utc)
    with Emulator(companies=2, appointments_per_company=200, seed=23, now=start) as emu:
        stamped = [
            a
            for a in emu.truth("appointments")
            if dt.datetime.fromisoformat(a["updatedAt"][:-1] + "+00:00") > start - dt.timedelta(seconds=200)
        ]
        assert stamped, "the seeded data this test needs"
        reads_every_change_and_next_to_nothing_else(emu)


def reads_every_change_and_next_to_nothing_else(emu):
    config = full_range_config(emu, page_size=25)
    streams = ["appointments", "customers"]
    first = run_connector("read", config, streams)
    assert not first.errors()
    assert len(first.records("appointments")) == 400
    state = first.last_states()
    assert {s["stream"]["stream_descriptor"]["name"] for s in state} == set(streams)

    emu.advance(60)
    company_a, company_b = emu.company_ids
    now = emu.now()
    old = emu.truth("appointments", company_a)
    changed = set()
    # Existing appointments far in the past, near today and far ahead all change...
    by_start = sorted(old, key=lambda a: a["startDate"])
    for appointment in [by_start[0], by_start[len(by_start) // 2], by_start[-1]]:
        emu.update_appointment(company_a, appointment["id"], notes="changed")
        changed.add((company_a, appointment["id"]))
    # ...and new ones are booked on past, near and far-future dates, in both companies.
    for company_id, days in [(company_a, -700), (company_b, 1), (company_b, 360)]:
        created = emu.create_appointment(company_id, start=now + dt.timedelta(days=days))
        changed.add((company_id, created["id"]))
    customer = emu.truth("customers", company_b)[0]
    emu.update_customer(company_b, customer["id"], firstName="Changed")
    new_customer = emu.create_customer(company_a)

    second = run_connector("read", config, streams, state=state)
    assert not second.errors()
    emitted = {(r["company_id"], r["id"]) for r in second.records("appointments")}
    assert changed <= emitted
    # Besides the changes, only what the lookback re-reads: unchanged records stamped within
    # `lookback_seconds` before the first sync's cursor. The seeded data holds such a record at
    # some times of day (it is dated relative to the emulator's start), so the set is computed
    # from TIMIFY's truth and the saved cursors, not bounded by a count.
    assert emitted - changed == changed_within_lookback(emu, "appointments", state) - changed
    customers = {(r["company_id"], r["id"]) for r in second.records("customers")}
    changed_customers = {(company_b, customer["id"]), (company_a, new_customer["id"])}
    assert changed_customers <= customers
    assert customers - changed_customers == changed_within_lookback(emu, "customers", state) - changed_customers

    # A third read with nothing changed re-emits only the records at the cursor (the cursor is
    # the second sync's start, inclusive, less the lookback): the changes, never anything older.
    third = run_connector("read", config, streams, state=second.last_states())
    third_emitted = {(r["company_id"], r["id"]) for r in third.records("appointments")}
    assert third_emitted == changed_within_lookback(emu, "appointments", second.last_states())
