"""Regenerate the stream schemas, source_timify/schemas/<stream>.json, from real TIMIFY responses.

Usage: python scripts/generate_schemas.py [SAMPLES_DIR]   (default ../shared/timify-samples)

The manifest loads them with the CDK's JsonFileSchemaLoader (`definitions.schema_loader`).
Types are inferred from every sample record of a stream, together with the records the
emulator generates on the same shapes (they vary the fields the few samples leave null), and,
where no real sample exists, from the fields the API contract lists. Every property may be null (`["<type>", "null"]`), ISO-8601
date-times get `format: date-time` (also `reservedUntil` and `scheduledForDeletionAt`, null in every
sample), objects keep `additionalProperties: true`, and the odd fields (`date`, `timestamp`, `ts`)
say in a description what they hold.
"""

import glob
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS_DIR = ROOT / "source_timify" / "schemas"
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$")


def infer(values):
    """A JSON schema covering every value in `values` (None allowed everywhere)."""
    kinds = {type(v).__name__ for v in values if v is not None}
    if not kinds:
        return {"type": ["string", "null"]}
    if kinds <= {"int", "float"}:
        return {"type": ["integer" if kinds == {"int"} else "number", "null"]}
    if len(kinds) > 1:
        # Mixed types in the wild (e.g. externalId ""/number): keep the most general one.
        if "dict" in kinds:
            values, kinds = [v for v in values if isinstance(v, dict)], {"dict"}
        elif "list" in kinds:
            values, kinds = [v for v in values if isinstance(v, list)], {"list"}
        else:
            return {"type": ["string", "null"]}
    kind = kinds.pop()
    if kind == "bool":
        return {"type": ["boolean", "null"]}
    if kind == "str":
        strings = [v for v in values if v]
        schema = {"type": ["string", "null"]}
        if strings and all(DATETIME.match(v) for v in strings):
            schema["format"] = "date-time"
        return schema
    if kind == "list":
        items = [item for v in values if v for item in v]
        return {"type": ["array", "null"], "items": infer(items) if items else {}}
    objects = [v for v in values if isinstance(v, dict)]
    keys = sorted({k for o in objects for k in o})
    return {
        "type": ["object", "null"],
        "additionalProperties": True,
        "properties": {k: infer([o.get(k) for o in objects if k in o]) for k in keys},
    }


def stream_schema(records, extra=None, company_scoped=True):
    schema = infer(records) if records else {"properties": {}}
    schema["type"] = "object"
    schema["additionalProperties"] = True
    properties = schema["properties"]
    for name, spec in (extra or {}).items():
        properties.setdefault(name, spec)
    properties["id"] = {"type": "string", "description": "TIMIFY id (24 hexadecimal characters)."}
    if company_scoped:
        properties["company_id"] = {
            "type": "string",
            "description": "The TIMIFY company the record belongs to (added by the connector).",
        }
    schema["properties"] = dict(sorted(properties.items()))
    return schema


