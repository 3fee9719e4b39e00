"""Regenerate the stream schemas, source_timify/schemas/<stream>.json, from real TIMIFY responses.

Usage: python scripts/generate_schemas.py [SAMPLES_DIR]   (default ../shared/timify-samples)

The manifest loads them with the CDK's JsonFileSchemaLoader (`definitions.schema_loader`).
Two sources only, and no test double: types are inferred from every real sample record of a
stream (../shared/timify-samples/), and the fields the API contract (../shared/timify-api.md)
lists are declared where no sample shows them (`extra` in `stream_schema`: customers,
timeshifts and the customer field categories have no real sample at all). Where a sample has a
field but its values do not show its type (null in every sample, an empty list, whole-number
prices), the type is declared in
`DECLARED` below, with the reason. Every property may be null (`["<type>", "null"]`), ISO-8601
date-times get `format: date-time` (also `reservedUntil` and `scheduledForDeletionAt`, null in every
sample), objects keep `additionalProperties: true`, and the odd fields (`date`, `timestamp`, `ts`)
say in a description what they hold. The emulator's records are checked against these schemas
(the integration test test_schema_formats.py), not used to make them.
"""

import copy
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


def stream_schema(records, extra=None, company_scoped=True, declared=None):
    """The schema of a stream's `records`; `extra`: fields no record has (added), `declared`:
    fields whose values in the records do not show their type (replaced)."""
    schema = infer(records) if records else {"type": "object", "additionalProperties": True, "properties": {}}
    schema["type"] = "object"
    schema["additionalProperties"] = True
    properties = schema["properties"]
    for name, spec in (extra or {}).items():
        properties.setdefault(name, copy.deepcopy(spec))
    for name, spec in (declared or {}).items():
        properties[name] = copy.deepcopy(spec)
    properties["id"] = {"type": "string", "description": "TIMIFY id (24 hexadecimal characters)."}
    if company_scoped:
        properties["company_id"] = {
            "type": "string",
            "description": "The TIMIFY company the record belongs to (added by the connector).",
        }
    schema["properties"] = dict(sorted(properties.items()))
    return schema


S = {"type": ["string", "null"]}
INT = {"type": ["integer", "null"]}
N = {"type": ["number", "null"]}
B = {"type": ["boolean", "null"]}
DT = {"type": ["string", "null"], "format": "date-time"}


def obj(**properties):
    """A nullable object with these properties (sorted by name, as inferred objects are)."""
    return {"type": ["object", "null"], "additionalProperties": True, "properties": dict(sorted(properties.items()))}


def array(items):
    return {"type": ["array", "null"], "items": items}


# Fields the samples have whose values do not show their type: null in every sample, an empty
# list in every sample, or whole numbers where TIMIFY's values need not be. No source states these
# shapes (the samples' README: nested objects "vary by booking type"): they are the project's
# [decided] shapes, the ones the emulator serves, written out here so that the generator reads no
# test double (the emulator's records are checked against the schemas by the integration test
# test_schema_formats.py).
DECLARED = {
    "appointments": {
        # A price may have cents; every sample's is a whole number.
        "price": N,
        # null in every sample: the booked service (id, externalId, name), null for a course.
        "service": obj(id=S, externalId=S, name=S),
        # [] in every sample: the booking's customers, and its custom-field values ({id, value},
        # values written as strings, as customers' `customfields` are written, section 5).
        "customers": array(obj(id=S, externalId=S, fullName=S, email=S, participantsCount=INT)),
        "customfields": array(obj(id=S, value=S)),
    },
    # As appointments' price.
    "services": {"price": N},
    # null in every sample: a SELECT field's options.
    "customer_fields": {"selectOptions": array(obj(label=S, value=S))},
}


