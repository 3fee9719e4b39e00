"""Stream schemas: typed, PyAirbyte-friendly unions only, date-times marked."""

import pytest

from source_timify import SourceTimify
from unit_tests.conftest import make_config

CONFIG = make_config()
STREAMS = {s.name: s for s in SourceTimify(config=CONFIG).streams(CONFIG)}


def walk(schema, path="$"):
    yield path, schema
    for name, sub in (schema.get("properties") or {}).items():
        yield from walk(sub, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from walk(schema["items"], f"{path}[]")


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_schema_types_are_single_or_nullable(name):
    schema = STREAMS[name].get_json_schema()
    assert schema["additionalProperties"] is True
    for path, node in walk(schema):
        kind = node.get("type")
        if isinstance(kind, list):
            assert len(kind) == 2 and kind[1] == "null" and kind[0] != "null", (path, kind)


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_primary_keys_and_date_times(name):
    properties = STREAMS[name].get_json_schema()["properties"]
    assert "id" in properties
    if name not in ("companies", "enterprise_customers"):
        assert "company_id" in properties
    for field in ("createdAt", "updatedAt", "startDate"):
        if field in properties:
            assert properties[field].get("format") == "date-time", (name, field)


def test_enterprise_customers_only_with_an_enterprise():
    config = make_config(enterprise_id=None)
    assert "enterprise_customers" not in {s.name for s in SourceTimify(config=config).streams(config)}
    assert "enterprise_customers" in STREAMS
