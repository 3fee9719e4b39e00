"""Cancelled appointments reach the warehouse (issues 11 and 21): TIMIFY deletes a cancelled
appointment, and the next sync of the real `source-timify` emits a deletion record for each one of
the synced range (past or upcoming) that is gone, after asking TIMIFY by id; one moved out of the
range is emitted as an update, and a company that failed or left the enterprise reports none."""

import datetime as dt
import json

from timify_emulator import Emulator

from integration_tests.connector import expected_records, full_range_config, run_connector, stamped_during
from integration_tests.destination import Destination, assert_holds_the_truth
from source_timify.cancellations import decode_ids, encode_ids

UTC = dt.timezone.utc
DELETED_AT = "_ab_cdc_deleted_at"


def deletions(run):
    return sorted(r["id"] for r in run.records("appointments") if r.get(DELETED_AT))


def closest(emu, company, days):
    """The company's appointment starting closest to `days` from now."""
    target = emu.now() + dt.timedelta(days=days)
    return min(
        emu.truth("appointments", company),
        key=lambda a: abs(dt.datetime.fromisoformat(a["startDate"].replace("Z", "+00:00")) - target),
    )


def lookups_of(emu):
    """The cancellation lookups the emulator served: (company, the ids asked), in order."""
    entries = [e for e in emu.requests_log() if e["path"] == "/v1/appointments" and "ids" in e["query"]]
    assert all("from_date" not in e["query"] for e in entries)  # asked by id, without dates
    return [(e["company_id"], sorted(e["query"]["ids"].split(","))) for e in entries]


def test_cancelled_appointments_anywhere_in_the_range_arrive_once_and_moved_ones_as_updates():
    with Emulator(companies=2, appointments_per_company=300, seed=71) as emu:
        config = full_range_config(emu, page_size=40)
        company, other = emu.company_ids
        destination = Destination()
        first = destination.sync(config)
        assert not deletions(first) and all(r[DELETED_AT] is None for r in first.records("appointments"))
        assert_holds_the_truth(emu, config, destination)

        # 300 and 60 days back, 10 and 150 days ahead: each one's cancellation must arrive.
        cancelled = [closest(emu, company, days) for days in (-300, -60, 10, 150)]
        moved_out, moved_within = closest(emu, company, 60), closest(emu, other, 20)
        assert len({a["id"] for a in (*cancelled, moved_out, moved_within)}) == 6
        emu.advance(60)
        for appointment in cancelled:
            emu.delete_appointment(company, appointment["id"])
        horizon = dt.date.today() + dt.timedelta(days=config["lookahead_days"])
        emu.update_appointment(
            company, moved_out["id"], startDate=dt.datetime.combine(horizon + dt.timedelta(days=30), dt.time(9), UTC)
        )
        emu.update_appointment(other, moved_within["id"], startDate=emu.now() - dt.timedelta(days=200))

        emu.reset_log()
        before = emu.now()
        second = destination.sync(config)
        after = emu.now()
        assert deletions(second) == sorted(a["id"] for a in cancelled)
        for record in second.records("appointments"):
            if record.get(DELETED_AT):
                assert set(record) == {"company_id", "id", "updatedAt", DELETED_AT} and record["company_id"] == company
                assert record["updatedAt"] == record[DELETED_AT] and stamped_during(record[DELETED_AT], before, after)
        updates = {r["id"]: r for r in second.records("appointments") if not r.get(DELETED_AT)}
        assert moved_within["id"] in updates and moved_out["id"] in updates
        # Every missing id was asked about, in one request for the one company that missed some.
        assert lookups_of(emu) == [(company, sorted(a["id"] for a in (*cancelled, moved_out)))]
        # The destination holds exactly what TIMIFY holds in the range, and the appointment moved
        # out of it as TIMIFY holds it now (its update, not a deletion).
        assert_holds_the_truth(emu, config, destination, gone=[moved_out["id"]])
        wider = dict(config, lookahead_days=config["lookahead_days"] + 60)
        (now_held,) = [r for r in expected_records(emu, "appointments", wider) if r["id"] == moved_out["id"]]
        assert destination.tables["appointments"][(company, moved_out["id"])] == now_held

        emu.reset_log()
        third = destination.sync(config)
        assert not deletions(third) and not lookups_of(emu)
        assert moved_out["id"] not in {r["id"] for r in third.records("appointments")}  # not again
        assert_holds_the_truth(emu, config, destination, gone=[moved_out["id"]])


