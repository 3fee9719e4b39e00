"""scripts/next_state.py turns a `read`'s STATE messages into the next read's `--state`, as the
README's incremental CLI run shows: the next read, given it, emits only what changed."""

import json
import subprocess
import sys
from pathlib import Path

from timify_emulator import Emulator

from integration_tests.connector import SOURCE_TIMIFY, catalog, parse_messages

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "next_state.py"
INCREMENTAL = ["appointments", "customers", "enterprise_customers"]


def cli_read(tmp_path, name, state_file=None, streams=INCREMENTAL):
    args = [
        SOURCE_TIMIFY,
        "read",
        "--config",
        str(tmp_path / "config.json"),
        "--catalog",
        str(tmp_path / f"{name}.catalog.json"),
    ]
    (tmp_path / f"{name}.catalog.json").write_text(json.dumps(catalog(streams)))
    if state_file is not None:
        args += ["--state", str(state_file)]
    run = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    (tmp_path / f"{name}.jsonl").write_text(run.stdout)
    return parse_messages(run.stdout)


def next_state(tmp_path, name, *options):
    built = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / f"{name}.jsonl"), *options],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert built.returncode == 0, built.stderr
    (tmp_path / f"{name}.state.json").write_text(built.stdout)
    return json.loads(built.stdout)


def records(messages, stream):
    return [m["record"]["data"] for m in messages if m["type"] == "RECORD" and m["record"]["stream"] == stream]


def test_the_state_of_one_read_makes_the_next_read_emit_only_what_changed(tmp_path):
    with Emulator(companies=2, appointments_per_company=80, seed=61) as emu:
        emu.advance(360)  # nothing changed in the 5-minute lookback before the first read
        (tmp_path / "config.json").write_text(json.dumps(emu.connector_config()))
        first = cli_read(tmp_path, "read-1")
        assert records(first, "appointments") and records(first, "customers")
        state = next_state(tmp_path, "read-1")
        assert sorted(s["stream"]["stream_descriptor"]["name"] for s in state) == sorted(INCREMENTAL)
        last = {
            m["state"]["stream"]["stream_descriptor"]["name"]: m["state"]["stream"]
            for m in first
            if m["type"] == "STATE"
        }
        assert all(s["stream"] == last[s["stream"]["stream_descriptor"]["name"]] for s in state)

        emu.advance(60)
        company = emu.company_ids[0]
        changed = emu.update_customer(company, emu.truth("customers", company)[0]["id"], lastName="Changed")
        second = cli_read(tmp_path, "read-2", tmp_path / "read-1.state.json")
        assert not records(second, "appointments") and not records(second, "enterprise_customers")
        assert [c["id"] for c in records(second, "customers")] == [changed["id"]]


def test_previous_keeps_the_state_of_streams_the_read_did_not_sync(tmp_path):
    with Emulator(companies=1, appointments_per_company=30, seed=67) as emu:
        (tmp_path / "config.json").write_text(json.dumps(emu.connector_config()))
        cli_read(tmp_path, "read-1")
        full = next_state(tmp_path, "read-1")
        cli_read(tmp_path, "read-2", tmp_path / "read-1.state.json", streams=["customers"])
        merged = next_state(tmp_path, "read-2", "--previous", str(tmp_path / "read-1.state.json"))
        names = [s["stream"]["stream_descriptor"]["name"] for s in merged]
        assert sorted(names) == sorted(INCREMENTAL)
        kept = {s["stream"]["stream_descriptor"]["name"]: s for s in full}
        assert [s for s in merged if s["stream"]["stream_descriptor"]["name"] == "appointments"] == [
            kept["appointments"]
        ]