def build_schemas(samples):
    """Every stream's schema, from the samples in `samples` and the API contract."""

    def load(pattern):
        return [json.loads(Path(p).read_text()) for p in sorted(glob.glob(str(samples / pattern)))]

    appointments = [a["data"] for a in load("*/appointments/*.json")]
    companies = [c for b in load("*/booker-company.json") for c in b["data"]["companies"]]
    dt, s, i = DT, S, INT
    company_records = [{k: v for k, v in c.items() if not isinstance(v, list)} for c in companies]
    interval = array(obj(begin=dt, end=dt))
    schemas = {
        # The contract's company record (section 3): the booker-company samples have none of
        # these fields. phone{...}: number and country, as TIMIFY writes phones (section 5), and a
        # prefix; address{city, formatted, ...}: the "..." as street, streetNumber, zipCode,
        # country. prefix and the address's postal parts are the emulator's [decided] shape.
        "companies": stream_schema(
            company_records,
            {
                "createdAt": dt,
                "updatedAt": dt,
                "contactEmail": s,
                "phone": obj(country=s, number=s, prefix=s),
                "address": obj(city=s, country=s, formatted=s, street=s, streetNumber=s, zipCode=s),
                "onlineStatus": {
                    "type": ["object", "null"],
                    "additionalProperties": True,
                    "properties": {"isOnline": {"type": ["boolean", "null"]}},
                },
                "enterprise": {
                    "type": ["object", "null"],
                    "additionalProperties": True,
                    "properties": {"id": s, "name": s},
                },
            },
            company_scoped=False,
        ),
        "appointments": stream_schema(
            appointments,
            {
                "_ab_cdc_deleted_at": {
                    "type": ["string", "null"],
                    "format": "date-time",
                    "description": "When the connector noticed that this upcoming appointment was cancelled (TIMIFY "
                    "deletes cancelled appointments); null on every appointment TIMIFY still has.",
                }
            },
            declared=DECLARED["appointments"],
        ),
        # The samples' services and courses (groupServices); a list serves both, `isCourse` (as on
        # the sample appointments) says which [decided]. createdAt/updatedAt here, on resources and
        # on customer_fields: every list record carries them [decided, as the contract has for
        # companies and customers].
        "services": stream_schema(
            [x for c in companies for x in c["services"] + c["groupServices"]],
            {"createdAt": dt, "updatedAt": dt, "isCourse": B},
            declared=DECLARED["services"],
        ),
        # Besides the samples' fields, a resource's contact address [decided, not in the contract].
        "resources": stream_schema(
            [x for c in companies for x in c["resources"]], {"createdAt": dt, "updatedAt": dt, "email": s}
        ),
        # defaultId: which built-in attribute a field holds (email, firstName, ...), as customers'
        # values carry it ({id, defaultId, value}, section 5) [decided].
        "customer_fields": stream_schema(
            [x for c in companies for x in c["customerFields"]],
            {"createdAt": dt, "updatedAt": dt, "defaultId": s},
            declared=DECLARED["customer_fields"],
        ),
        # No real sample: the record the contract decides for the categories that group customer
        # field definitions (section 5). The contract names no link between a field and its
        # category; objects keep additionalProperties, so whatever link TIMIFY sends arrives.
        "customer_field_categories": stream_schema(
            [],
            {
                "name": s,
                "orderIndex": i,
                "isDefault": B,
                "translationKey": s,
                "createdAt": dt,
                "updatedAt": dt,
            },
        ),
        # No real sample: the contract's customer record (section 5).
        "customers": stream_schema(
            [],
            {
                "externalId": s,
                "firstName": s,
                "lastName": s,
                "fullName": s,
                "email": s,
                "totalBookings": i,
                "createdAt": dt,
                "updatedAt": dt,
                "ts": i,
                "fields": array(obj(id=s, defaultId=s, value={})),
                "_ab_cdc_deleted_at": {
                    "type": ["string", "null"],
                    "format": "date-time",
                    "description": "When the connector noticed that TIMIFY deleted this customer (an erasure, a merge, "
                    "a clean-up); null on every customer TIMIFY still has.",
                },
            },
        ),
        # No real sample: the contract's timeshift record (section 5).
        "timeshifts": stream_schema(
            [],
            {
                "resourceId": s,
                "resourceExternalId": s,
                "type": s,
                "isDenial": {"type": ["boolean", "null"]},
                "denialReason": s,
                "from": dt,
                "to": dt,
                "workingTimes": interval,
                "bookingTimes": interval,
                "denialTimes": interval,
                "createdAt": dt,
                "updatedAt": dt,
            },
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
            "description": (
                "The value, typed by the field's definition in customer_fields (text, boolean, number, list)."
            )
        }
        values["description"] = (
            "The customer's custom-field values as TIMIFY sends them ({id, value}); each also "
            "has its own typed column, named in docs/timify.md (Custom fields)."
        )
        schemas[stream]["properties"]["customfields"] = {
            **json.loads(json.dumps(values)),
            "description": "The same values, on a server that sends them under `customfields` instead of `fields`.",
        }
    # The enterprise's own lists have the shape of the companies' (section 5: "same shape as
    # customer_fields", "as customer_field_categories"), without company_id: they belong to the
    # enterprise, not to a company. Enterprise customers keep the deletion column: their
    # deletions are reported (docs/timify.md, "Deleted enterprise customers").
    for enterprise, company in (
        ("enterprise_customers", "customers"),
        ("enterprise_customer_fields", "customer_fields"),
        ("enterprise_customer_field_categories", "customer_field_categories"),
    ):
        schemas[enterprise] = {
            **schemas[company],
            "properties": {k: v for k, v in schemas[company]["properties"].items() if k != "company_id"},
        }
    schemas["appointments"]["properties"]["updatedAt"]["description"] = (
        "When the appointment last changed (UTC): the incremental cursor."
    )
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
        'When the appointment last changed, as a string of epoch milliseconds, e.g. "1709629344000" '
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
    "customer_field_categories": "customer field category",
    "services": "service",
    "resources": "resource",
    "timeshifts": "shift",
    "enterprise_customers": "enterprise customer",
    "enterprise_customer_fields": "enterprise customer field definition",
    "enterprise_customer_field_categories": "enterprise customer field category",
}
INCREMENTAL = {"appointments", "customers", "enterprise_customers"}


