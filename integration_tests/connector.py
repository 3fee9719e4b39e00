"""Run the real `source-timify` entry point as a subprocess and read its Airbyte messages."""

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

SOURCE_TIMIFY = str(Path(sys.executable).parent / "source-timify")
STREAMS = ["companies", "appointments", "customers", "customer_fields", "services", "resources", "timeshifts"]
ENTERPRISE_STREAMS = STREAMS + ["enterprise_customers"]
INCREMENTAL = {"appointments": "updatedAt", "customers": "updatedAt", "enterprise_customers": "updatedAt"}
PRIMARY_KEYS = {"companies": ["id"], "enterprise_customers": ["id"]}


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    messages: List[dict] = field(default_factory=list)

    def of_type(self, kind: str) -> List[dict]:
        return [m for m in self.messages if m.get("type") == kind]

    def records(self, stream: Optional[str] = None) -> List[dict]:
        return [m["record"]["data"] for m in self.of_type("RECORD") if stream in (None, m["record"]["stream"])]

    def streams_read(self) -> set:
        return {m["record"]["stream"] for m in self.of_type("RECORD")}

    def states(self) -> List[dict]:
        return [m["state"] for m in self.of_type("STATE")]

    def last_states(self) -> List[dict]:
        """The latest STATE message of each stream: what a platform would pass to the next sync."""
        latest: Dict[str, dict] = {}
        for state in self.states():
            latest[state["stream"]["stream_descriptor"]["name"]] = state
        return [{"type": "STREAM", "stream": s["stream"]} for s in latest.values()]

    def errors(self) -> List[dict]:
        return [m["trace"]["error"] for m in self.of_type("TRACE") if m["trace"].get("type") == "ERROR"]

    def connection_status(self) -> dict:
        statuses = self.of_type("CONNECTION_STATUS")
        return statuses[-1]["connectionStatus"] if statuses else {}


def parse_messages(stdout: str) -> List[dict]:
    messages = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                messages.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return messages


def catalog(streams: List[str], incremental: bool = True) -> dict:
    configured = []
    for name in streams:
        cursor = INCREMENTAL.get(name) if incremental else None
        configured.append(
            {
                "stream": {
                    "name": name,
                    "json_schema": {},
                    "supported_sync_modes": ["full_refresh", "incremental"] if name in INCREMENTAL else ["full_refresh"],
                },
                "sync_mode": "incremental" if cursor else "full_refresh",
                "destination_sync_mode": "append_dedup" if cursor else "overwrite",
                **({"cursor_field": [cursor]} if cursor else {}),
                "primary_key": [[k] for k in PRIMARY_KEYS.get(name, ["company_id", "id"])],
            }
        )
    return {"streams": configured}


def run_connector(
    command: str,
    config: Optional[Dict[str, Any]] = None,
    streams: Optional[List[str]] = None,
    state: Optional[List[dict]] = None,
    timeout: float = 600,
    incremental: bool = True,
    env: Optional[Dict[str, str]] = None,
) -> Run:
    with tempfile.TemporaryDirectory() as tmp:
        args = [SOURCE_TIMIFY, command]
        if config is not None:
            Path(tmp, "config.json").write_text(json.dumps(config))
            args += ["--config", str(Path(tmp, "config.json"))]
        if command == "read":
            Path(tmp, "catalog.json").write_text(json.dumps(catalog(streams or STREAMS, incremental)))
            args += ["--catalog", str(Path(tmp, "catalog.json"))]
            if state is not None:
                Path(tmp, "state.json").write_text(json.dumps(state))
                args += ["--state", str(Path(tmp, "state.json"))]
        proc = subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
        )
    return Run(proc.returncode, proc.stdout, proc.stderr, parse_messages(proc.stdout))


def full_range_config(emu, **overrides) -> dict:
    """A config whose date range covers every appointment the emulator generated."""
    today = dt.datetime.now(dt.timezone.utc).date()
    start = (emu.now().date() - dt.timedelta(days=800))
    end = emu.now().date() + dt.timedelta(days=400)
    config = emu.connector_config(
        start_date=start.isoformat(), lookahead_days=max(0, (end - today).days)
    )
    config.update(overrides)
    return config


def expected_records(emu, stream: str, config: dict) -> List[dict]:
    """The emulator's ground truth as the connector must emit it (company_id added; appointments
    without booking secrets unless asked, and marked live with `_ab_cdc_deleted_at: null`)."""
    if stream in ("companies", "enterprise_customers"):
        records = emu.truth(stream)
        if stream == "companies" and config.get("company_ids"):
            records = [r for r in records if r["id"] in config["company_ids"]]
        return records
    today = dt.datetime.now(dt.timezone.utc).date()
    created = {c["id"]: c["createdAt"] for c in emu.truth("companies")}
    company_ids = config.get("company_ids") or emu.company_ids
    out = []
    for company_id in company_ids:
        filters = {}
        if stream == "appointments":
            # start_date, or (empty) the company's own createdAt, to today + lookahead_days
            start = config.get("start_date") or created[company_id]
            end = today + dt.timedelta(days=config.get("lookahead_days", 365))
            filters = {"from_date": start[:10], "to_date": end.isoformat()}
        for record in emu.truth(stream, company_id, **filters):
            if stream == "appointments":
                if not config.get("include_booking_secrets"):
                    record = without_booking_secrets(record)
                record = {**record, "_ab_cdc_deleted_at": None}  # a live appointment
            out.append({**record, "company_id": company_id})
    return out


def without_booking_secrets(appointment: dict) -> dict:
    """An appointment as the connector emits it by default: no reschedule/cancel link tokens."""
    appointment = {k: v for k, v in appointment.items() if k != "reschedulingSecret"}
    if isinstance(appointment.get("metadata"), dict):
        appointment["metadata"] = {k: v for k, v in appointment["metadata"].items() if k != "secret"}
    return appointment


def keyed(records: List[dict], stream: str) -> Dict[tuple, dict]:
    keys = PRIMARY_KEYS.get(stream, ["company_id", "id"])
    return {tuple(r[k] for k in keys): r for r in records}
