"""Cancelled appointments reach the warehouse (issue 11): TIMIFY deletes a cancelled appointment,
and the next sync of the real `source-timify` emits a deletion record for each upcoming one that is
gone, after asking TIMIFY, and nothing for the ones that were only moved."""

import datetime as dt
import json

from timify_emulator import Emulator

from integration_tests.connector import full_range_config, run_connector
from integration_tests.destination import Destination, assert_holds_the_truth
from source_timify.cancellations import decode_ids

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


def test_deletion_records_for_cancelled_upcoming_appointments_and_none_for_moved_ones():
    with Emulator(companies=2, appointments_per_company=300, seed=71) as emu:
        config = full_range_config(emu, page_size=40)
        company, other = emu.company_ids
        destination = Destination()
        first = destination.sync(config)
        assert not deletions(first) and all(r[DELETED_AT] is None for r in first.records("appointments"))

        past, recent, soon, later = (closest(emu, company, days) for days in (-90, -10, 3, 150))
        moved_out, moved_within = closest(emu, company, 60), closest(emu, other, 20)
        assert len({a["id"] for a in (past, recent, soon, later, moved_out, moved_within)}) == 6
        emu.advance(60)
        for cancelled in (past, recent, soon, later):
            emu.delete_appointment(company, cancelled["id"])
        horizon = dt.date.today() + dt.timedelta(days=config["lookahead_days"])
        emu.update_appointment(
            company, moved_out["id"], startDate=dt.datetime.combine(horizon + dt.timedelta(days=30), dt.time(9), UTC)
        )
        emu.update_appointment(other, moved_within["id"], startDate=emu.now() + dt.timedelta(days=200))

        emu.reset_log()
        second = destination.sync(config)
        # Upcoming = from 31 days before the sync to the end of the range: `past` is not.
        assert deletions(second) == sorted(a["id"] for a in (recent, soon, later))
        for record in second.records("appointments"):
            if record.get(DELETED_AT):
                assert set(record) == {"company_id", "id", "updatedAt", DELETED_AT} and record["company_id"] == company
                assert record["updatedAt"] == record[DELETED_AT] >= emu.now().strftime("%Y-%m-%dT%H:%M:%SZ")[:16]
        moved = {r["id"]: r for r in second.records("appointments") if not r.get(DELETED_AT)}
        assert moved_within["id"] in moved and moved_out["id"] not in moved
        # Every missing id was asked about, in one request per company, without dates.
        lookups = [e for e in emu.requests_log() if e["path"] == "/v1/appointments" and "ids" in e["query"]]
        assert [(e["company_id"], sorted(e["query"]["ids"].split(","))) for e in lookups] == [
            (company, sorted(a["id"] for a in (recent, soon, later, moved_out)))
        ]
        assert all("from_date" not in e["query"] for e in lookups)
        # The destination holds exactly what TIMIFY holds, but for the two that are not reported:
        # an appointment deleted long ago, and one moved beyond the synced range.
        assert_holds_the_truth(emu, config, destination, gone=[past["id"], moved_out["id"]])

        third = destination.sync(config)
        assert not deletions(third)


def test_a_failed_sync_reports_no_cancellation_and_the_next_one_does():
    with Emulator(companies=2, appointments_per_company=150, seed=72) as emu:
        config = full_range_config(emu, page_size=50)
        healthy, lost = emu.company_ids
        destination = Destination()
        destination.sync(config)
        cancelled = {company: closest(emu, company, 5) for company in (healthy, lost)}
        for company, appointment in cancelled.items():
            emu.delete_appointment(company, appointment["id"])
        emu.faults.forbidden_companies = [lost]
        failed = destination.sync(config, expect_success=False)
        assert failed.errors()
        # The company read completely reports its cancellation; the one that failed, none.
        assert deletions(failed) == [cancelled[healthy]["id"]]
        emu.faults.forbidden_companies = None
        recovered = destination.sync(config)
        assert deletions(recovered) == [cancelled[lost]["id"]]
        assert_holds_the_truth(emu, config, destination)


def test_the_state_of_10000_upcoming_appointments_stays_within_its_documented_size():
    with Emulator(
        companies=1, enterprise=False, appointments_per_company=28_000, customers_per_company=20, seed=73
    ) as emu:
        config = full_range_config(emu, page_size=1000)
        run = run_connector("read", config, ["appointments"], timeout=300)
        assert run.returncode == 0 and not run.errors()
        state = next(s for s in run.last_states() if s["stream"]["stream_descriptor"]["name"] == "appointments")
        (entry,) = state["stream"]["stream_state"]["companies"].values()
        tracked = len(decode_ids(entry["upcoming_ids"]))
        upcoming_from = (dt.datetime.now(UTC).date() - dt.timedelta(days=31)).isoformat()
        expected = sum(1 for r in run.records("appointments") if r["startDate"][:10] >= upcoming_from)
        assert tracked == expected and tracked > 9_000
        size = len(json.dumps(state["stream"]["stream_state"], separators=(",", ":")))
        # docs/timify.md, "Cancelled appointments": 6.0 bytes per tracked appointment for the
        # emulator's ids, which it mints out of time order (TIMIFY's own, whose counters follow
        # their time, take about 3.3: unit_tests/test_cancellations.py).
        assert size / tracked < 6.5, (size, tracked)
