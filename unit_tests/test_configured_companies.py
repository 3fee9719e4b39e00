"""`company_ids` is checked against the whole companies list, however many pages it has."""

import logging

import pytest
import requests_mock
from airbyte_cdk.models import FailureType, Status

from source_timify import SourceTimify
from unit_tests.conftest import make_config, records_of, run_read
from unit_tests.timify_responses import company, object_id, register_list, register_login, requests_to

ENTERPRISE = "5e0000000000000000000001"
COMPANIES = [company(object_id("5f0000000000", n), name=f"Branch {n}") for n in range(1, 6)]  # 3 pages of 2


@pytest.fixture
def api():
    with requests_mock.Mocker() as mocker:
        register_login(mocker)
        register_list(mocker, "/v1/companies", COMPANIES, limit=2, query=f"enterprise_id={ENTERPRISE}")
        yield mocker


def test_a_company_id_listed_on_the_last_page_is_synced(api):
    wanted = COMPANIES[4]["id"]
    output = run_read(make_config(enterprise_id=ENTERPRISE, page_size=2, company_ids=[wanted]), ["companies"])
    assert not output.errors
    assert [c["id"] for c in records_of(output, "companies")] == [wanted]
    assert len(requests_to(api, "/v1/companies")) == 3


def test_a_company_id_missing_from_every_page_is_a_config_error_naming_it(api):
    stranger = "0123456789abcdef01234567"
    config = make_config(enterprise_id=ENTERPRISE, page_size=2, company_ids=[COMPANIES[0]["id"], stranger])
    output = run_read(config, ["companies"], expecting_exception=True)
    errors = [message.trace.error for message in output.errors]
    assert errors and all(error.failure_type == FailureType.config_error for error in errors)
    assert stranger in errors[0].message and "company_ids" in errors[0].message
    assert COMPANIES[0]["id"] not in errors[0].message
    assert len(requests_to(api, "/v1/companies")) == 3  # decided only once the last page was read


def test_company_ids_spread_over_several_pages_are_all_synced(api):
    wanted = [COMPANIES[0]["id"], COMPANIES[3]["id"], COMPANIES[4]["id"]]
    output = run_read(make_config(enterprise_id=ENTERPRISE, page_size=2, company_ids=wanted), ["companies"])
    assert not output.errors
    assert sorted(c["id"] for c in records_of(output, "companies")) == sorted(wanted)


def test_check_fails_on_a_company_id_missing_from_every_page_and_names_it(api):
    stranger = "0123456789abcdef01234567"
    config = make_config(enterprise_id=ENTERPRISE, page_size=2, company_ids=[COMPANIES[0]["id"], stranger])
    status = SourceTimify(config=config).check(logging.getLogger("airbyte"), config)
    assert status.status == Status.FAILED
    assert stranger in status.message and "company_ids" in status.message


def test_check_succeeds_when_every_company_id_is_on_some_page(api):
    config = make_config(enterprise_id=ENTERPRISE, page_size=2, company_ids=[COMPANIES[0]["id"], COMPANIES[4]["id"]])
    status = SourceTimify(config=config).check(logging.getLogger("airbyte"), config)
    assert status.status == Status.SUCCEEDED, status.message
