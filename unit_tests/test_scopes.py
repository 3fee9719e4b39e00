"""Scope-aware discover and check (scopes.py), with the real manifest and mocked HTTP: one request
per scope, only a 403 leaves streams out, a transient answer keeps them, the log names the scope."""

import logging

import pytest
from airbyte_cdk.models import Status
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_timify import SourceTimify
from source_timify.scopes import stream_scopes
from unit_tests.conftest import BASE, COMPANY_A, make_config

ALL = ["companies", "appointments", "customers", "customer_fields", "services", "resources", "timeshifts", "enterprise_customers"]


def refuse(timify, path, scope):
    timify.mocker.get(f"{BASE}{path}", status_code=403, json={"status": 0, "error": {"code": "FORBIDDEN", "message": f"The app is not granted the {scope} scope"}})


def discovered(config):
    source = SourceTimify(config=config)
    return [stream.name for stream in source.discover(logging.getLogger("airbyte"), config).streams]


def test_the_manifest_states_the_scope_of_every_stream():
    scopes = stream_scopes(SourceTimify(config=make_config()).resolved_manifest)
    assert scopes == {
        "companies": "Companies", "appointments": "Events", "customers": "Customers", "customer_fields": "Customers",
        "services": "Services", "resources": "Resources", "timeshifts": "Resources", "enterprise_customers": "Enterprises",
    }


def test_discover_with_every_scope_offers_every_stream_after_one_request_per_scope(timify):
    assert discovered(make_config()) == ALL
    companies = timify.data_requests("/v1/companies")[0]
    assert companies.qs["enterprise_id"] == ["5e0000000000000000000001"]  # a string, not a number
    paths = [r.path for r in timify.data_requests()]
    assert sorted(paths) == sorted(["/v1/companies", "/v1/appointments", "/v1/customers", "/v1/services", "/v1/resources", "/v1/enterprise-customers"])
    for request in timify.data_requests():
        assert request.qs["page"] == ["1"] and request.qs["limit"] == ["1"]
        if request.path != "/v1/companies" and request.path != "/v1/enterprise-customers":
            assert request.headers["company-id"] == COMPANY_A  # the first company listed
    assert timify.logins == 1


@pytest.mark.parametrize(
    "path, scope, left_out",
    [
        ("/v1/appointments", "Events", {"appointments"}),
        ("/v1/customers", "Customers", {"customers", "customer_fields"}),
        ("/v1/services", "Services", {"services"}),
        ("/v1/resources", "Resources", {"resources", "timeshifts"}),
        ("/v1/enterprise-customers", "Enterprises", {"enterprise_customers"}),
        ("/v1/companies", "Companies", set(ALL) - {"enterprise_customers"}),
    ],
)
def test_discover_leaves_out_the_streams_of_a_refused_scope_and_logs_which_to_grant(timify, caplog, path, scope, left_out):
    refuse(timify, path, scope)
    with caplog.at_level(logging.INFO, logger="airbyte"):
        streams = discovered(make_config())
    assert streams == [name for name in ALL if name not in left_out]
    warning = next(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert f"lacks the {scope} scope" in warning and f"Grant the app the {scope} scope" in warning
    assert all(name in warning for name in left_out)


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_transient_answer_keeps_the_streams_and_says_so(timify, caplog, status):
    timify.mocker.get(f"{BASE}/v1/services", status_code=status, headers={"Retry-After": "1"}, content=b"")
    with caplog.at_level(logging.INFO, logger="airbyte"):
        assert discovered(make_config()) == ALL
    assert len(timify.data_requests("/v1/services")) == 3  # tried again, then given up on
    warning = next(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "Services scope" in warning and "discover keeps them" in warning and f"HTTP {status}" in warning


def test_a_company_list_that_cannot_be_read_keeps_every_stream(timify, caplog):
    timify.mocker.get(f"{BASE}/v1/companies", status_code=503, content=b"")
    with caplog.at_level(logging.INFO, logger="airbyte"):
        assert discovered(make_config()) == ALL
    assert timify.data_requests("/v1/appointments") == []  # nothing to ask the company-scoped scopes with


def test_a_company_install_without_the_companies_scope_fails_discover_naming_it(timify):
    refuse(timify, "/v1/companies", "Companies")
    with pytest.raises(AirbyteTracedException) as raised:
        discovered(make_config(enterprise_id=None))
    assert "Companies" in raised.value.message and "Scopes" in raised.value.message


def test_refused_credentials_fail_discover_with_the_login_sentence(timify):
    timify.mocker.post(f"{BASE}/v1/auth/token", status_code=401, json={"status": 0, "error": {"code": "INVALID_CREDENTIALS", "message": "no"}})
    with pytest.raises(AirbyteTracedException) as raised:
        discovered(make_config())
    assert "App Secret" in raised.value.message


def test_check_succeeds_without_a_scope_and_logs_the_missing_one(timify, caplog):
    refuse(timify, "/v1/appointments", "Events")
    config = make_config()
    with caplog.at_level(logging.INFO, logger="airbyte"):
        status = SourceTimify(config=config).check(logging.getLogger("airbyte"), config)
    assert status.status == Status.SUCCEEDED
    assert any("lacks the Events scope" in r.getMessage() and "appointments cannot be synced" in r.getMessage() for r in caplog.records)


def test_a_stream_whose_scope_was_removed_fails_its_read_with_a_config_error_naming_the_scope(timify):
    from airbyte_cdk.models import FailureType

    from unit_tests.conftest import run_read

    timify.mocker.get(f"{BASE}/v1/appointments", status_code=403, json={"status": 0, "error": {"code": "FORBIDDEN", "message": "Forbidden"}})
    output = run_read(make_config(enterprise_id=None), ["appointments"], expecting_exception=True)
    error = output.errors[0].trace.error
    assert error.failure_type == FailureType.config_error
    assert "Grant the app the Events scope" in error.message
