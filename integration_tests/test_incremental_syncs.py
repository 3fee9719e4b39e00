"""Incremental syncs over several runs of the real `source-timify` against the emulator, with the
account, the config, the clock and the data changing between and during syncs (issue 9).

Each test keeps what a destination in Incremental | Append + Deduped would hold (every run's
records, later ones replacing earlier ones by primary key, a deletion record removing its row)
and compares it with the emulator's ground truth for the synced range, key by key: nothing
missing, nothing stale, nothing extra but the records a test names as deleted or moved out of the
range where no deletion record is due (test_cancellations.py covers those that are).
"""

import datetime as dt

import pytest
from timify_emulator import Emulator

from integration_tests.connector import expected_records, full_range_config, run_connector, sync_day, utc_today
from integration_tests.destination import STREAMS, Destination, assert_holds_the_truth
from source_timify.date_ranges import company_date_range, windows

UTC = dt.timezone.utc


LOOKBACK_SECONDS = 300  # the manifest's lookback_seconds


def small_emulator(**kwargs) -> Emulator:
    """Two companies of generated data, then LOOKBACK_SECONDS and a minute pass: nothing changed in
    the lookback before the first sync, whose 5-minute lookback would otherwise (rightly) emit such
    records again in the next sync. The data depends on the second the emulator starts, and about
    one start second in 60 holds a record changed in the last 5 minutes."""
    emulator = Emulator(**{"companies": 2, "appointments_per_company": 150, "seed": 91, **kwargs})
    emulator.advance(LOOKBACK_SECONDS + 60)
    return emulator


def window_holding(config: dict, company_created_at: str, day: dt.date):
    today = dt.datetime.now(UTC).date()
    for from_date, to_date in windows(*company_date_range(config, company_created_at, today), 31):
        if from_date <= day <= to_date:
            return from_date.isoformat(), to_date.isoformat()
    raise AssertionError(f"{day} is outside the synced range")


# 1 ---------------------------------------------------------------------------------------------
def test_a_branch_that_joins_the_enterprise_arrives_with_its_whole_history():
    with small_emulator() as emu:
        config = full_range_config(emu, page_size=50)
        destination = Destination()
        destination.sync(config)
        branch = emu.add_company()  # created 800 days ago; nothing changed since long before the cursor
        second = destination.sync(config)
        assert {r["company_id"] for r in second.records("appointments")} == {branch}
        assert len(second.records("appointments")) == 150
        assert_holds_the_truth(emu, config, destination)
        assert set(destination.company_state("appointments")) == set(emu.company_ids)


# 2 ---------------------------------------------------------------------------------------------
def test_a_company_added_to_company_ids_arrives_with_its_whole_history():
    with small_emulator() as emu:
        first, second = emu.company_ids
        destination = Destination()
        destination.sync(full_range_config(emu, page_size=50, company_ids=[first]))
        emu.update_appointment(first, emu.truth("appointments", first)[5]["id"], notes="changed")
        config = full_range_config(emu, page_size=50, company_ids=[first, second])
        destination.sync(config)
        assert_holds_the_truth(emu, config, destination)
        # The company that was there kept its cursor: only its change came again.
        assert len([r for r in destination.runs[1].records("appointments") if r["company_id"] == first]) == 1


# 3 ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "first_change, second_change",
    [
        ({"lookahead_days": 30}, {}),  # the user raised lookahead_days
        ({"start_date_days_ago": 200}, {}),  # the user moved start_date back
    ],
    ids=["lookahead_raised", "start_date_moved_back"],
)
def test_records_that_enter_a_wider_range_arrive_whatever_their_updated_at(first_change, second_change):
    with small_emulator() as emu:
        wide = full_range_config(emu, page_size=50)
        narrow = dict(wide)
        if "lookahead_days" in first_change:
            narrow["lookahead_days"] = first_change["lookahead_days"]
        if "start_date_days_ago" in first_change:
            narrow["start_date"] = (
                emu.now().date() - dt.timedelta(days=first_change["start_date_days_ago"])
            ).isoformat()
        destination = Destination()
        destination.sync(narrow)
        assert len(destination.tables["appointments"]) < len(expected_records(emu, "appointments", wide))
        destination.sync(wide)
        assert_holds_the_truth(emu, wide, destination)