def build_schemas(samples):
    """Every stream's schema, from the samples in `samples` and the emulator's records."""
    load = lambda pattern: [json.load(open(p)) for p in sorted(glob.glob(str(samples / pattern)))]
    from timify_emulator import Emulator

    emulated = Emulator(companies=4, appointments_per_company=500, seed=5)
    generated = {stream: emulated.truth(stream) for stream in
                 ["companies", "appointments", "customers", "customer_fields", "services",
                  "resources", "timeshifts", "enterprise_customers"]}
    appointments = [a["data"] for a in load("*/appointments/*.json")] + generated["appointments"]
    companies = [c for b in load("*/booker-company.json") for c in b["data"]["companies"]]
    dt = {"type": ["string", "null"], "format": "date-time"}
    s = {"type": ["string", "null"]}
    i = {"type": ["integer", "null"]}
    company_records = [
        {k: v for k, v in c.items() if not isinstance(v, list)} for c in companies
    ] + generated["companies"]
    interval = {"type": ["array", "null"], "items": {"type": ["object", "null"], "additionalProperties": True,
                "properties": {"begin": dt, "end": dt}}}
    schemas = {
        "companies": stream_schema(
            company_records,
            {"createdAt": dt, "updatedAt": dt, "contactEmail": s,
             "phone": {"type": ["object", "null"], "additionalProperties": True},
             "address": {"type": ["object", "null"], "additionalProperties": True,
                         "properties": {"city": s, "formatted": s}},
             "onlineStatus": {"type": ["object", "null"], "additionalProperties": True,
                              "properties": {"isOnline": {"type": ["boolean", "null"]}}},
             "enterprise": {"type": ["object", "null"], "additionalProperties": True,
                            "properties": {"id": s, "name": s}}},
            company_scoped=False,
        ),
        "appointments": stream_schema(appointments, {"_ab_cdc_deleted_at": {
            "type": ["string", "null"], "format": "date-time",
            "description": "When the connector noticed that this upcoming appointment was cancelled (TIMIFY "
                           "deletes cancelled appointments); null on every appointment TIMIFY still has."}}),
        "services": stream_schema([x for c in companies for x in c["services"] + c["groupServices"]]
                                  + generated["services"], {"createdAt": dt, "updatedAt": dt}),
        "resources": stream_schema([x for c in companies for x in c["resources"]] + generated["resources"],
                                   {"createdAt": dt, "updatedAt": dt}),
        "customer_fields": stream_schema([x for c in companies for x in c["customerFields"]]
                                         + generated["customer_fields"]),
        "customers": stream_schema(
            generated["customers"],
            {"externalId": s, "firstName": s, "lastName": s, "fullName": s, "email": s, "totalBookings": i,
             "createdAt": dt, "updatedAt": dt, "ts": i,
             "fields": {"type": ["array", "null"], "items": {"type": ["object", "null"], "additionalProperties": True,
                        "properties": {"id": s, "defaultId": s, "value": {}}}}},
        ),
        "timeshifts": stream_schema(
            generated["timeshifts"],
            {"resourceId": s, "resourceExternalId": s, "type": s, "isDenial": {"type": ["boolean", "null"]},
             "denialReason": s, "from": dt, "to": dt, "workingTimes": interval, "bookingTimes": interval,
             "denialTimes": interval, "createdAt": dt, "updatedAt": dt},
        ),
    }
    # A custom field's value takes the type its definition gives it (text, boolean, number,
    # list of options): it is left untyped (any JSON value) rather than a wider union.
    # The read shape is not documented: the values come under `fields` or `customfields` (the
    # write shape's name); both are declared, and each field also gets its own typed column
    # (custom_fields.py, added at discover from the definitions).
    for stream in ("customers",):
        values = schemas[stream]["properties"]["fields"]
        values["items"]["properties"]["value"] = {
            "description": "The value, typed by the field's definition in customer_fields (text, boolean, number, list)."
        }
        values["description"] = ("The customer's custom-field values as TIMIFY sends them ({id, value}); each also "
                                 "has its own typed column, named in docs/timify.md (Custom fields).")
        schemas[stream]["properties"]["customfields"] = {
            **json.loads(json.dumps(values)),
            "description": "The same values, on a server that sends them under `customfields` instead of `fields`.",
        }
    schemas["enterprise_customers"] = {**schemas["customers"], "properties": {
        k: v for k, v in schemas["customers"]["properties"].items() if k != "company_id"}}
    schemas["appointments"]["properties"]["updatedAt"]["description"] = "When the appointment last changed (UTC): the incremental cursor."
    # Fields the samples leave null, or whose values do not say what they are: what each holds
    # (the data type map in docs/timify.md says the same). TIMIFY's values are kept as they are.
    appointment = schemas["appointments"]["properties"]
    for name in ("reservedUntil", "scheduledForDeletionAt"):
        appointment[name] = {**appointment[name], "format": "date-time"}
    appointment["date"]["description"] = (
        "The UTC day of startDate with a trailing Z, e.g. 2025-02-03Z, as TIMIFY sends it: not an ISO "
        "8601 date, so no date format is declared; its first 10 characters are the date."
    )
    appointment["timestamp"]["description"] = (
        "When the appointment last changed, as a string of epoch milliseconds, e.g. \"1709629344000\" "
        "(the same instant as updatedAt)."
    )
    schemas["customers"]["properties"]["ts"]["description"] = (
        "Epoch seconds, as an integer (e.g. 1709629344); appointments' `timestamp` is a string of milliseconds."
    )
    describe_key_fields(schemas)
    return schemas