def describe_key_fields(schemas):
    """Descriptions of ids, company_id, dates and cursor fields (Airbyte shows them in its UI)."""
    for stream, schema in schemas.items():
        thing, properties = THINGS[stream], schema["properties"]
        key = "with company_id, the primary key" if "company_id" in properties else "the primary key"
        properties["id"] = {
            **properties["id"],
            "description": f"The {thing}'s TIMIFY id (24 hexadecimal characters); {key}.",
        }
        if "company_id" in properties:
            properties["company_id"] = {
                **properties["company_id"],
                "description": (
                    f"The TIMIFY company (branch) the {thing} belongs to: companies.id, sent as the request's "
                    "company-id header (added by the connector)."
                ),
            }
        if "externalId" in properties:
            properties["externalId"] = {
                **properties["externalId"],
                "description": (
                    f"The {thing}'s id in the business's own system, as set in TIMIFY; may be empty or null."
                ),
            }
        if "createdAt" in properties:
            properties["createdAt"] = {
                **properties["createdAt"],
                "description": f"When the {thing} was created in TIMIFY (UTC).",
            }
        if "updatedAt" in properties:
            cursor = ": the incremental cursor" if stream in INCREMENTAL else ""
            properties["updatedAt"] = {
                **properties["updatedAt"],
                "description": f"When the {thing} last changed in TIMIFY (UTC){cursor}.",
            }
    appointment = schemas["appointments"]["properties"]
    appointment["startDate"] = {
        **appointment["startDate"],
        "description": (
            "When the appointment starts (UTC). Its date is the one the synced date range (start_date to "
            "today + lookahead_days) and TIMIFY's from_date/to_date filter on."
        ),
    }
    appointment["serviceId"] = {
        **appointment["serviceId"],
        "description": "The service booked: services.id (null for an appointment without a service).",
    }
    company = schemas["companies"]["properties"]
    company["timezone"] = {**company["timezone"], "description": "The company's IANA time zone, e.g. Europe/Berlin."}
    company["enterprise"] = {
        **company["enterprise"],
        "description": "The enterprise the company belongs to (id, name); null for a company on its own.",
    }
    shift = schemas["timeshifts"]["properties"]
    shift["resourceId"] = {**shift["resourceId"], "description": "The resource whose shift this is: resources.id."}
    shift["from"] = {
        **shift["from"],
        "description": "Start of the time the shift covers (UTC); one shift covers one day.",
    }
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