def test_appointments_that_enter_the_horizon_as_days_pass_arrive():
    with small_emulator() as emu:
        config = full_range_config(emu, page_size=50, lookahead_days=100)
        destination = Destination()
        destination.sync(config)
        # Forty days pass: the previous sync's range ended forty days before today's horizon.
        first_end, previous_end = {}, {}
        for message in destination.state:
            for company, entry in message["stream"]["stream_state"]["companies"].items():
                if "to_date" in entry:
                    first_end[company] = entry["to_date"]
                    entry["to_date"] = (dt.date.fromisoformat(entry["to_date"]) - dt.timedelta(days=40)).isoformat()
                    previous_end[company] = entry["to_date"]
        assert set(previous_end) == set(emu.company_ids)
        held = {k for k, r in destination.tables["appointments"].items() if r["startDate"][:10] > previous_end[k[0]]}
        before = utc_today()
        second = destination.sync(config)
        after = utc_today()
        # The range now ends 100 days after the second sync's UTC date (the machine's, not TIMIFY's
        # clock, which runs 6 minutes ahead here): every appointment dated after the previous end
        # up to it enters, whatever its updatedAt, and nothing else changed. That is what the first
        # sync brought beyond the previous end, and one day more when midnight passed in between.
        (end,) = {entry["to_date"] for entry in destination.company_state("appointments").values()}
        day = sync_day(before, after, end, config["lookahead_days"])
        entering = {
            (company, a["id"]): a["startDate"][:10]
            for company in emu.company_ids
            for a in emu.truth("appointments", company)
            if previous_end[company] < a["startDate"][:10] <= end
        }
        assert held and held == {k for k, starts in entering.items() if starts <= first_end[k[0]]}
        emitted = [(r["company_id"], r["id"]) for r in second.records("appointments")]
        assert sorted(emitted) == sorted(entering)
        assert_holds_the_truth(emu, config, destination, today=day)


# 4 ---------------------------------------------------------------------------------------------
def test_a_record_stamped_in_the_future_does_not_hide_later_changes():
    with small_emulator() as emu:
        config = full_range_config(emu, page_size=50)
        company = emu.company_ids[0]
        appointments = emu.truth("appointments", company)
        emu.update_appointment(company, appointments[0]["id"], updated_at=dt.datetime(2099, 1, 1, tzinfo=UTC))
        customer = emu.truth("customers", company)[0]
        emu.update_customer(company, customer["id"], updated_at=dt.datetime(2099, 1, 1, tzinfo=UTC))
        destination = Destination()
        destination.sync(config)
        for stream in STREAMS:
            for entry in destination.company_state(stream).values():
                assert entry["updatedAt"] <= emu.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        emu.advance(60)
        emu.update_appointment(company, appointments[1]["id"], notes="changed after the skewed one")
        emu.update_customer(company, emu.truth("customers", company)[1]["id"], lastName="Changed")
        second = destination.sync(config)
        assert appointments[1]["id"] in {r["id"] for r in second.records("appointments")}
        assert_holds_the_truth(emu, config, destination)


