"""Types that fit: the discovered schemas declare what TIMIFY's odd fields hold, and every record,
including an appointment with `reservedUntil` set, still matches its declared format; every record
the emulator generates, of every stream, validates against the shipped schema files (which
scripts/generate_schemas.py makes from the real samples and the API contract, not from the emulator)."""

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft7Validator, FormatChecker
from timify_emulator import Emulator

from integration_tests.connector import ENTERPRISE_STREAMS, full_range_config, run_connector

SCHEMA_FILES = Path(__file__).resolve().parent.parent / "source_timify" / "schemas"


def date_time_paths(schema, path=()):
    if schema.get("format") == "date-time":
        yield path
    for name, sub in (schema.get("properties") or {}).items():
        yield from date_time_paths(sub, path + (name,))


def values_at(record, path):
    value = record
    for key in path:
        if not isinstance(value, dict):
            return []
        value = value.get(key)
    return [value]


def test_discovered_formats_fit_every_emitted_record(mutable_emulator):
    emu = mutable_emulator
    company = emu.company_ids[0]
    held = emu.truth("appointments", company)[0]
    emu.update_appointment(company, held["id"], reservedUntil=emu.now() + dt.timedelta(minutes=15))
    config = full_range_config(emu, page_size=100)

    catalog = run_connector("discover", config).of_type("CATALOG")[0]["catalog"]
    schemas = {s["name"]: s["json_schema"] for s in catalog["streams"]}
    appointments = schemas["appointments"]["properties"]
    assert appointments["reservedUntil"]["format"] == "date-time"
    assert appointments["scheduledForDeletionAt"]["format"] == "date-time"
    assert "format" not in appointments["date"] and "format" not in appointments["timestamp"]
    assert schemas["customers"]["properties"]["ts"]["type"] == ["integer", "null"]

    run = run_connector("read", config, ["appointments", "customers"])
    assert run.returncode == 0 and not run.errors(), run.stdout[-2000:]
    reserved = [r["reservedUntil"] for r in run.records("appointments") if r["id"] == held["id"]]
    assert reserved and reserved[0].endswith("Z")
    for stream in ("appointments", "customers"):
        paths = list(date_time_paths(schemas[stream]))
        for record in run.records(stream):
            for path in paths:
                for value in values_at(record, path):
                    assert value is None or dt.datetime.fromisoformat(value.replace("Z", "+00:00")), (stream, path)
    # What the descriptions and docs/timify.md say these fields hold.
    for record in run.records("appointments"):
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}Z", record["date"]) and record["date"] == record["startDate"][:10] + "Z"
        assert re.fullmatch(r"\d+", record["timestamp"])
        assert int(record["timestamp"]) // 1000 == int(
            dt.datetime.fromisoformat(record["updatedAt"].replace("Z", "+00:00")).timestamp()
        )
    assert all(isinstance(r["ts"], int) for r in run.records("customers"))


DATE_TIMES = FormatChecker(formats=())


@DATE_TIMES.checks("date-time", raises=ValueError)
def is_iso_date_time(value):
    """An ISO-8601 date-time with a date, a time and an offset (jsonschema checks date-time only
    with rfc3339-validator installed, which nothing here installs)."""
    if not isinstance(value, str):
        return True
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return "T" in value and parsed.tzinfo is not None


@pytest.mark.parametrize(
    "install",
    [
        # The emulator that scripts/generate_schemas.py read records from before it read only samples
        # and the contract; five companies for every customer-field set (data.py, company_field_specs);
        # a company install (no enterprise).
        dict(companies=4, appointments_per_company=500, seed=5),
        dict(companies=5, appointments_per_company=200, seed=7),
        dict(companies=1, appointments_per_company=200, seed=3, enterprise=False),
    ],
)
def test_the_emulators_records_of_every_stream_validate_against_the_shipped_schemas(install):
    emu = Emulator(**install)  # its records, not its server: it is not started
    schemas = {path.stem: json.loads(path.read_text()) for path in SCHEMA_FILES.glob("*.json")}
    assert set(schemas) == set(ENTERPRISE_STREAMS)
    for stream, schema in sorted(schemas.items()):
        if stream.startswith("enterprise_") and not install.get("enterprise", True):
            continue
        records = emu.truth(stream)
        assert records, stream
        if stream in ("customers", "enterprise_customers"):
            # What a server that sends the values under `customfields` serves (the emulator's knob
            # customer_values_key): the same records with the key renamed.
            records = records + [
                {**{k: v for k, v in r.items() if k != "fields"}, "customfields": r["fields"]} for r in records
            ]
        validator = Draft7Validator(schema, format_checker=DATE_TIMES)
        for record in records:
            errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(record)]
            assert not errors, (stream, record["id"], errors[:5])
