"""Pagination by the contract's robustness rules: meta when present, short page otherwise,
and never an endless loop or duplicated pages on a server that ignores `page`."""

import pytest

from unit_tests.conftest import COMPANY_A, COMPANY_B, make_config, records_of, run_read


def companies(n):
    return [{"id": f"5f{i:022x}", "name": f"company {i}"} for i in range(n)]


def company_calls(timify):
    return [r for r in timify.data_requests("/v1/companies")]


@pytest.mark.parametrize("total", [5, 6])  # a short last page, and an exact multiple of the page size
def test_meta_total_pages_reads_every_page_and_no_more(timify, total):
    timify.companies = companies(total)
    output = run_read(make_config(page_size=2, enterprise_id=None), ["companies"])
    assert [c["id"] for c in records_of(output, "companies")] == [c["id"] for c in timify.companies]
    assert [r.qs["page"] for r in company_calls(timify)] == [[str(p)] for p in range(1, 4)]
    assert all(r.qs["limit"] == ["2"] for r in company_calls(timify))


def test_legacy_envelope_stops_on_a_short_page(timify):
    timify.legacy_envelope = True
    timify.companies = companies(5)
    output = run_read(make_config(page_size=2, enterprise_id=None), ["companies"])
    assert len(records_of(output, "companies")) == 5
    assert len(company_calls(timify)) == 3


def test_legacy_envelope_exact_multiple_ends_on_an_empty_page(timify):
    timify.legacy_envelope = True
    timify.companies = companies(4)
    output = run_read(make_config(page_size=2, enterprise_id=None), ["companies"])
    assert len(records_of(output, "companies")) == 4
    assert len(company_calls(timify)) == 3  # pages 1, 2 full; page 3 empty


def test_server_capping_the_page_size_loses_no_record(timify):
    timify.max_page_size = 2  # the connector asks for 5 per page, the server sends 2 with meta
    timify.companies = companies(7)
    output = run_read(make_config(page_size=5, enterprise_id=None), ["companies"])
    assert len(records_of(output, "companies")) == 7
    assert len(company_calls(timify)) == 4


@pytest.mark.parametrize("legacy", [False, True])
def test_server_ignoring_page_stops_with_a_clear_error_and_no_duplicates(timify, legacy):
    timify.ignore_page = True
    timify.legacy_envelope = legacy
    timify.companies = companies(6)
    output = run_read(make_config(page_size=2, enterprise_id=None), ["companies"], expecting_exception=True)
    ids = [c["id"] for c in records_of(output, "companies")]
    assert len(ids) == len(set(ids)) == 2  # page 1 only; its copy is never emitted
    assert len(company_calls(timify)) <= 2 * 9  # page 1 and its copy (plus CDK retries, if any)
    assert any("ignored the `page` parameter" in e.trace.error.message for e in output.errors)


def test_every_company_scoped_request_names_its_company(timify):
    output = run_read(make_config(), ["customers", "services", "resources", "timeshifts", "customer_fields"])
    assert not output.errors
    scoped = [r for r in timify.data_requests() if not r.path.startswith("/v1/companies")]
    assert len(scoped) == 10  # 5 streams x 2 companies
    assert {r.headers["company-id"] for r in scoped} == {COMPANY_A, COMPANY_B}