# What each stream's records are, for the descriptions of the fields a warehouse user looks up first.
THINGS = {
    "companies": "company (branch)",
    "appointments": "appointment",
    "customers": "customer",
    "customer_fields": "customer field definition",
    "services": "service",
    "resources": "resource",
    "timeshifts": "shift",
    "enterprise_customers": "enterprise customer",
}
INCREMENTAL = {"appointments", "customers", "enterprise_customers"}


def describe_key_fields(schemas):
    """Descriptions of ids, company_id, dates and cursor fields (Airbyte shows them in its UI)."""
    for stream, schema in schemas.items():
        thing, properties = THINGS[stream], schema["properties"]
        key = "with company_id, the primary key" if "company_id" in properties else "the primary key"
        properties["id"] = {**properties["id"], "description": f"The {thing}'s TIMIFY id (24 hexadecimal characters); {key}."}
        if "company_id" in properties:
            properties["company_id"] = {**properties["company_id"], "description": (
                f"The TIMIFY company (branch) the {thing} belongs to: companies.id, sent as the request's "
                "company-id header (added by the connector).")}
        if "externalId" in properties:
            properties["externalId"] = {**properties["externalId"], "description": (
                f"The {thing}'s id in the business's own system, as set in TIMIFY; may be empty or null.")}
        if "createdAt" in properties:
            properties["createdAt"] = {**properties["createdAt"], "description": f"When the {thing} was created in TIMIFY (UTC)."}
        if "updatedAt" in properties:
            cursor = ": the incremental cursor" if stream in INCREMENTAL else ""
            properties["updatedAt"] = {**properties["updatedAt"], "description": f"When the {thing} last changed in TIMIFY (UTC){cursor}."}
    appointment = schemas["appointments"]["properties"]
    appointment["startDate"] = {**appointment["startDate"], "description": (
        "When the appointment starts (UTC). Its date is the one the synced date range (start_date to "
        "today + lookahead_days) and TIMIFY's from_date/to_date filter on.")}
    appointment["serviceId"] = {**appointment["serviceId"], "description": "The service booked: services.id (null for an appointment without a service)."}
    company = schemas["companies"]["properties"]
    company["timezone"] = {**company["timezone"], "description": "The company's IANA time zone, e.g. Europe/Berlin."}
    company["enterprise"] = {**company["enterprise"], "description": "The enterprise the company belongs to (id, name); null for a company on its own."}
    shift = schemas["timeshifts"]["properties"]
    shift["resourceId"] = {**shift["resourceId"], "description": "The resource whose shift this is: resources.id."}
    shift["from"] = {**shift["from"], "description": "Start of the time the shift covers (UTC); one shift covers one day."}
    shift["to"] = {**shift["to"], "description": "End of the time the shift covers (UTC)."}


def schema_files(schemas):
    """{file name: text} of the schema files (JSON, two-space indents, one trailing newline)."""
    return {f"{name}.json": json.dumps(schema, indent=2, ensure_ascii=False) + "\n" for name, schema in schemas.items()}


def main():
    samples = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "timify-samples"
    if not samples.is_dir():
        sys.exit(f"{samples} is not a directory of TIMIFY samples: pass the samples directory as the first argument")
    files = schema_files(build_schemas(samples))
    SCHEMAS_DIR.mkdir(exist_ok=True)
    for stale in set(p.name for p in SCHEMAS_DIR.glob("*.json")) - set(files):
        (SCHEMAS_DIR / stale).unlink()
    for name, text in files.items():
        (SCHEMAS_DIR / name).write_text(text)
    print(f"wrote {len(files)} schemas to {SCHEMAS_DIR}")


if __name__ == "__main__":
    main()
