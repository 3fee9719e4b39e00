"""Stream schemas: typed, PyAirbyte-friendly unions only, date-times marked."""

import ast
import json
import sys
from pathlib import Path

import pytest
import requests_mock
import yaml

from source_timify import SourceTimify
from source_timify.source import MANIFEST_PATH
from unit_tests.conftest import COMPANY_A, ENTERPRISE, make_config
from unit_tests.timify_responses import (
    company,
    field_definition,
    object_id,
    register_customer_fields,
    register_list,
    register_login,
)

CONFIG = make_config()
STREAMS = {s.name: s for s in SourceTimify(config=CONFIG).streams(CONFIG)}
# Customers' schemas add a column per custom field (custom_fields.py): one of each type.
DEFINITIONS = [
    field_definition(object_id(COMPANY_A, n), kind, label=f"{kind.title()} field")
    for n, kind in enumerate(["TEXT", "CHECKBOX", "DATE", "NUMBER", "SELECT", "EMAIL", "PHONE", "FILE"], start=1)
]


@pytest.fixture(autouse=True)
def timify():
    with requests_mock.Mocker() as mocker:
        register_login(mocker)
        register_list(mocker, "/v1/companies", [company(COMPANY_A)], 2, query=f"enterprise_id={ENTERPRISE}")
        register_customer_fields(mocker, DEFINITIONS, company_id=COMPANY_A)
        register_customer_fields(mocker, DEFINITIONS, enterprise=True)
        yield mocker


def test_customers_schemas_have_a_column_per_custom_field_of_each_type():
    for name in ("customers", "enterprise_customers"):
        properties = STREAMS[name].get_json_schema()["properties"]
        assert properties["numberField"] == {"type": ["number", "null"]}
        assert properties["dateField"] == {"type": ["string", "null"], "format": "date"}
        assert properties["phoneField"]["type"] == ["object", "null"]
        assert properties["fileField"] == {"type": ["string", "null"]}  # a type we do not know: a string


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
    if name in (
        "companies",
        "enterprise_customers",
        "enterprise_customer_fields",
        "enterprise_customer_field_categories",
    ):
        assert "company_id" not in properties  # the enterprise's own lists belong to no company
    else:
        assert "company_id" in properties
    for field in ("createdAt", "updatedAt", "startDate"):
        if field in properties:
            assert properties[field].get("format") == "date-time", (name, field)


@pytest.mark.parametrize(
    "name", ["enterprise_customers", "enterprise_customer_fields", "enterprise_customer_field_categories"]
)
def test_enterprise_streams_only_with_an_enterprise(name):
    config = make_config(enterprise_id=None)
    assert name not in {s.name for s in SourceTimify(config=config).streams(config)}
    assert name in STREAMS


def test_iso_date_times_that_samples_leave_null_are_declared_date_times():
    properties = STREAMS["appointments"].get_json_schema()["properties"]
    for field in ("reservedUntil", "scheduledForDeletionAt", "rescheduleUntil"):
        assert properties[field] == {"type": ["string", "null"], "format": "date-time"}, field


def test_odd_timify_values_keep_their_types_and_say_what_they_hold():
    appointments = STREAMS["appointments"].get_json_schema()["properties"]
    # `date` is "2025-02-03Z": a JSON-schema `date` format would make destinations reject it.
    assert "format" not in appointments["date"] and "2025-02-03Z" in appointments["date"]["description"]
    assert appointments["timestamp"]["type"] == ["string", "null"]
    assert "epoch milliseconds" in appointments["timestamp"]["description"]
    for stream in ("customers", "enterprise_customers"):
        ts = STREAMS[stream].get_json_schema()["properties"]["ts"]
        assert ts["type"] == ["integer", "null"] and "epoch seconds" in ts["description"].lower()


SCHEMA_FILES = MANIFEST_PATH.parent / "schemas"
SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "timify-samples"


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="../shared/timify-samples is not beside this checkout")
def test_regenerating_the_schemas_keeps_the_schema_files_as_they_are():
    """scripts/generate_schemas.py rewrites source_timify/schemas/*.json: hand edits there (formats,
    descriptions) would be lost on the next regeneration unless the generator makes them too."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    try:
        import generate_schemas
    finally:
        sys.path.pop(0)
    files = generate_schemas.schema_files(generate_schemas.build_schemas(SAMPLES))
    assert files == {path.name: path.read_text() for path in SCHEMA_FILES.glob("*.json")}


def test_the_schema_generator_imports_the_standard_library_only():
    """The shipped schemas come from the real samples and the API contract: the generator imports
    no emulator (a test double) and nothing else of this repository."""
    tree = ast.parse((Path(__file__).resolve().parent.parent / "scripts" / "generate_schemas.py").read_text())
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported and imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level]


def test_every_stream_loads_its_schema_from_its_own_file_and_the_manifest_holds_none():
    manifest = yaml.safe_load(MANIFEST_PATH.read_text())
    assert "schemas" not in manifest
    definitions = manifest["definitions"]
    loaders = [stream["schema_loader"] for stream in definitions["streams"].values()]
    # appointments' is wrapped (booking secrets left out), customers' add the custom-field columns
    loaders = [
        definitions[loader["$ref"].split("/")[-1]]["schema_loader"] if "$ref" in loader else loader
        for loader in loaders
    ]
    assert {(loader["type"], loader["file_path"]) for loader in loaders} == {
        ("JsonFileSchemaLoader", f"./source_timify/schemas/{name}.json") for name in STREAMS
    }
    assert {path.stem for path in SCHEMA_FILES.glob("*.json")} == set(STREAMS)
    for name, stream in STREAMS.items():
        assert stream.get_json_schema()["properties"].keys() >= json.loads((SCHEMA_FILES / f"{name}.json").read_text())[
            "properties"
        ].keys() - {"reschedulingSecret"}


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_the_fields_a_warehouse_user_looks_up_first_are_described(name):
    properties = STREAMS[name].get_json_schema()["properties"]
    for field in ("id", "company_id", "createdAt", "updatedAt", "startDate", "externalId"):
        if field in properties:
            assert len(properties[field].get("description", "")) > 20, (name, field)
    if name in ("appointments", "customers"):
        assert "incremental cursor" in properties["updatedAt"]["description"]
