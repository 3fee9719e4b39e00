"""Customers' custom fields as typed columns (issue 12) through the real `source-timify` entry
point against the emulator, whose companies have different field sets (every type, an unknown
one, labels missing and colliding, values that do not parse: its README). The expected columns
and values come from connector.py's hand-written oracle, not from the connector's code."""

import json
import math
from pathlib import Path

import pytest
from jsonschema import Draft7Validator, FormatChecker
from timify_emulator import Emulator

from integration_tests.connector import (
    expected_columns,
    expected_records,
    full_range_config,
    keyed,
    run_connector,
    with_custom_field_columns,
)

CUSTOMERS, ENTERPRISE_CUSTOMERS = "customers", "enterprise_customers"
SCHEMAS = Path(__file__).resolve().parent.parent / "source_timify" / "schemas"
PAGE_SIZE = 5


@pytest.fixture(scope="module")
def five_branches():
    """An enterprise of five companies: every variant of the emulator's field sets, including a
    Member number typed NUMBER in one branch and TEXT in the others."""
    with Emulator(companies=5, appointments_per_company=5, customers_per_company=30, seed=13) as emu:
        yield emu


def discovered(emu, **overrides):
    run = run_connector("discover", emu.connector_config(**overrides))
    assert run.returncode == 0, run.stdout[-2000:]
    (catalog,) = run.of_type("CATALOG")
    return {s["name"]: s["json_schema"] for s in catalog["catalog"]["streams"]}


def file_properties(stream):
    """The properties that are not custom-field columns (those of the stream's schema file)."""
    return set(json.loads((SCHEMAS / f"{stream}.json").read_text())["properties"])


def columns_of(schemas, stream):
    """The custom-field columns of a discovered stream schema."""
    fixed = file_properties(stream)
    return {k: v for k, v in schemas[stream]["properties"].items() if k not in fixed}


def test_discover_on_a_company_install_offers_a_typed_column_per_field_of_the_company():
    with Emulator(companies=1, enterprise=False, appointments_per_company=5, seed=21) as emu:
        schemas = discovered(emu)
        expected = expected_columns(emu.truth("customer_fields", emu.company_ids[0]))
    columns = columns_of(schemas, CUSTOMERS)
    assert set(columns) == {name for name, _ in expected.values()}
    assert columns["newsletter"] == {"type": ["boolean", "null"]}
    assert columns["birthday"] == {"type": ["string", "null"], "format": "date"}
    assert columns["memberNumber"] == columns["plan"] == {"type": ["string", "null"]}
    assert columns["mobilePhone"]["type"] == ["object", "null"]
    assert set(columns["mobilePhone"]["properties"]) == {"number", "country", "prefix"}
    assert ENTERPRISE_CUSTOMERS not in schemas


def test_discover_on_an_enterprise_install_offers_the_union_and_the_enterprise_own_columns(five_branches):
    emu = five_branches
    schemas = discovered(emu)
    union = {
        name for cid in emu.company_ids for name, _ in expected_columns(emu.truth("customer_fields", cid)).values()
    }
    columns = columns_of(schemas, CUSTOMERS)
    assert set(columns) == union
    assert {"allergies", "notes", "notes_2", "signature", "shoeSize", "visitsPerYear"} <= union
    assert any(name.startswith("field_") for name in union)  # a field with neither label nor key
    assert columns["memberNumber"] == {"type": ["string", "null"]}  # NUMBER in one branch, TEXT in four
    assert columns["shoeSize"] == columns["visitsPerYear"] == {"type": ["number", "null"]}
    assert columns["signature"] == {"type": ["string", "null"]}  # SIGNATURE: a type we do not know
    enterprise = columns_of(schemas, ENTERPRISE_CUSTOMERS)
    assert set(enterprise) == {name for name, _ in expected_columns(emu.truth("enterprise_customer_fields")).values()}
    assert enterprise["loyaltyTier"] == {"type": ["string", "null"]}
    assert enterprise["marketingConsent"] == {"type": ["boolean", "null"]}


