"""Deleted enterprise customers reach the warehouse (issue 21): TIMIFY deletes an enterprise customer
and the next sync of the real `source-timify` emits one deletion record for it, after TIMIFY,
asked by id (`GET /v1/enterprise-customers?ids=...`), confirms it gone; nothing when TIMIFY cannot
answer by id (a server ignoring `ids`), and nothing false from a state of the previous version."""

import datetime as dt

from timify_emulator import Emulator

from integration_tests.connector import enterprise_changed_within_lookback, full_range_config, stamped_during
from integration_tests.destination import Destination, assert_holds_the_truth

STREAM = "enterprise_customers"
PATH = "/v1/enterprise-customers"
DELETED_AT = "_ab_cdc_deleted_at"


def deletions(run):
    return sorted(r["id"] for r in run.records(STREAM) if r.get(DELETED_AT))


def lookups(emu):
    """The lookups by id sent since the last reset: the ids each asked about."""
    return [e["query"]["ids"].split(",") for e in emu.requests_log() if e["path"] == PATH and "ids" in e["query"]]


def sync(emu, config, destination, expect_success=True):
    emu.reset_log()
    run = destination.sync(config, [STREAM], expect_success=expect_success)
    assert_holds_the_truth(emu, config, destination, streams=[STREAM])
    return run


def test_a_deleted_enterprise_customer_arrives_once_and_the_destination_equals_timify_after_every_sync():
    with Emulator(companies=2, appointments_per_company=10, seed=91) as emu:
        config = full_range_config(emu, page_size=5)
        destination = Destination()
        first = sync(emu, config, destination)
        assert not deletions(first) and not lookups(emu)
        assert all(r[DELETED_AT] is None for r in first.records(STREAM))  # live ones: the column, empty
        everyone = [r["id"] for r in emu.truth(STREAM)]
        erased = [everyone[2], everyone[11]]  # on two different pages
        emu.advance(60)
        for customer_id in erased:
            emu.delete_enterprise_customer(customer_id)
        changed = emu.update_enterprise_customer(everyone[20], lastName="Still here")

        before = emu.now()
        second = sync(emu, config, destination)
        after = emu.now()
        assert deletions(second) == sorted(erased)
        for record in second.records(STREAM):
            if record.get(DELETED_AT):
                assert set(record) == {"id", "updatedAt", DELETED_AT}
                assert record["updatedAt"] == record[DELETED_AT] and stamped_during(record[DELETED_AT], before, after)
        assert changed["id"] in {r["id"] for r in second.records(STREAM) if not r.get(DELETED_AT)}
        assert lookups(emu) == [sorted(erased)]  # one lookup, for exactly the missing ids

        third = sync(emu, config, destination)
        assert not deletions(third) and not lookups(emu)


def test_a_server_ignoring_ids_reports_nothing_until_timify_answers_by_id():
    with Emulator(companies=2, appointments_per_company=10, seed=92) as emu:
        config = full_range_config(emu, page_size=50)
        destination = Destination()
        sync(emu, config, destination)
        erased = emu.truth(STREAM)[4]["id"]
        emu.advance(60)
        emu.delete_enterprise_customer(erased)

        emu.faults.ids_filter = False  # the whole list, whatever the ids asked
        emu.reset_log()
        ignored = destination.sync(config, [STREAM])
        assert not deletions(ignored) and lookups(emu)
        logs = [m["log"]["message"] for m in ignored.of_type("LOG")]
        assert any("ignore `ids`" in m for m in logs), logs[-10:]
        # Only the deleted customer's row is left over, as before this version; the next syncs
        # ask again (a lookup TIMIFY cannot answer at all: unit_tests/test_enterprise_customer_deletions.py).
        assert_holds_the_truth(emu, config, destination, gone=[erased], streams=[STREAM])
        emu.reset_log()
        assert not deletions(destination.sync(config, [STREAM])) and lookups(emu)

        emu.faults.ids_filter = True
        answered = sync(emu, config, destination)
        assert deletions(answered) == [erased]
        assert not deletions(sync(emu, config, destination))


def test_a_state_of_the_previous_version_keeps_its_cursor_and_reports_no_deletion_on_its_first_sync():
    with Emulator(companies=2, appointments_per_company=10, seed=93) as emu:
        upgrades_with_no_full_re_read_and_no_deletion_on_the_first_sync(emu)


def test_a_state_of_the_previous_version_re_emits_an_unchanged_customer_inside_the_lookback_and_nothing_older():
    # This clock makes the seeded data hold an enterprise customer stamped 184 s before the
    # emulator's start: inside the upgraded sync's lookback before the saved cursor (the first
    # sync's start). The test above met such data at random times of day (the data depends on the
    # second the emulator starts), and then expected the change alone.
    start = dt.datetime(2026, 12, 4, 6, 50, 33, tzinfo=dt.timezone.utc)
    with Emulator(companies=2, appointments_per_company=10, seed=93, now=start) as emu:
        recent = (start - dt.timedelta(seconds=200)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert [c for c in emu.truth(STREAM) if c["updatedAt"] > recent], "the seeded data this test needs"
        assert upgrades_with_no_full_re_read_and_no_deletion_on_the_first_sync(emu)


def upgrades_with_no_full_re_read_and_no_deletion_on_the_first_sync(emu):
    """Returns the unchanged customers the upgraded sync emitted again (the lookback's)."""
    config = full_range_config(emu, page_size=50)
    destination = Destination()
    first = sync(emu, config, destination)
    (message,) = [s for s in first.last_states() if s["stream"]["stream_descriptor"]["name"] == STREAM]
    old_state = {"updatedAt": message["stream"]["stream_state"]["updatedAt"]}  # what 0.4.0 saved
    message["stream"]["stream_state"] = old_state
    destination.state = [message]
    before = emu.truth(STREAM)[7]["id"]
    emu.advance(3600)
    emu.delete_enterprise_customer(before)  # deleted before this version's first sync: not known
    changed = emu.update_enterprise_customer(emu.truth(STREAM)[0]["id"], lastName="Upgraded")

    emu.reset_log()
    upgraded = destination.sync(config, [STREAM])
    assert not deletions(upgraded) and not lookups(emu)
    # No full re-read: the change, and only what the lookback re-reads, the customers stamped within
    # `lookback_seconds` before the saved cursor (seeded ones at some times of day).
    emitted = [r["id"] for r in upgraded.records(STREAM)]
    expected = enterprise_changed_within_lookback(emu, STREAM, [message])
    assert changed["id"] in expected and sorted(emitted) == sorted(expected)
    assert_holds_the_truth(emu, config, destination, gone=[before], streams=[STREAM])

    emu.advance(60)
    later = emu.truth(STREAM)[9]["id"]
    emu.delete_enterprise_customer(later)
    tracked = destination.sync(config, [STREAM])
    assert deletions(tracked) == [later]  # the tracking started by the upgraded sync
    assert_holds_the_truth(emu, config, destination, gone=[before], streams=[STREAM])
    return set(emitted) - {changed["id"]}
