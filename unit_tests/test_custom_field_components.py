"""CustomFieldColumns and CustomFieldValues (custom_fields.py) with the real manifest and mocked
HTTP: the columns discover offers, the values a read places in them, one definitions request per
company per sync, one log line for the values that do not fit, and what happens when the
definitions cannot be read."""

import logging

import pytest
import requests_mock
from airbyte_cdk.models import FailureType, SyncMode
from airbyte_cdk.test.catalog_builder import CatalogBuilder
from airbyte_cdk.test.entrypoint_wrapper import read

from source_timify import SourceTimify
from unit_tests.conftest import COMPANY_A, COMPANY_B, ENTERPRISE, make_config, records_of, run_read
from unit_tests.timify_responses import (
    company,
    customer,
    error,
    field_definition,
    object_id,
    register_customer_fields,
    register_list,
    register_login,
    requests_to,
)

LIMIT = 2  # make_config's page_size
FIELDS_PATH = "/v1/customers/customfields"
SHOE_A, PLAN_A, PHONE_A = (object_id(COMPANY_A, n) for n in (101, 102, 103))
SHOE_B, VIP_B = (object_id(COMPANY_B, n) for n in (101, 102))
DEFINITIONS_A = [
    field_definition(SHOE_A, "NUMBER", label="Shoe size"),
    field_definition(PLAN_A, "SELECT", label="Plan"),
    field_definition(PHONE_A, "PHONE", translationKey="customerFields.basic.mobilePhone"),
    field_definition(object_id(COMPANY_A, 104), "EMAIL", translationKey="customerFields.basic.email"),
]
# Company B types the shoe size as text: over the enterprise, the column is a string.
DEFINITIONS_B = [field_definition(SHOE_B, "TEXT", label="Shoe size"), field_definition(VIP_B, "CHECKBOX", label="VIP")]


def values(*pairs):
    return [{"id": field_id, "value": value} for field_id, value in pairs]


@pytest.fixture
def api():
    with requests_mock.Mocker() as mocker:
        register_login(mocker)
        register_list(
            mocker,
            "/v1/companies",
            [company(COMPANY_A), company(COMPANY_B)],
            LIMIT,
            query=f"enterprise_id={ENTERPRISE}",
        )
        yield mocker


def serve(api, customers_a, customers_b=(), definitions_a=DEFINITIONS_A, definitions_b=DEFINITIONS_B):
    register_customer_fields(api, definitions_a, company_id=COMPANY_A)
    register_customer_fields(api, definitions_b, company_id=COMPANY_B)
    register_list(api, "/v1/customers", list(customers_a), LIMIT, company_id=COMPANY_A)
    register_list(api, "/v1/customers", list(customers_b), LIMIT, company_id=COMPANY_B)


def discovered_properties(config, stream="customers"):
    catalog = SourceTimify(config=config).discover(logging.getLogger("airbyte"), config)
    return next(s.json_schema["properties"] for s in catalog.streams if s.name == stream)


def test_discover_offers_the_union_of_the_companies_columns_typed_from_their_definitions(api):
    serve(api, [])
    properties = discovered_properties(make_config())
    assert properties["shoeSize"] == {"type": ["string", "null"]}  # NUMBER in A, TEXT in B
    assert properties["plan"] == {"type": ["string", "null"]}
    assert properties["vip"] == {"type": ["boolean", "null"]}
    assert properties["mobilePhone"]["type"] == ["object", "null"]
    assert set(properties["mobilePhone"]["properties"]) == {"number", "country", "prefix"}
    assert properties["email"]["type"] == ["string", "null"]  # the top-level email, not a column
    assert "fields" in properties


def test_each_record_gets_its_company_columns_parsed_and_keeps_the_raw_array(api):
    raw_a = values(
        (SHOE_A, 42), (PLAN_A, "premium"), (PHONE_A, '{"number":"1511234567","country":"DE","prefix":"+49"}')
    )
    raw_b = values((SHOE_B, "44 1/2"), (VIP_B, True))
    serve(api, [customer(COMPANY_A, 1, fields=raw_a)], [customer(COMPANY_B, 2, fields=raw_b)])
    output = run_read(make_config(), ["customers"])
    a, b = sorted(records_of(output, "customers"), key=lambda r: r["company_id"])
    assert (a["shoeSize"], a["plan"], a["mobilePhone"]) == (
        "42",
        "premium",
        {"number": "1511234567", "country": "DE", "prefix": "+49"},
    )
    assert a["fields"] == raw_a and "vip" not in a
    assert (b["shoeSize"], b["vip"]) == ("44 1/2", True) and b["fields"] == raw_b


def test_values_under_customfields_are_placed_like_those_under_fields(api):
    raw = values((SHOE_A, 41), (PLAN_A, "basic"))
    serve(api, [customer(COMPANY_A, 1, fields=None, customfields=raw)])
    (record,) = records_of(run_read(make_config(company_ids=[COMPANY_A]), ["customers"]), "customers")
    assert (record["shoeSize"], record["plan"], record["customfields"]) == (41, "basic", raw)