def test_every_record_fits_the_discovered_schema_and_holds_the_truth_values_with_one_log_line(five_branches):
    emu = five_branches
    # The generated data has unparseable values at random; one enterprise customer surely has one.
    member_since = next(f for f in emu.truth("enterprise_customer_fields") if f["label"] == "Member since")
    emu.create_enterprise_customer(fields=[{"id": member_since["id"], "defaultId": None, "value": "31.12.1990"}])
    schemas = discovered(emu)
    config = full_range_config(emu, page_size=PAGE_SIZE)
    emu.reset_log()
    run = run_connector("read", config, [CUSTOMERS, ENTERPRISE_CUSTOMERS])
    assert run.returncode == 0 and not run.errors(), run.stdout[-2000:]
    for stream in (CUSTOMERS, ENTERPRISE_CUSTOMERS):
        validator = Draft7Validator(schemas[stream], format_checker=FormatChecker())
        records = run.records(stream)
        assert records
        for record in records:
            assert not list(validator.iter_errors(record)), (stream, record["id"])
        assert keyed(records, stream) == keyed(expected_records(emu, stream, config), stream)
    # The values that do not fit: counted as the oracle counts them, in one line.
    company_ids = emu.company_ids
    truth = [{**r, "company_id": cid} for cid in company_ids for r in emu.truth(CUSTOMERS, cid)]
    _, unfit = with_custom_field_columns(truth, {cid: emu.truth("customer_fields", cid) for cid in company_ids})
    _, unfit_enterprise = with_custom_field_columns(
        emu.truth(ENTERPRISE_CUSTOMERS), {"": emu.truth("enterprise_customer_fields")}
    )
    assert unfit and unfit_enterprise
    lines = [m["log"]["message"] for m in run.of_type("LOG") if "did not fit" in m["log"]["message"]]
    assert len(lines) == 1
    total = sum(unfit.values()) + sum(unfit_enterprise.values())
    assert lines[0].startswith(f"{total} custom-field value(s) did not fit")
    for column, n in unfit.items():
        assert f"customers.{column}: {n}" in lines[0]
    for column, n in unfit_enterprise.items():
        assert f"enterprise_customers.{column}: {n}" in lines[0]
    # ... and the raw array is still there, unchanged.
    raw = {r["id"]: r["fields"] for r in truth}
    assert all(r["fields"] == raw[r["id"]] for r in run.records(CUSTOMERS))


def test_definitions_are_read_once_per_company_per_sync_whatever_the_number_of_customers(five_branches):
    emu = five_branches
    emu.reset_log()
    run = run_connector("read", full_range_config(emu, page_size=PAGE_SIZE), [CUSTOMERS, ENTERPRISE_CUSTOMERS])
    assert run.returncode == 0, run.stdout[-2000:]
    log = emu.requests_log()
    for cid in emu.company_ids:
        pages = math.ceil(len(emu.truth("customer_fields", cid)) / PAGE_SIZE)
        asked = [e for e in log if e["path"] == "/v1/customers/customfields" and e["company_id"] == cid]
        customer_pages = [e for e in log if e["path"] == "/v1/customers" and e["company_id"] == cid]
        assert len(asked) == pages < len(customer_pages)
    enterprise_pages = math.ceil(len(emu.truth("enterprise_customer_fields")) / PAGE_SIZE)
    assert len([e for e in log if e["path"] == "/v1/enterprise-customers/customfields"]) == enterprise_pages


def test_values_sent_under_customfields_fill_the_same_columns(five_branches):
    emu = five_branches
    config = full_range_config(emu, page_size=PAGE_SIZE)
    emu.faults.update(customer_values_key="customfields")
    try:
        run = run_connector("read", config, [CUSTOMERS, ENTERPRISE_CUSTOMERS])
        # The truth keeps the values under `fields`; the server sent them as `customfields`.
        expected = {
            s: [
                {("customfields" if k == "fields" else k): v for k, v in r.items()}
                for r in expected_records(emu, s, config)
            ]
            for s in (CUSTOMERS, ENTERPRISE_CUSTOMERS)
        }
    finally:
        emu.faults.reset()
    assert run.returncode == 0 and not run.errors(), run.stdout[-2000:]
    for stream in (CUSTOMERS, ENTERPRISE_CUSTOMERS):
        records = run.records(stream)
        assert all("customfields" in r and "fields" not in r for r in records)
        assert keyed(records, stream) == keyed(expected[stream], stream)
    assert any(r["newsletter"] is True for r in run.records(CUSTOMERS))


def test_columns_stay_the_same_over_syncs_and_only_a_renamed_label_renames_its_column():
    with Emulator(companies=2, appointments_per_company=5, customers_per_company=10, seed=17) as emu:
        config = full_range_config(emu)
        first, second = discovered(emu), discovered(emu)
        assert columns_of(first, CUSTOMERS) == columns_of(second, CUSTOMERS)
        run = run_connector("read", config, [CUSTOMERS])
        assert keyed(run.records(CUSTOMERS), CUSTOMERS) == keyed(expected_records(emu, CUSTOMERS, config), CUSTOMERS)
        company = emu.company_ids[1]
        shoe = next(f for f in emu.truth("customer_fields", company) if f["label"] == "Shoe size")
        emu.update_customer_field(company, shoe["id"], label="Shoe size (EU)")
        renamed = columns_of(discovered(emu), CUSTOMERS)
        assert set(renamed) == set(columns_of(first, CUSTOMERS)) - {"shoeSize"} | {"shoeSizeEu"}
        assert renamed["shoeSizeEu"] == first[CUSTOMERS]["properties"]["shoeSize"]
        run = run_connector("read", config, [CUSTOMERS])
        assert run.returncode == 0 and not run.errors()
        assert keyed(run.records(CUSTOMERS), CUSTOMERS) == keyed(expected_records(emu, CUSTOMERS, config), CUSTOMERS)
        theirs = [r for r in run.records(CUSTOMERS) if r["company_id"] == company]
        assert theirs and all("shoeSizeEu" in r and "shoeSize" not in r for r in theirs)
