"""Pagination by the contract's robustness rules: meta when present, short page otherwise,
and never an endless loop or duplicated pages on a server that ignores `page`."""

import pytest
import requests_mock

from unit_tests.conftest import COMPANY_A, COMPANY_B, ENTERPRISE, make_config, records_of, run_read
from unit_tests.timify_responses import (
    BASE,
    company,
    object_id,
    page,
    pages,
    register_list,
    register_login,
    register_pages,
    requests_to,
)


@pytest.fixture
def api():
    with requests_mock.Mocker(case_sensitive=True) as mocker:
        register_login(mocker)
        yield mocker


def companies(n):
    return [company(object_id("5f0000000000", i), name=f"company {i}") for i in range(n)]


def company_calls(api):
    return requests_to(api, "/v1/companies")


@pytest.mark.parametrize("total", [5, 6])  # a short last page, and an exact multiple of the page size
def test_meta_total_pages_reads_every_page_and_no_more(api, total):
    listed = companies(total)
    register_list(api, "/v1/companies", listed, limit=2)  # a page 4 would match nothing
    output = run_read(make_config(page_size=2, enterprise_id=None), ["companies"])
    assert not output.errors
    assert [c["id"] for c in records_of(output, "companies")] == [c["id"] for c in listed]
    assert [r.qs["page"] for r in company_calls(api)] == [[str(p)] for p in range(1, 4)]
    assert all(r.qs["limit"] == ["2"] for r in company_calls(api))


def test_legacy_envelope_stops_on_a_short_page(api):
    register_list(api, "/v1/companies", companies(5), limit=2, meta=False)  # {"data"} only
    output = run_read(make_config(page_size=2, enterprise_id=None), ["companies"])
    assert len(records_of(output, "companies")) == 5
    assert len(company_calls(api)) == 3


def test_legacy_envelope_exact_multiple_ends_on_an_empty_page(api):
    register_pages(api, "/v1/companies", pages(companies(4), 2, meta=False) + [{"data": []}], limit=2)
    output = run_read(make_config(page_size=2, enterprise_id=None), ["companies"])
    assert len(records_of(output, "companies")) == 4
    assert len(company_calls(api)) == 3  # pages 1, 2 full; page 3 empty


def test_server_capping_the_page_size_loses_no_record(api):
    # The connector asks for 5 per page, the server sends 2 with meta saying so.
    register_pages(api, "/v1/companies", pages(companies(7), 2), limit=5)
    output = run_read(make_config(page_size=5, enterprise_id=None), ["companies"])
    assert len(records_of(output, "companies")) == 7
    assert len(company_calls(api)) == 4


@pytest.mark.parametrize("legacy", [False, True])
def test_server_ignoring_page_stops_with_a_clear_error_and_no_duplicates(api, legacy):
    listed = companies(6)
    # Page 1, whatever page is asked for.
    api.get(f"{BASE}/v1/companies", json=page(listed[:2], 1, 2, total=6, meta=not legacy))
    output = run_read(make_config(page_size=2, enterprise_id=None), ["companies"], expecting_exception=True)
    ids = [c["id"] for c in records_of(output, "companies")]
    assert len(ids) == len(set(ids)) == 2  # page 1 only; its copy is never emitted
    assert len(company_calls(api)) <= 2 * 9  # page 1 and its copy (plus CDK retries, if any)
    assert any("ignored the `page` parameter" in e.trace.error.message for e in output.errors)


def test_every_company_scoped_request_names_its_company(api):
    register_list(
        api, "/v1/companies", [company(COMPANY_A), company(COMPANY_B)], limit=2, query=f"enterprise_id={ENTERPRISE}"
    )
    paths = [
        "/v1/customers",
        "/v1/services",
        "/v1/resources",
        "/v1/timeshifts",
        "/v1/customers/customfields",
        "/v1/customers/customfields/categories",
    ]
    for path in paths:
        for company_id in (COMPANY_A, COMPANY_B):  # a request without its company-id matches nothing
            register_list(api, path, [], limit=2, company_id=company_id)
    streams = ["customers", "services", "resources", "timeshifts", "customer_fields", "customer_field_categories"]
    output = run_read(make_config(), streams)
    assert not output.errors
    scoped = [
        r for r in api.request_history if r.method == "GET" and r.path.startswith("/v1/") and r.path != "/v1/companies"
    ]
    # 6 streams x 2 companies, and the customers' columns read each company's field definitions
    assert len(scoped) == 14
    assert {r.headers["company-id"] for r in scoped} == {COMPANY_A, COMPANY_B}
