"""What a destination in Incremental | Append + Deduped holds after a series of syncs of the real
`source-timify`, and the check that it holds the emulator's ground truth (test_incremental_syncs.py,
test_cancellations.py, test_window_width.py)."""

import datetime as dt
from typing import Dict, Iterable, List, Optional

from integration_tests.connector import expected_records, keyed, run_connector

STREAMS = ["appointments", "customers"]


class Destination:
    """What Airbyte keeps from a series of syncs in Append + Deduped mode."""

    def __init__(self) -> None:
        self.tables: Dict[str, Dict[tuple, dict]] = {name: {} for name in STREAMS}
        self.state: Optional[List[dict]] = None
        self.runs: list = []

    def sync(self, config: dict, streams: Iterable[str] = STREAMS, expect_success: bool = True):
        run = run_connector("read", config, list(streams), state=self.state)
        if expect_success:
            assert run.returncode == 0 and not run.errors(), (run.errors(), run.stderr[-3000:])
        for name in streams:
            table = self.tables.setdefault(name, {})  # any stream, enterprise_customers included
            for key, record in keyed(run.records(name), name).items():
                if record.get("_ab_cdc_deleted_at"):  # a deletion record: the row goes
                    table.pop(key, None)
                else:
                    table[key] = record
        if run.last_states():
            self.state = run.last_states()
        self.runs.append(run)
        return run

    def company_state(self, stream: str) -> dict:
        for message in self.state or []:
            if message["stream"]["stream_descriptor"]["name"] == stream:
                return message["stream"]["stream_state"].get("companies", {})
        return {}


def assert_holds_the_truth(
    emu,
    config: dict,
    destination: Destination,
    gone: Iterable[str] = (),
    streams: Iterable[str] = STREAMS,
    today: Optional[dt.date] = None,
) -> None:
    """`today`: the UTC date the last sync counted its range from (connector.expected_records)."""
    gone = set(gone)
    for stream in streams:
        truth = keyed(expected_records(emu, stream, config, today), stream)
        held = destination.tables.get(stream, {})
        missing = [key for key in truth if key not in held]
        stale = [key for key in truth if key in held and held[key] != truth[key]]
        extra = [key for key in held if key not in truth and key[-1] not in gone]
        assert not (missing or stale or extra), (
            f"{stream}: {len(missing)} of {len(truth)} missing, {len(stale)} stale, {len(extra)} extra"
        )
