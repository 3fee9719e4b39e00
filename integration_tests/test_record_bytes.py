"""Making a read cheaper must not change what it emits (issue 22): the RECORD lines of the real
`source-timify read` on seeded emulator data equal, byte for byte, the golden files committed
beside this test (integration_tests/golden/*.jsonl.gz: one line per record, sorted by stream and
primary key, `emitted_at` set to 0 as the only byte that may differ).

The golden files were written by the connector as it was before the per-record CPU work of
issue 22 (c.f. bench/RESULTS.md, "Per-record CPU"). After a deliberate change of the records
(a schema, a column, a transformation), write them again and review the diff:

    UPDATE_GOLDEN_RECORDS=1 .venv/bin/python -m pytest -q integration_tests/test_record_bytes.py
"""

import datetime as dt
import difflib
import gzip
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Dict, List

import pytest
from timify_emulator import Emulator

from integration_tests.connector import ENTERPRISE_STREAMS, PRIMARY_KEYS, SOURCE_TIMIFY, catalog

GOLDEN = Path(__file__).resolve().parent / "golden"
# The emulator's data depends on its seed and on its clock: both fixed, the data is the same on
# every run (the connector's own clock only widens the date range, which covers it all).
NOW = dt.datetime(2026, 6, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
EMITTED_AT = re.compile(rb',"emitted_at":\d+')


@pytest.fixture(scope="module")
def seeded_emulator():
    with Emulator(companies=2, appointments_per_company=60, seed=22, now=NOW) as emulator:
        yield emulator


def covering_config(emu: Emulator, **overrides: Any) -> Dict[str, Any]:
    today = dt.datetime.now(dt.timezone.utc).date()
    start = NOW.date() - dt.timedelta(days=800)
    lookahead = max(0, (NOW.date() + dt.timedelta(days=400) - today).days)
    return emu.connector_config(start_date=start.isoformat(), lookahead_days=lookahead, **overrides)


def record_lines(config: Dict[str, Any], streams: List[str]) -> List[bytes]:
    """The RECORD lines of a full-refresh read, as the bytes the connector wrote (emitted_at 0),
    sorted by stream and primary key."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "config.json").write_text(json.dumps(config))
        Path(tmp, "catalog.json").write_text(json.dumps(catalog(streams, incremental=False)))
        args = [SOURCE_TIMIFY, "read", "--config", f"{tmp}/config.json", "--catalog", f"{tmp}/catalog.json"]
        proc = subprocess.run(args, capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = [line for line in proc.stdout.split(b"\n") if line.startswith(b'{"type":"RECORD"')]

    def key(line: bytes) -> tuple:
        record = json.loads(line)["record"]
        names = PRIMARY_KEYS.get(record["stream"], ["company_id", "id"])
        return (record["stream"], *(str(record["data"].get(name)) for name in names), line)

    return sorted((EMITTED_AT.sub(b',"emitted_at":0', line) for line in lines), key=key)


def assert_equal_to_golden(lines: List[bytes], name: str) -> None:
    path = GOLDEN / f"{name}.jsonl.gz"
    if os.environ.get("UPDATE_GOLDEN_RECORDS"):
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(gzip.compress(b"".join(line + b"\n" for line in lines), mtime=0))
    golden = gzip.decompress(path.read_bytes()).split(b"\n")[:-1]
    if lines != golden:
        diff = difflib.unified_diff(
            [g.decode() for g in golden], [line.decode() for line in lines], "golden", "now", n=0, lineterm=""
        )
        pytest.fail(
            f"{len(lines)} record lines now, {len(golden)} in {path.name}; first differences:\n"
            + "\n".join(list(diff)[:12])[:6000]
        )


def test_every_stream_emits_the_same_record_bytes_as_the_golden_file(seeded_emulator):
    lines = record_lines(covering_config(seeded_emulator), ENTERPRISE_STREAMS)
    assert {json.loads(line)["record"]["stream"] for line in lines} == set(ENTERPRISE_STREAMS)
    assert_equal_to_golden(lines, "all_streams")


def test_appointments_with_booking_secrets_emit_the_same_record_bytes_as_the_golden_file(seeded_emulator):
    config = covering_config(seeded_emulator, include_booking_secrets=True, page_size=7)
    lines = record_lines(config, ["appointments"])
    assert any(b'"reschedulingSecret"' in line for line in lines)
    assert_equal_to_golden(lines, "appointments_with_booking_secrets")
