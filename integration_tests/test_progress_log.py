"""Progress on long reads: a read logs a progress line at the interval (30 s; shortened here
through SOURCE_TIMIFY_PROGRESS_INTERVAL_SECONDS) even while TIMIFY is slow to answer, as an
Airbyte INFO log message, with records so far, companies done and partitions read per stream."""

import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from timify_emulator import Emulator

from integration_tests.connector import SOURCE_TIMIFY, catalog, run_connector

PROGRESS = re.compile(r"^Sync progress after \d+ s: ([\d,]+) records so far(?:; (\d+) of (\d+) companies done)?; ")


def read_with_arrival_times(config, streams, env):
    """Runs `read` and returns (seconds since start, message) for every message, as they arrive."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "config.json").write_text(json.dumps(config))
        Path(tmp, "catalog.json").write_text(json.dumps(catalog(streams)))
        args = [SOURCE_TIMIFY, "read", "--config", f"{tmp}/config.json", "--catalog", f"{tmp}/catalog.json"]
        started = time.monotonic()
        proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env}
        )
        arrivals = [(time.monotonic() - started, json.loads(line)) for line in proc.stdout if line.startswith("{")]
        proc.wait(timeout=120)
        assert proc.returncode == 0, proc.stderr.read()[-2000:]
    return arrivals


def test_a_slow_read_logs_progress_at_the_interval_even_while_no_record_arrives():
    # Every TIMIFY answer takes 1.2 s and one worker reads: most of the read is waiting.
    with Emulator(companies=2, appointments_per_company=40, seed=41, latency_ms=1200) as emu:
        config = emu.connector_config(
            page_size=10, num_workers=1, lookahead_days=0, start_date=emu.now().date().replace(day=1).isoformat()
        )
        arrivals = read_with_arrival_times(config, ["customers"], {"SOURCE_TIMIFY_PROGRESS_INTERVAL_SECONDS": "1"})

    logs = [(at, m["log"]) for at, m in arrivals if m["type"] == "LOG"]
    progress = [(at, log["message"]) for at, log in logs if log["message"].startswith("Sync progress")]
    records = [at for at, m in arrivals if m["type"] == "RECORD"]
    sync_seconds = arrivals[-1][0] - arrivals[0][0]
    assert sync_seconds > 4, sync_seconds
    assert len(progress) >= int(sync_seconds) - 3, (sync_seconds, [p for _, p in progress])
    assert all(log["level"] == "INFO" for at, log in logs if log["message"].startswith("Sync progress"))
    # Lines come at the interval, also while TIMIFY has not answered yet (before the first record).
    times = [at for at, _ in progress]
    assert max(b - a for a, b in zip(times, times[1:], strict=False)) < 2.5, times
    assert any(at < records[0] for at in times), "no progress line while the first page was awaited"

    matches = [PROGRESS.match(message) for _, message in progress]
    assert all(matches), [p for _, p in progress]
    so_far = [int(m.group(1).replace(",", "")) for m in matches]
    assert so_far == sorted(so_far) and so_far[-1] <= len(records), "records so far only grow"
    assert so_far[0] < len(records) and so_far[-1] > 0, so_far
    companies = [(int(m.group(2)), int(m.group(3))) for m in matches if m.group(3)]
    assert companies and all(total == 2 for _, total in companies), "both companies, once listed"
    assert companies[-1][0] >= 1, "a company whose partitions are all read is counted done"
    assert any(re.search(r"customers: [01] of 2 partitions read, [\d,]+ records", p) for _, p in progress)


def test_a_quick_read_logs_no_progress_line_with_the_default_interval(enterprise_emulator):
    run = run_connector("read", enterprise_emulator.connector_config(page_size=100), ["customers"])
    assert run.returncode == 0 and run.records("customers")
    assert not [m for m in run.of_type("LOG") if m["log"]["message"].startswith("Sync progress")]
