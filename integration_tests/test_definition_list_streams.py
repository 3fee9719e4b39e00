"""The lists of customer field definitions and categories that TIMIFY's reference documents besides
`customer_fields` (contract section 5), read through the real `source-timify` entry point against
the emulator: `customer_field_categories` per company on company and enterprise installs, and the
enterprise's own `enterprise_customer_fields` and `enterprise_customer_field_categories` on
enterprise installs only. Each reads complete (the emulator's ground truth, record for record, null
fields kept), page by page, and discover offers each exactly where it applies."""

import math

import pytest
from timify_emulator import Emulator

from integration_tests.connector import (
    ENTERPRISE_ONLY,
    ENTERPRISE_STREAMS,
    STREAMS,
    expected_records,
    full_range_config,
    keyed,
    run_connector,
)

PAGE_SIZE = 2
CATEGORIES = "/v1/customers/customfields/categories"
ENTERPRISE_PATHS = {
    "enterprise_customer_fields": "/v1/enterprise-customers/customfields",
    "enterprise_customer_field_categories": "/v1/enterprise-customers/customfields/categories",
}
NEW = ["customer_field_categories", "enterprise_customer_fields", "enterprise_customer_field_categories"]


@pytest.fixture(scope="module")
def enterprise():
    with Emulator(companies=3, appointments_per_company=20, seed=61) as emu:
        yield emu


@pytest.fixture(scope="module")
def company_install():
    with Emulator(companies=1, appointments_per_company=20, enterprise=False, seed=62) as emu:
        yield emu


def catalog_streams(run):
    return {s["name"]: s for s in run.of_type("CATALOG")[0]["catalog"]["streams"]}


def assert_complete(emu, run, stream, config):
    expected = expected_records(emu, stream, config)
    records = run.records(stream)
    assert expected, f"{stream}: the emulator has no records to compare"
    assert len(records) == len(keyed(records, stream)), f"{stream}: duplicates emitted"
    assert keyed(records, stream) == keyed(expected, stream), f"{stream}: {len(records)} read, {len(expected)} expected"


def test_an_enterprise_install_reads_the_three_lists_complete_page_by_page(enterprise):
    emu = enterprise
    emu.reset_log()
    config = full_range_config(emu, page_size=PAGE_SIZE)
    run = run_connector("read", config, NEW)
    assert run.returncode == 0 and not run.errors(), (run.errors(), run.stderr[-3000:])
    for stream in NEW:
        assert_complete(emu, run, stream, config)
    categories = run.records("customer_field_categories")
    assert {r["company_id"] for r in categories} == set(emu.company_ids)
    for name in ENTERPRISE_ONLY[1:]:
        assert all("company_id" not in r for r in run.records(name))
    log = [e for e in emu.requests_log() if e["path"] != "/v1/auth/token"]
    for company_id in emu.company_ids:  # every page of each company's list, once, with its company-id
        asked = [e for e in log if e["path"] == CATEGORIES and e["company_id"] == company_id]
        pages = math.ceil(len(emu.truth("customer_field_categories", company_id)) / PAGE_SIZE)
        assert sorted(int(e["query"]["page"]) for e in asked) == list(range(1, pages + 1))
    assert len([e for e in log if e["path"] == CATEGORIES]) == sum(
        math.ceil(len(emu.truth("customer_field_categories", cid)) / PAGE_SIZE) for cid in emu.company_ids
    )
    for stream, path in ENTERPRISE_PATHS.items():  # the enterprise's: once per page, no company-id
        asked = [e for e in log if e["path"] == path]
        pages = math.ceil(len(emu.truth(stream)) / PAGE_SIZE)
        assert sorted(int(e["query"]["page"]) for e in asked) == list(range(1, pages + 1))
        assert all(not e["company_id"] for e in asked)


def test_a_company_install_reads_its_categories_complete_and_skips_the_enterprise_lists(company_install):
    emu = company_install
    emu.reset_log()
    config = full_range_config(emu, page_size=PAGE_SIZE)
    # A catalog made for an enterprise (integration_tests/configured_catalog.json does that): on a
    # company install the enterprise's lists are no streams of the source, so they are skipped.
    run = run_connector("read", config, NEW)
    assert run.returncode == 0 and not run.errors(), (run.errors(), run.stderr[-3000:])
    assert_complete(emu, run, "customer_field_categories", config)
    assert run.streams_read() == {"customer_field_categories"}
    assert not [e for e in emu.requests_log() if e["path"].startswith("/v1/enterprise-customers")]


def test_discover_offers_the_enterprise_lists_on_an_enterprise_install_only(enterprise, company_install):
    streams = catalog_streams(run_connector("discover", enterprise.connector_config()))
    assert set(streams) == set(ENTERPRISE_STREAMS)
    assert streams["customer_field_categories"]["source_defined_primary_key"] == [["company_id"], ["id"]]
    for name in ENTERPRISE_ONLY[1:]:
        assert streams[name]["source_defined_primary_key"] == [["id"]]
    for name in NEW:
        assert streams[name]["supported_sync_modes"] == ["full_refresh"]
        has_company = "company_id" in streams[name]["json_schema"]["properties"]
        assert has_company == (name == "customer_field_categories"), name
    single = catalog_streams(run_connector("discover", company_install.connector_config()))
    assert set(single) == set(STREAMS)
    assert "customer_field_categories" in single and not set(ENTERPRISE_ONLY) & set(single)


def test_without_the_enterprises_scope_discover_leaves_out_the_enterprise_lists_and_keeps_the_categories(enterprise):
    enterprise.set_scopes({"Companies", "Events", "Customers", "Services", "Resources"})
    try:
        streams = catalog_streams(run_connector("discover", enterprise.connector_config()))
    finally:
        enterprise.set_scopes({"Companies", "Events", "Customers", "Services", "Resources", "Enterprises"})
    assert set(streams) == set(STREAMS)