def test_definitions_are_read_once_per_company_per_sync_however_many_customers(api):
    many = [customer(COMPANY_A, n, fields=values((PLAN_A, "basic"))) for n in range(1, 12)]
    serve(api, many, [customer(COMPANY_B, 50)])
    output = run_read(make_config(), ["customers"])
    assert len(records_of(output, "customers")) == 12
    # A's 4 definitions are 2 pages, B's 2 one: each list read once, none per customer.
    assert len(requests_to(api, FIELDS_PATH, COMPANY_A)) == 2 and len(requests_to(api, FIELDS_PATH, COMPANY_B)) == 1


def test_a_value_that_does_not_fit_is_null_in_its_column_and_counted_in_one_log_line(api, caplog):
    shoe_numbers = [field_definition(SHOE_A, "NUMBER", label="Shoe size")]
    customers = [
        customer(COMPANY_A, n, fields=values((SHOE_A, value)))
        for n, value in enumerate(["n/a", 40, "?", "", "39.5"], 1)
    ]
    serve(api, customers, definitions_a=shoe_numbers, definitions_b=[])
    with caplog.at_level(logging.INFO, logger="airbyte"):
        output = run_read(make_config(company_ids=[COMPANY_A]), ["customers"])
    assert not output.errors
    # (the in-process test entry point drops null values from records: .get)
    assert [r.get("shoeSize") for r in sorted(records_of(output, "customers"), key=lambda r: r["id"])] == [
        None,
        40,
        None,
        None,
        39.5,
    ]
    assert all(r["fields"][0]["value"] is not None for r in records_of(output, "customers"))  # raw kept
    lines = [r.getMessage() for r in caplog.records if "did not fit" in r.getMessage()]
    assert lines == [lines[0]] and "2 custom-field value(s)" in lines[0] and "customers.shoeSize: 2" in lines[0]


def test_a_second_sync_reads_the_definitions_again_and_a_renamed_label_renames_the_column(api):
    serve(api, [customer(COMPANY_A, 1, fields=values((PLAN_A, "basic")))], definitions_b=[])
    config = make_config(company_ids=[COMPANY_A])
    source = SourceTimify(config=config)
    assert "plan" in discovered_properties(config)
    register_customer_fields(api, [field_definition(PLAN_A, "SELECT", label="Membership plan")], company_id=COMPANY_A)
    catalog = CatalogBuilder().with_stream("customers", SyncMode.full_refresh).build()
    (record,) = records_of(read(source, config, catalog), "customers")
    assert record["membershipPlan"] == "basic" and "plan" not in record


def test_discover_without_readable_definitions_offers_the_file_schema_and_says_why(api, caplog):
    serve(api, [])
    api.get(
        f"https://api.timify.com{FIELDS_PATH}",
        status_code=400,
        json=error("BAD_REQUEST", "customfields are switched off"),
    )
    with caplog.at_level(logging.INFO, logger="airbyte"):
        properties = discovered_properties(make_config())
    assert "shoeSize" not in properties and "fields" in properties
    warning = next(r.getMessage() for r in caplog.records if "custom field definitions" in r.getMessage())
    assert "customers schema has no custom-field columns" in warning and "customfields are switched off" in warning


def test_a_read_fails_loudly_when_the_definitions_cannot_be_read(api):
    serve(api, [customer(COMPANY_A, 1, fields=values((PLAN_A, "basic")))])
    api.get(
        f"https://api.timify.com{FIELDS_PATH}",
        status_code=400,
        json=error("BAD_REQUEST", "customfields are switched off"),
    )
    output = run_read(make_config(), ["customers"], expecting_exception=True)
    assert not records_of(output, "customers")  # never a record with its columns silently missing
    errors = [m.trace.error for m in output.errors]
    assert errors and any("customfields are switched off" in (e.message or "") for e in errors)
    assert errors[0].failure_type == FailureType.config_error


def test_enterprise_customers_columns_come_from_the_enterprise_definitions(api):
    tier = object_id(ENTERPRISE, 1)
    register_customer_fields(api, [field_definition(tier, "SELECT", label="Loyalty tier")], enterprise=True)
    register_customer_fields(api, DEFINITIONS_A)  # the companies' own: not the enterprise's columns
    register_list(api, "/v1/enterprise-customers", [customer(ENTERPRISE, 1, fields=values((tier, "gold")))], LIMIT)
    properties = discovered_properties(make_config(), "enterprise_customers")
    assert properties["loyaltyTier"] == {"type": ["string", "null"]} and "shoeSize" not in properties
    assert len(requests_to(api, "/v1/enterprise-customers/customfields")) == 1
    (record,) = records_of(run_read(make_config(), ["enterprise_customers"]), "enterprise_customers")
    assert record["loyaltyTier"] == "gold"
    assert len(requests_to(api, "/v1/enterprise-customers/customfields")) == 2  # once more for the read
