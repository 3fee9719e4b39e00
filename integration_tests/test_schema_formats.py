"""Types that fit: the discovered schemas declare what TIMIFY's odd fields hold, and every record,
including an appointment with `reservedUntil` set, still matches its declared format."""

import datetime as dt
import re

from integration_tests.connector import full_range_config, run_connector


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
        assert int(record["timestamp"]) // 1000 == int(dt.datetime.fromisoformat(record["updatedAt"].replace("Z", "+00:00")).timestamp())
    assert all(isinstance(r["ts"], int) for r in run.records("customers"))
