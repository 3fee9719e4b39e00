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
STREAMS = [
    "companies",
    "appointments",
    "customers",
    "customer_fields",
    "customer_field_categories",
    "services",
    "resources",
    "timeshifts",
]
# The enterprise's own lists (no company-id, no company_id): enterprise installs only.
ENTERPRISE_ONLY = ["enterprise_customers", "enterprise_customer_fields", "enterprise_customer_field_categories"]
ENTERPRISE_STREAMS = STREAMS + ENTERPRISE_ONLY
INCREMENTAL = {"appointments": "updatedAt", "customers": "updatedAt", "enterprise_customers": "updatedAt"}
PRIMARY_KEYS = {"companies": ["id"], **{name: ["id"] for name in ENTERPRISE_ONLY}}


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


def parse_messages(stdout: str, killed: bool = False) -> List[dict]:
    """The Airbyte messages of a run's stdout. A line that starts as a message but is not one JSON
    object fails the test (a record split by another write must not pass as a missing record);
    only the last line of a killed process may be cut short."""
    messages = []
    lines = stdout.splitlines()
    for number, line in enumerate(lines):
        line = line.strip()
        if line.startswith("{"):
            try:
                messages.append(json.loads(line))
            except json.JSONDecodeError as error:
                if killed and number == len(lines) - 1:
                    continue
                raise AssertionError(
                    f"stdout line {number + 1} is not one JSON message ({error}): {line[:300]}"
                ) from None
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
                    "supported_sync_modes": ["full_refresh", "incremental"]
                    if name in INCREMENTAL
                    else ["full_refresh"],
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
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
    return Run(proc.returncode, proc.stdout, proc.stderr, parse_messages(proc.stdout))


def utc_today() -> dt.date:
    """The machine's UTC date: the day a sync of the connector counts its date range from
    (source_timify/date_ranges.py), whatever TIMIFY's (the emulator's) clock says."""
    return dt.datetime.now(dt.timezone.utc).date()


def sync_day(before: dt.date, after: dt.date, range_end: str, lookahead_days: int) -> dt.date:
    """The UTC date a sync counted its range from, read off the range's end it asked for (a
    request's or its state's `to_date`): `range_end` less `lookahead_days`, which must be the
    machine's UTC date taken `before` or `after` the sync (they differ when midnight passed while
    it ran, and the test cannot know which side of midnight the connector read the date on)."""
    day = dt.date.fromisoformat(range_end) - dt.timedelta(days=lookahead_days)
    assert before <= day <= after, f"range ends {range_end}: counted from {day}, not from {before} or {after}"
    return day


def full_range_config(emu, **overrides) -> dict:
    """A config whose date range covers every appointment the emulator generated."""
    today = utc_today()
    start = emu.now().date() - dt.timedelta(days=800)
    end = emu.now().date() + dt.timedelta(days=400)
    config = emu.connector_config(start_date=start.isoformat(), lookahead_days=max(0, (end - today).days))
    config.update(overrides)
    return config


# The manifest's `lookback_seconds` for appointments and customers (their CompanyCursor): a sync
# re-reads the records stamped up to this long before the previous sync's start.
LOOKBACK_SECONDS = 300


