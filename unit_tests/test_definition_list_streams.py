"""The lists of customer field definitions and their categories that TIMIFY's reference documents
besides `customer_fields` (contract section 5), with the real manifest and mocked HTTP:
`customer_field_categories` per company (company-id header, company_id added), and the enterprise's
own `enterprise_customer_fields` and `enterprise_customer_field_categories` (no company-id, offered
on enterprise installs only). Every page is read, and no more."""

import pytest
import requests_mock

from source_timify import SourceTimify
from unit_tests.conftest import COMPANY_A, COMPANY_B, ENTERPRISE, make_config, records_of, run_read
from unit_tests.timify_responses import (
    BASE,
    company,
    field_definition,
    object_id,
    register_list,
    register_login,
)

CATEGORIES = "/v1/customers/customfields/categories"
ENTERPRISE_FIELDS = "/v1/enterprise-customers/customfields"
ENTERPRISE_CATEGORIES = "/v1/enterprise-customers/customfields/categories"
ENTERPRISE_ONLY = {"enterprise_customers", "enterprise_customer_fields", "enterprise_customer_field_categories"}


def category(owner: str, n: int, name: str = "", default: bool = False) -> dict:
    """A customer field category in the contract's decided shape (no real sample exists)."""
    return {
        "id": object_id(owner[12:], 100 + n),  # the owner's last 12 characters: ids differ between owners
        "name": name or f"Category {n}",
        "orderIndex": 999999999 if default else n,
        "isDefault": default,
        "translationKey": None,
        "createdAt": "2025-01-01T00:00:00Z",
        "updatedAt": "2025-02-01T00:00:00Z",
    }


@pytest.fixture
def api():
    with requests_mock.Mocker(case_sensitive=True) as mocker:
        register_login(mocker)
        yield mocker


def as_emitted(record: dict) -> dict:
    """A record as an in-process read shows it: without its null fields (the CLI keeps them: run.py,
    and the integration tests compare those)."""
    return {key: value for key, value in record.items() if value is not None}


def data_requests(api, path):
    return [r for r in api.request_history if r.method == "GET" and r.path == path]


@pytest.mark.parametrize("meta", [True, False])  # paged on meta.totalPages, or on a short page
def test_customer_field_categories_read_every_page_of_every_company_with_its_company_id(api, meta):
    register_list(
        api, "/v1/companies", [company(COMPANY_A), company(COMPANY_B)], limit=2, query=f"enterprise_id={ENTERPRISE}"
    )
    listed = {
        COMPANY_A: [category(COMPANY_A, 0, "default", default=True)] + [category(COMPANY_A, n) for n in range(1, 5)],
        COMPANY_B: [category(COMPANY_B, 0, "default", default=True)] + [category(COMPANY_B, n) for n in (1, 2)],
    }
    for company_id, records in listed.items():  # a request without its company-id matches nothing
        register_list(api, CATEGORIES, records, limit=2, company_id=company_id, meta=meta)
    output = run_read(make_config(page_size=2), ["customer_field_categories"])
    assert not output.errors
    expected = [as_emitted({**record, "company_id": cid}) for cid, records in listed.items() for record in records]
    emitted = records_of(output, "customer_field_categories")

    def key(record):
        return record["company_id"], record["id"]

    assert sorted(emitted, key=key) == sorted(expected, key=key)
    assert len({r["id"] for r in emitted}) == len(expected)
    asked = data_requests(api, CATEGORIES)
    pages = {COMPANY_A: ["1", "2", "3"], COMPANY_B: ["1", "2"]}  # 5 and 3 records, 2 a page
    for company_id, numbers in pages.items():
        of_company = [r for r in asked if r.headers["company-id"] == company_id]
        assert sorted(r.qs["page"][0] for r in of_company) == numbers
        assert all(r.qs["limit"] == ["2"] for r in of_company)
    assert len(asked) == sum(len(numbers) for numbers in pages.values())


@pytest.mark.parametrize(
    "stream, path, records",
    [
        (
            "enterprise_customer_fields",
            ENTERPRISE_FIELDS,
            [field_definition(object_id(ENTERPRISE, n), "TEXT", label=f"Field {n}") for n in range(5)],
        ),
        (
            "enterprise_customer_field_categories",
            ENTERPRISE_CATEGORIES,
            [category(ENTERPRISE, 0, "default", default=True), category(ENTERPRISE, 1), category(ENTERPRISE, 2)],
        ),
    ],
)
def test_the_enterprise_lists_read_every_page_as_the_enterprise_without_a_company(api, stream, path, records):
    register_list(api, path, records, limit=2)
    output = run_read(make_config(page_size=2), [stream])
    assert not output.errors
    assert records_of(output, stream) == [as_emitted(r) for r in records]  # as TIMIFY sent them: no company_id
    asked = data_requests(api, path)
    assert [r.qs["page"] for r in asked] == [[str(n)] for n in range(1, len(records) // 2 + 2)]
    assert all("company-id" not in r.headers for r in asked)
    assert not data_requests(api, "/v1/companies")  # the enterprise's lists need no company list


def test_the_enterprise_lists_exist_on_enterprise_installs_only():
    enterprise = [stream.name for stream in SourceTimify(config=make_config()).streams(make_config())]
    company_config = make_config(enterprise_id=None, company_ids=[COMPANY_A])
    single = [stream.name for stream in SourceTimify(config=company_config).streams(company_config)]
    assert "customer_field_categories" in enterprise and "customer_field_categories" in single
    assert ENTERPRISE_ONLY <= set(enterprise)
    assert not ENTERPRISE_ONLY & set(single)
    assert set(enterprise) - set(single) == ENTERPRISE_ONLY


def test_a_company_install_reads_the_categories_and_never_asks_for_the_enterprise_lists(api):
    register_list(api, "/v1/companies", [company(COMPANY_A)], limit=2)
    register_list(api, CATEGORIES, [category(COMPANY_A, n) for n in range(3)], limit=2, company_id=COMPANY_A)
    config = make_config(enterprise_id=None, company_ids=[COMPANY_A])
    output = run_read(config, ["customer_field_categories", "enterprise_customer_field_categories"])
    assert [r["id"] for r in records_of(output, "customer_field_categories")] == [
        object_id(COMPANY_A[12:], 100 + n) for n in range(3)
    ]
    assert all(r["company_id"] == COMPANY_A for r in records_of(output, "customer_field_categories"))
    assert not records_of(output, "enterprise_customer_field_categories")
    assert not [r for r in api.request_history if r.path.startswith("/v1/enterprise-customers")]
    assert not api.request_history or all(r.url.startswith(BASE) for r in api.request_history)