def test_timifys_clock_behind_ours_does_not_hide_changes():
    # TIMIFY's clock runs an hour behind the machine's: its updatedAt stamps are "in the past".
    now = dt.datetime.now(UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    with small_emulator(now=now) as emu:
        config = full_range_config(emu, page_size=50)
        destination = Destination()
        destination.sync(config)
        company = emu.company_ids[1]
        emu.update_appointment(company, emu.truth("appointments", company)[7]["id"], notes="changed")
        second = destination.sync(config)
        assert len(second.records("appointments")) == 1
        assert_holds_the_truth(emu, config, destination)


# 5 ---------------------------------------------------------------------------------------------
def test_a_change_that_becomes_visible_after_its_window_was_read_arrives_next_sync():
    with small_emulator() as emu:
        config = full_range_config(emu, page_size=50)
        destination = Destination()
        destination.sync(config)
        company = emu.company_ids[0]
        late = emu.truth("appointments", company)[0]
        window = window_holding(
            config, emu.truth("companies")[0]["createdAt"], dt.date.fromisoformat(late["startDate"][:10])
        )
        done = []

        def back_dated_change_after_the_window_was_read(request):
            served = any(
                e["path"] == "/v1/appointments"
                and e["company_id"] == company
                and e["query"].get("from_date") == window[0]
                for e in emu.requests_log()
            )
            if served and not done:
                done.append(True)
                # Written two minutes ago, visible in the lists only now (replication lag).
                emu.update_appointment(
                    company, late["id"], updated_at=emu.now() - dt.timedelta(seconds=120), notes="late"
                )

        # A busy account: something else changed just before this sync, so its cursor is recent.
        emu.advance(30)
        emu.update_appointment(emu.company_ids[1], emu.truth("appointments", emu.company_ids[1])[9]["id"], notes="busy")
        emu.reset_log()
        emu.on_data_request(back_dated_change_after_the_window_was_read)
        second = destination.sync(config)
        emu.clear_hooks()
        assert done and late["id"] not in {r["id"] for r in second.records("appointments")}
        third = destination.sync(config)
        assert late["id"] in {r["id"] for r in third.records("appointments")}
        assert_holds_the_truth(emu, config, destination)


# 6 ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("change", ["deleted", "rescheduled"])
def test_a_record_shifted_onto_a_page_already_read_is_not_lost(change):
    with small_emulator() as emu:
        config = full_range_config(emu, page_size=3)
        company = emu.company_ids[0]
        day = emu.now().date() + dt.timedelta(days=40)
        for hour in range(8, 16):
            emu.create_appointment(company, start=dt.datetime(day.year, day.month, day.day, hour, tzinfo=UTC))
        destination = Destination()
        destination.sync(config)
        window = window_holding(config, emu.truth("companies")[0]["createdAt"], day)
        listed = emu.truth("appointments", company, from_date=window[0], to_date=window[1])
        assert len(listed) >= 8
        victim, first = listed[3], listed[0]  # victim: the first record of page 2
        emu.advance(5)
        emu.update_appointment(company, victim["id"], notes="changed between the syncs")
        emu.advance(60)  # and a later change elsewhere, so the victim is not the latest one
        other = emu.company_ids[1]
        emu.update_appointment(other, emu.truth("appointments", other)[2]["id"], notes="changed later")
        done = []

        def change_after_page_one(request):
            if (
                not done
                and request["path"] == "/v1/appointments"
                and request["company_id"] == company
                and request["query"].get("from_date") == window[0]
                and request["query"].get("page") == "2"
            ):
                done.append(True)
                if change == "deleted":
                    emu.delete_appointment(company, first["id"])
                else:  # moved to the end of the same window
                    emu.update_appointment(
                        company, first["id"], startDate=dt.datetime.fromisoformat(window[1] + "T20:00:00+00:00")
                    )

        emu.on_data_request(change_after_page_one)
        second = destination.sync(config)
        emu.clear_hooks()
        assert done
        emitted = [r["id"] for r in second.records("appointments")]
        assert victim["id"] in emitted and len(emitted) == len(set(emitted))
        destination.sync(config)
        assert_holds_the_truth(emu, config, destination, gone=[first["id"]] if change == "deleted" else [])


# 7 ---------------------------------------------------------------------------------------------
def test_without_start_date_history_reaches_back_to_each_companys_creation():
    with small_emulator() as emu:
        config = emu.connector_config(page_size=50)  # no start_date, default lookahead
        company = emu.company_ids[0]
        old = emu.create_appointment(company, start=emu.now() - dt.timedelta(days=760))  # older than two years
        destination = Destination()
        emu.reset_log()
        destination.sync(config)
        assert old["id"] in {r["id"] for r in destination.runs[0].records("appointments")}
        created = {c["id"]: c["createdAt"][:10] for c in emu.truth("companies")}
        first_window = {}
        for entry in emu.requests_log():
            if entry["path"] == "/v1/appointments":
                cid = entry["company_id"]
                first_window[cid] = min(first_window.get(cid, "9999"), entry["query"]["from_date"])
        assert first_window == created
        for cid, entry in destination.company_state("appointments").items():
            assert entry["from_date"] == created[cid]
        assert_holds_the_truth(emu, config, destination)


def test_without_start_date_timeshifts_cover_each_companys_whole_range():
    with small_emulator() as emu:
        config = emu.connector_config(page_size=1000)
        emu.reset_log()
        before = utc_today()
        run = run_connector("read", config, ["timeshifts"])
        after = utc_today()
        assert run.returncode == 0 and not run.errors()
        created = {c["id"]: c["createdAt"][:10] for c in emu.truth("companies")}
        requests = [e for e in emu.requests_log() if e["path"] == "/v1/timeshifts"]
        (end,) = {e["query"]["to"] for e in requests}  # the sync's UTC date + 365 days
        sync_day(before, after, end, 365)
        assert {(e["company_id"], e["query"]["from"], e["query"]["to"]) for e in requests} == {
            (cid, created[cid], end) for cid in emu.company_ids
        }


# 8 ---------------------------------------------------------------------------------------------
def test_one_failing_company_names_itself_and_does_not_freeze_the_others():
    with small_emulator() as emu:
        config = full_range_config(emu, page_size=50)
        healthy, lost = emu.company_ids
        destination = Destination()
        destination.sync(config)
        before = {s: dict(destination.company_state(s)) for s in STREAMS}
        emu.advance(30)
        for company in (healthy, lost):
            emu.update_appointment(company, emu.truth("appointments", company)[3]["id"], notes="changed")
        emu.faults.forbidden_companies = [lost]
        failed = destination.sync(config, expect_success=False)
        assert failed.returncode != 0 or failed.errors()
        assert failed.errors() and all(lost in e["message"] for e in failed.errors())
        for stream in STREAMS:
            after = destination.company_state(stream)
            assert after[lost] == before[stream][lost]
            assert after[healthy]["updatedAt"] > before[stream][healthy]["updatedAt"]
        emu.faults.forbidden_companies = None
        destination.sync(config)
        assert_holds_the_truth(emu, config, destination)


# 9 ---------------------------------------------------------------------------------------------
def test_a_state_written_by_0_1_0_is_migrated_without_loss():
    with small_emulator() as emu:
        config = full_range_config(emu, page_size=50)
        destination = Destination()
        cursor = emu.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        destination.state = [
            {
                "type": "STREAM",
                "stream": {
                    "stream_descriptor": {"name": name},
                    "stream_state": {"use_global_cursor": True, "state": {"updatedAt": cursor}, "lookback_window": 3},
                },
            }
            for name in STREAMS
        ]
        destination.sync(config)
        assert_holds_the_truth(emu, config, destination)
        assert set(destination.company_state("appointments")) == set(emu.company_ids)


# 10 --------------------------------------------------------------------------------------------
def test_an_incremental_sync_costs_no_more_requests_than_a_full_read_and_its_state_is_small():
    import json

    with small_emulator() as emu:
        config = full_range_config(emu, page_size=50)
        destination = Destination()
        emu.reset_log()
        destination.sync(config)
        full = emu.counters()
        emu.reset_log()
        second = destination.sync(config)
        incremental = emu.counters()
        assert not second.records("appointments") and not second.records("customers")
        assert incremental["data_requests"] == full["data_requests"] and incremental["logins"] == 1
        for stream in STREAMS:
            state = next(m for m in destination.state if m["stream"]["stream_descriptor"]["name"] == stream)
            # the cursor's part; the tracked ids are measured by their own tests: the upcoming ones
            # by issue 11's (test_cancellations.py), the listed customers by test_customer_deletions.py
            companies = {
                c: {k: v for k, v in e.items() if not k.startswith("upcoming_") and k != "listed_ids"}
                for c, e in state["stream"]["stream_state"]["companies"].items()
            }
            size = len(json.dumps({"companies": companies}, separators=(",", ":")))
            assert size / len(emu.company_ids) < 120, size
