"""The real `source-timify` against emulators whose appointment window limit is 31 or 365 days
(issue 10, point 4): complete reads equal to the truth, the requests they cost, and incremental
syncs over several runs that stay lossless while data changes."""

import datetime as dt
import math

import pytest
from timify_emulator import Emulator

from integration_tests.connector import expected_records, full_range_config, keyed, run_connector
from integration_tests.destination import Destination, assert_holds_the_truth

UTC = dt.timezone.utc


def _range_days(config: dict) -> int:
    today = dt.datetime.now(UTC).date()
    return (today + dt.timedelta(days=config["lookahead_days"]) - dt.date.fromisoformat(config["start_date"])).days + 1


def _appointment_requests(emu):
    return [e for e in emu.requests_log() if e["path"] == "/v1/appointments" and "ids" not in e["query"]]


@pytest.mark.parametrize("max_window_days", [31, 365])
def test_a_full_read_equals_the_truth_in_the_fewest_windows_the_server_allows(max_window_days):
    with Emulator(companies=2, appointments_per_company=150, seed=41, max_window_days=max_window_days) as emu:
        config = full_range_config(emu, page_size=1000)
        run = run_connector("read", config, ["appointments"], incremental=False)
        assert run.returncode == 0 and not run.errors(), run.stderr[-2000:]
        assert keyed(run.records("appointments"), "appointments") == keyed(
            expected_records(emu, "appointments", config), "appointments"
        )
        requests = _appointment_requests(emu)
        refused = [e for e in requests if e["status"] == 400]
        assert len(refused) == (1 if max_window_days == 31 else 0)
        pages = [e for e in requests if e["status"] == 200 and e["query"].get("limit") == "1000"]
        windows_per_company = math.ceil(_range_days(config) / max_window_days)
        assert len(pages) == len(emu.company_ids) * windows_per_company  # sparse: one page per window
        for e in pages:
            days = (
                dt.date.fromisoformat(e["query"]["to_date"]) - dt.date.fromisoformat(e["query"]["from_date"])
            ).days + 1
            assert days <= max_window_days
        # the probe (limit=1) is the only other appointments request
        assert len(requests) == len(pages) + 1


@pytest.mark.parametrize("max_window_days", [31, 365])
def test_incremental_syncs_stay_lossless_in_either_window_width(max_window_days):
    with Emulator(companies=2, appointments_per_company=150, seed=43, max_window_days=max_window_days) as emu:
        config = full_range_config(emu, page_size=50)
        destination = Destination()
        destination.sync(config)
        assert_holds_the_truth(emu, config, destination)
        cid = emu.company_ids[0]
        for round_ in range(3):
            emu.advance(600)
            appointments = emu.truth("appointments", cid)
            # a change far in the past, one next week, a new booking months ahead, a cancellation
            emu.update_appointment(cid, appointments[round_]["id"], notes=f"changed {round_}")
            emu.update_appointment(cid, appointments[len(appointments) // 2 + round_]["id"], notes=f"moved {round_}")
            emu.create_appointment(cid, start=emu.now() + dt.timedelta(days=200 + round_))
            emu.delete_appointment(cid, appointments[-1 - round_]["id"])
            emu.advance(600)
            emu.reset_log()
            destination.sync(config)
            # each sync finds the width anew: one refused request on the 31-day server, none on 365
            assert len([e for e in _appointment_requests(emu) if e["status"] == 400]) == (max_window_days == 31)
            assert_holds_the_truth(emu, config, destination)
        assert set(destination.company_state("appointments")) == set(emu.company_ids)
