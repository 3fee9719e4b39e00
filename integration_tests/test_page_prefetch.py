"""A dense 365-day window through the real `source-timify` against the emulator (issue 10, point 4):
its pages are read ahead concurrently, the requests in flight never exceed `num_workers`, and the
read is complete. Timing is measured by the benchmark (`bench/run_bench.py --sections windows`);
here only what overlapped with what, from the emulator's request log."""

import datetime as dt

import pytest
from timify_emulator import Emulator

from integration_tests.connector import expected_records, keyed, run_connector, sync_day, utc_today


def most_in_flight(entries):
    """The most requests the emulator was answering at once (each entry: start time, duration)."""
    events = []
    for e in entries:
        start = e["time"]
        events += [(start, 1), (start + e["duration_ms"] / 1000.0, -1)]
    current = most = 0
    for _, step in sorted(events, key=lambda x: (x[0], x[1])):
        current += step
        most = max(most, current)
    return most


@pytest.mark.parametrize("num_workers", [2, 5])
def test_a_dense_window_is_read_ahead_within_num_workers_and_completely(num_workers):
    # One company and a range of under 365 days: one partition, so any overlap is the read-ahead's.
    with Emulator(
        companies=1, enterprise=False, appointments_per_company=1500, seed=61, max_window_days=365, latency_ms=60
    ) as emu:
        today = utc_today()
        start = emu.now().date() - dt.timedelta(days=250)
        lookahead = (emu.now().date() + dt.timedelta(days=100) - today).days
        config = emu.connector_config(
            start_date=start.isoformat(), lookahead_days=max(0, lookahead), page_size=25, num_workers=num_workers
        )
        before = utc_today()
        run = run_connector("read", config, ["appointments"], incremental=False)
        after = utc_today()
        assert run.returncode == 0 and not run.errors(), run.stderr[-2000:]
        data = [e for e in emu.requests_log() if not e["path"].startswith("/v1/auth")]
        pages = [e for e in data if e["path"] == "/v1/appointments" and e["query"].get("limit") == "25"]
        windows = {(e["query"]["from_date"], e["query"]["to_date"]) for e in pages}
        assert len(windows) == 1  # one window
        ((_, end),) = windows
        # The range ends among the generated appointments: the truth of the sync's own date.
        day = sync_day(before, after, end, config["lookahead_days"])
        assert keyed(run.records("appointments"), "appointments") == keyed(
            expected_records(emu, "appointments", config, day), "appointments"
        )
        assert most_in_flight(data) <= num_workers
        assert len(pages) > 4
        assert most_in_flight(pages) >= 2  # its pages overlapped (read one after another: 1)
        numbers = [int(e["query"]["page"]) for e in pages]
        assert sorted(numbers) == list(range(1, len(numbers) + 1))  # each page asked once