def _epoch(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def changed_within_lookback(emu, stream: str, state: List[dict]) -> set:
    """(company_id, id) of TIMIFY's `stream` records that an incremental sync from `state` emits by
    the cursor rule: `updatedAt` at or after the company's saved cursor less LOOKBACK_SECONDS
    (every record of a company the state has no entry for)."""
    (message,) = [s for s in state if s["stream"]["stream_descriptor"]["name"] == stream]
    entries = message["stream"]["stream_state"]["companies"]
    out = set()
    for company_id, records in emu.truth_by_company(stream).items():
        cursor = entries.get(company_id, {}).get("updatedAt")
        since = None if cursor is None else _epoch(cursor) - LOOKBACK_SECONDS
        out |= {(company_id, r["id"]) for r in records if since is None or _epoch(r["updatedAt"]) >= since}
    return out


def enterprise_changed_within_lookback(emu, stream: str, state: List[dict]) -> set:
    """ids of TIMIFY's records of the enterprise's `stream` (enterprise_customers, one cursor for
    the whole stream) that an incremental sync from `state` emits by the cursor rule: `updatedAt`
    at or after the saved cursor less LOOKBACK_SECONDS (every record without a cursor)."""
    (message,) = [s for s in state if s["stream"]["stream_descriptor"]["name"] == stream]
    cursor = message["stream"]["stream_state"].get("updatedAt")
    since = None if cursor is None else _epoch(cursor) - LOOKBACK_SECONDS
    return {r["id"] for r in emu.truth(stream) if since is None or _epoch(r["updatedAt"]) >= since}


def stamped_during(stamp: str, before: dt.datetime, after: dt.datetime) -> bool:
    """`stamp` (ISO-8601 UTC seconds) is TIMIFY's clock at some moment between `before` and `after`
    (the emulator's clock around a sync). The connector knows TIMIFY's clock from the login's `Date`
    header, whole seconds, and stamps whole seconds: each can put it up to a second early."""
    return before.timestamp() - 2 <= _epoch(stamp) <= after.timestamp() + 1


# The custom-field columns the connector must emit for the emulator's field definitions (its
# data.py), written out by hand from the naming rule in docs/timify.md, not computed by the
# connector's code: label (or translationKey, or defaultId) -> column. A field with neither label
# nor translationKey is `field_<id>`; firstName, lastName and email are top-level already.
EMULATOR_COLUMNS = {
    "mobilePhone": "mobilePhone",
    "Member number": "memberNumber",
    "Newsletter": "newsletter",
    "Birthday": "birthday",
    "Plan": "plan",
    "Shoe size": "shoeSize",
    "Shoe size (EU)": "shoeSizeEu",
    "customerFields.custom.allergies": "allergies",
    "Notes": "notes",
    "notes!": "notes_2",
    "Signature": "signature",
    "Visits per year": "visitsPerYear",
    "Loyalty tier": "loyaltyTier",
    "Member since": "memberSince",
    "Marketing consent": "marketingConsent",
}
TOP_LEVEL = ("firstName", "lastName", "email")


def expected_columns(definitions: List[dict]) -> Dict[str, tuple]:
    """{field id: (column, TIMIFY type)} for one company's (or the enterprise's) definitions."""
    out = {}
    for f in definitions:
        if f["defaultId"] in TOP_LEVEL:
            continue
        name = f["defaultId"] or f["label"] or f["translationKey"]
        out[f["id"]] = (EMULATOR_COLUMNS[name] if name else "field_" + f["id"], f["type"])
    return out


def expected_column_types(per_company: List[Dict[str, tuple]]) -> Dict[str, str]:
    """{column: TIMIFY type}; a column whose types differ between companies is "TEXT" (a string)."""
    types: Dict[str, str] = {}
    for columns in per_company:
        for name, kind in columns.values():
            types[name] = kind if types.get(name, kind) == kind else "TEXT"
    return types


def expected_value(value: Any, kind: str) -> Any:
    """A value as its column holds it; `UNFIT` when it does not fit (the column is null)."""
    if value is None or (value == "" and kind in ("PHONE", "DATE", "NUMBER", "CHECKBOX")):
        return None
    if kind == "PHONE":
        return json.loads(value) if isinstance(value, str) else value
    if kind == "DATE":
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            return UNFIT
    if kind == "NUMBER":
        return value if isinstance(value, (int, float)) else UNFIT
    if kind == "CHECKBOX":
        return value
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


UNFIT = object()


def with_custom_field_columns(records: List[dict], definitions: Dict[str, List[dict]]) -> tuple:
    """`records` (customers, or enterprise customers under the key "") with their custom-field
    columns, and the number of values that did not fit, per column."""
    columns = {company: expected_columns(defs) for company, defs in definitions.items()}
    types = expected_column_types(list(columns.values()))
    out: list = []
    unfit: dict = {}
    for record in records:
        record = dict(record)
        values = {v["id"]: v["value"] for v in record.get("fields") or record.get("customfields") or []}
        for field_id, (name, _) in columns[record.get("company_id", "")].items():
            value = expected_value(values.get(field_id), types[name])
            if value is UNFIT:
                unfit[name] = unfit.get(name, 0) + 1
                value = None
            record[name] = value
        out.append(record)
    return out, unfit


def expected_records(emu, stream: str, config: dict, today: Optional[dt.date] = None) -> List[dict]:
    """The emulator's ground truth as the connector must emit it (company_id added; appointments
    without booking secrets unless asked, and marked live with `_ab_cdc_deleted_at: null`;
    customers and enterprise customers with their custom-field columns, and marked live too).
    Appointments are those of the range counted from `today` (default: the machine's UTC date now;
    a test whose range ends among the emulator's appointments passes the sync's own, sync_day)."""
    if stream == "companies" or stream in ENTERPRISE_ONLY:
        records = emu.truth(stream)
        if stream == "companies" and config.get("company_ids"):
            records = [r for r in records if r["id"] in config["company_ids"]]
        if stream == "enterprise_customers":
            records, _ = with_custom_field_columns(records, {"": emu.truth("enterprise_customer_fields")})
            records = [{**record, "_ab_cdc_deleted_at": None} for record in records]  # a live one
        return records
    today = today or utc_today()
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
    if stream == "customers":
        definitions = {cid: emu.truth("customer_fields", cid) for cid in company_ids}
        out, _ = with_custom_field_columns(out, definitions)
        out = [{**record, "_ab_cdc_deleted_at": None} for record in out]  # a live customer
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