def test_a_failed_company_and_a_departed_branch_report_no_cancellation_and_the_next_sync_does():
    with Emulator(companies=3, appointments_per_company=150, seed=72) as emu:
        config = full_range_config(emu, page_size=50)
        healthy, lost, departing = emu.company_ids
        destination = Destination()
        destination.sync(config)
        cancelled = {c: sorted(closest(emu, c, days)["id"] for days in (-200, 5)) for c in emu.company_ids}
        emu.advance(60)
        for company, ids in cancelled.items():
            for appointment_id in ids:
                emu.delete_appointment(company, appointment_id)
        emu.faults.forbidden_companies = [lost]  # the app lost access to it
        emu.remove_company(departing)  # it left the enterprise
        emu.reset_log()
        failed = destination.sync(config, expect_success=False)
        assert failed.errors() and all(lost in e["message"] for e in failed.errors())
        # The company read completely reports its cancellations; the failed and departed ones, none.
        assert deletions(failed) == cancelled[healthy]
        assert [company for company, _ in lookups_of(emu)] == [healthy]
        departed = [key[-1] for table in destination.tables.values() for key in table if key[0] == departing]
        assert_holds_the_truth(emu, config, destination, gone=[*cancelled[lost], *departed])

        emu.faults.forbidden_companies = None
        emu.restore_company(departing)
        recovered = destination.sync(config)
        assert deletions(recovered) == sorted(cancelled[lost] + cancelled[departing])
        assert_holds_the_truth(emu, config, destination)
        assert not deletions(destination.sync(config))


def test_the_state_of_10000_tracked_appointments_stays_within_its_documented_size():
    with Emulator(
        companies=1, enterprise=False, appointments_per_company=10_000, customers_per_company=20, seed=73
    ) as emu:
        config = full_range_config(emu, page_size=1000)
        run = run_connector("read", config, ["appointments"], timeout=300)
        assert run.returncode == 0 and not run.errors()
        state = next(s for s in run.last_states() if s["stream"]["stream_descriptor"]["name"] == "appointments")
        (entry,) = state["stream"]["stream_state"]["companies"].values()
        tracked = len(decode_ids(entry["listed_ids"]))
        # every appointment of the range, past and upcoming
        assert tracked == len(run.records("appointments")) == len(emu.truth("appointments", emu.company_ids[0]))
        size = len(json.dumps(state["stream"]["stream_state"], separators=(",", ":")))
        # docs/timify.md, "Deletions and erasure": about 6 bytes per tracked appointment for the
        # emulator's ids, which it mints out of time order (TIMIFY's own, whose counters follow
        # their time, take about 3.3: unit_tests/test_cancellations.py).
        assert size / tracked < 6.5, (size, tracked)


def test_a_0_4_0_state_keeps_its_tracked_cancellations_and_reports_nothing_false():
    with Emulator(companies=1, enterprise=False, appointments_per_company=200, seed=74) as emu:
        config = full_range_config(emu, page_size=50)
        (company,) = emu.company_ids
        destination = Destination()
        destination.sync(config, streams=["appointments"])
        # What 0.4.0 saved: the cursor, the range, and the upcoming appointments (31 days back on).
        (message,) = destination.state
        entry = message["stream"]["stream_state"]["companies"][company]
        upcoming_from = (dt.datetime.now(UTC).date() - dt.timedelta(days=31)).isoformat()
        upcoming = [a["id"] for a in emu.truth("appointments", company) if a["startDate"][:10] >= upcoming_from]
        del entry["listed_ids"]
        entry.update(upcoming_from=upcoming_from, upcoming_ids=encode_ids(upcoming))
        cancelled, past = closest(emu, company, 10), closest(emu, company, -100)
        emu.advance(60)
        emu.delete_appointment(company, cancelled["id"])  # tracked by 0.4.0: reported
        emu.delete_appointment(company, past["id"])  # 0.4.0 did not track it: the documented limit

        emu.reset_log()
        upgraded = destination.sync(config, streams=["appointments"])
        assert deletions(upgraded) == [cancelled["id"]]
        assert lookups_of(emu) == [(company, [cancelled["id"]])]
        (entry,) = destination.company_state("appointments").values()
        assert "upcoming_ids" not in entry
        assert sorted(decode_ids(entry["listed_ids"])) == sorted(a["id"] for a in emu.truth("appointments", company))
        assert_holds_the_truth(emu, config, destination, gone=[past["id"]], streams=["appointments"])
        later = destination.sync(config, streams=["appointments"])
        assert not deletions(later)
