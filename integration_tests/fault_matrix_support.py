"""Helpers for the fault matrix (test_fault_matrix*.py): the real `source-timify` entry point as a
process that can be interrupted, exact comparisons with the emulator's ground truth, and a record
of every byte the connector printed so that no secret or token can slip out unnoticed; the streams
the scenarios sync, their small emulator and the changes they make to it between syncs."""

import datetime as dt
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional

from timify_emulator import Emulator

from integration_tests.connector import (
    SOURCE_TIMIFY,
    Run,
    catalog,
    expected_records,
    keyed,
    parse_messages,
)

STREAMS = ["companies", "appointments", "customers"]

# Every (stdout, stderr) the matrix produced, with the secrets and tokens that must not be in it.
OUTPUTS: List[dict] = []


class Connector:
    """`source-timify <command>` running in the background; `.finish()` turns it into a `Run`."""

    def __init__(self, command, config=None, streams=None, state=None, incremental=True, args=()):
        self._tmp = tempfile.TemporaryDirectory()
        tmp = self._tmp.name
        argv = [SOURCE_TIMIFY, command]
        if config is not None:
            Path(tmp, "config.json").write_text(json.dumps(config))
            argv += ["--config", str(Path(tmp, "config.json"))]
        if command == "read":
            Path(tmp, "catalog.json").write_text(json.dumps(catalog(streams, incremental)))
            argv += ["--catalog", str(Path(tmp, "catalog.json"))]
            if state is not None:
                Path(tmp, "state.json").write_text(json.dumps(state))
                argv += ["--state", str(Path(tmp, "state.json"))]
        argv += list(args)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._out: List[bytes] = []
        self._err: List[bytes] = []
        self.record_lines = 0
        self._line_event = threading.Condition()
        self._readers = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self._out, True), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self._err, False), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _pump(self, stream, sink, count_records):
        for line in iter(stream.readline, b""):
            sink.append(line)
            if count_records and line.startswith(b'{"type":"RECORD"'):
                with self._line_event:
                    self.record_lines += 1
                    self._line_event.notify_all()
        with self._line_event:
            self._line_event.notify_all()

    def wait_for_records(self, n: int, timeout: float = 120) -> None:
        """Block until the connector printed `n` record lines (or ended)."""
        deadline = time.monotonic() + timeout
        with self._line_event:
            while self.record_lines < n and self.proc.poll() is None and time.monotonic() < deadline:
                self._line_event.wait(0.05)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)

    def finish(self, timeout: float = 600) -> Run:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.proc.wait()
            raise AssertionError(f"source-timify did not end within {timeout} s") from None
        for reader in self._readers:
            reader.join(timeout=30)
        self.seconds = time.monotonic() - self.started
        self._tmp.cleanup()
        stdout = b"".join(self._out).decode("utf-8", "replace")
        stderr = b"".join(self._err).decode("utf-8", "replace")
        return Run(self.proc.returncode, stdout, stderr, parse_messages(stdout, killed=self.proc.returncode == -9))


def run(command, config=None, streams=None, state=None, emu=None, secrets=(), timeout=600, **kwargs) -> Run:
    """Run the connector to its end and remember its output for the secret scan."""
    result = Connector(command, config, streams, state, **kwargs).finish(timeout)
    remember(result, emu, config, secrets)
    return result


def remember(result: Run, emu=None, config=None, secrets=()) -> None:
    OUTPUTS.append(
        {
            "run": result,
            "emu": emu,
            "secrets": set(secrets) | ({config["app_secret"]} if config and config.get("app_secret") else set()),
        }
    )


def leaks(entries: Iterable[dict]) -> List[str]:
    """Secrets or tokens found in any byte of the given outputs."""
    found = []
    for entry in entries:
        forbidden = set(entry["secrets"])
        if entry["emu"] is not None:
            forbidden.add(entry["emu"].app_secret)
            forbidden.update(entry["emu"].issued_tokens())
        text = entry["run"].stdout + entry["run"].stderr
        for secret in forbidden:
            if secret and len(secret) >= 8 and secret in text:
                found.append(f"{secret[:4]}... ({len(secret)} chars)")
    return found


def merge_states(previous: Optional[List[dict]], new: List[dict]) -> List[dict]:
    """What a platform keeps after a sync: each stream's latest state, old ones when none came."""
    latest: Dict[str, dict] = {}
    for state in (previous or []) + new:
        latest[state["stream"]["stream_descriptor"]["name"]] = state
    return list(latest.values())


def assert_no_duplicates(result: Run, streams: List[str]) -> None:
    for stream in streams:
        records = result.records(stream)
        assert len(records) == len(keyed(records, stream)), f"{stream}: duplicated records emitted"


def assert_equals_truth(emu, config, streams: List[str], *runs: Run) -> None:
    """The records of `runs`, later runs overriding earlier ones (as append_dedup does), equal the
    emulator's ground truth exactly: nothing missing, nothing extra, every record's latest version."""
    for stream in streams:
        union: Dict[tuple, dict] = {}
        for result in runs:
            union.update(keyed(result.records(stream), stream))
        expected = keyed(expected_records(emu, stream, config), stream)
        missing = set(expected) - set(union)
        extra = set(union) - set(expected)
        stale = [k for k in set(union) & set(expected) if union[k] != expected[k]]
        assert not missing and not extra and not stale, (
            f"{stream}: {len(missing)} missing, {len(extra)} extra, {len(stale)} stale "
            f"({len(union)} read, {len(expected)} expected)"
        )


def small_emulator(seed, **knobs):
    return Emulator(companies=2, appointments_per_company=150, seed=seed, **knobs)


def mutate(emu, note):
    """Change appointments far back, near and far ahead and book new ones; change a customer.
    Returns the (company_id, id) of the appointments changed."""
    changed = set()
    now = emu.now()
    for company_id in emu.company_ids:
        by_start = sorted(emu.truth("appointments", company_id), key=lambda a: a["startDate"])
        for appointment in (by_start[0], by_start[len(by_start) // 2], by_start[-1]):
            emu.update_appointment(company_id, appointment["id"], notes=note)
            changed.add((company_id, appointment["id"]))
        for days in (-600, 2, 300):
            changed.add((company_id, emu.create_appointment(company_id, start=now + dt.timedelta(days=days))["id"]))
        customer = emu.truth("customers", company_id)[0]
        emu.update_customer(company_id, customer["id"], firstName=note)
    return changed
