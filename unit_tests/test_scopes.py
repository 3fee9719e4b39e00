"""Scope-aware discover and check (scopes.py), with the real manifest and mocked HTTP: one request
per scope, only a 403 leaves streams out, a transient answer keeps them, the log names the scope."""

import logging

import pytest
import requests_mock
from airbyte_cdk.models import Status
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_timify import SourceTimify
from source_timify.scopes import stream_scopes
from unit_tests.conftest import ALL_STREAMS, COMPANY_A, ENTERPRISE_ONLY, make_config
from unit_tests.timify_responses import BASE, company, page, register_login, requests_to


class Api:
    """An enterprise of one company (A) whose every list is empty; tests refuse paths over it."""

    PATHS = (
        "/v1/appointments",
        "/v1/customers",
        "/v1/customers/customfields",
        "/v1/customers/customfields/categories",
        "/v1/services",
        "/v1/resources",
        "/v1/timeshifts",
        "/v1/enterprise-customers",
        "/v1/enterprise-customers/customfields",
        "/v1/enterprise-customers/customfields/categories",
    )

    def __init__(self, mocker):
        self.mocker = mocker
        register_login(mocker)
        mocker.get(f"{BASE}/v1/companies", json=page([company(COMPANY_A)]))
        for path in self.PATHS:
            mocker.get(f"{BASE}{path}", json=page([]))

    def data_requests(self, path=""):
        return [r for r in self.mocker.request_history if r.method == "GET" and r.path.startswith(path or "/v1/")]

    @property
    def logins(self):
        return len(requests_to(self.mocker, "/v1/auth/token"))


@pytest.fixture
def api():
    with requests_mock.Mocker() as mocker:
        yield Api(mocker)


def refuse(api, path, scope):
    api.mocker.get(
        f"{BASE}{path}",
        status_code=403,
        json={"status": 0, "error": {"code": "FORBIDDEN", "message": f"The app is not granted the {scope} scope"}},
    )


def discovered(config):
    source = SourceTimify(config=config)
    return [stream.name for stream in source.discover(logging.getLogger("airbyte"), config).streams]


def test_the_manifest_states_the_scope_of_every_stream():
    scopes = stream_scopes(SourceTimify(config=make_config()).resolved_manifest)
    assert scopes == {
        "companies": "Companies",
        "appointments": "Events",
        "customers": "Customers",
        "customer_fields": "Customers",
        "customer_field_categories": "Customers",
        "services": "Services",
        "resources": "Resources",
        "timeshifts": "Resources",
        "enterprise_customers": "Enterprises",
        "enterprise_customer_fields": "Enterprises",
        "enterprise_customer_field_categories": "Enterprises",
    }


def test_discover_with_every_scope_offers_every_stream_after_one_request_per_scope(api):
    assert discovered(make_config()) == ALL_STREAMS
    companies = api.data_requests("/v1/companies")[0]
    assert companies.qs["enterprise_id"] == ["5e0000000000000000000001"]  # a string, not a number
    # Besides the probes, discover reads the custom field definitions (the customers' columns:
    # custom_fields.py), once for the company and once for the enterprise.
    definitions = ("/v1/customers/customfields", "/v1/enterprise-customers/customfields")
    assert sorted(r.path for r in api.data_requests() if r.path in definitions) == sorted(definitions)
    probes = [
        r
        for r in api.data_requests()
        if r.path not in definitions and r.path != "/v1/companies" or r.qs.get("limit") == ["1"]
    ]
    paths = [r.path for r in probes]
    assert sorted(paths) == sorted(
        [
            "/v1/companies",
            "/v1/appointments",
            "/v1/customers",
            "/v1/services",
            "/v1/resources",
            "/v1/enterprise-customers",
        ]
    )
    for request in probes:
        assert request.qs["page"] == ["1"] and request.qs["limit"] == ["1"]
        if request.path != "/v1/companies" and request.path != "/v1/enterprise-customers":
            assert request.headers["company-id"] == COMPANY_A  # the first company listed
    assert api.logins == 1


@pytest.mark.parametrize(
    "path, scope, left_out",
    [
        ("/v1/appointments", "Events", {"appointments"}),
        ("/v1/customers", "Customers", {"customers", "customer_fields", "customer_field_categories"}),
        ("/v1/services", "Services", {"services"}),
        ("/v1/resources", "Resources", {"resources", "timeshifts"}),
        ("/v1/enterprise-customers", "Enterprises", set(ENTERPRISE_ONLY)),
        ("/v1/companies", "Companies", set(ALL_STREAMS) - set(ENTERPRISE_ONLY)),
    ],
)
def test_discover_leaves_out_the_streams_of_a_refused_scope_and_logs_which_to_grant(api, caplog, path, scope, left_out):
    refuse(api, path, scope)
    with caplog.at_level(logging.INFO, logger="airbyte"):
        streams = discovered(make_config())
    assert streams == [name for name in ALL_STREAMS if name not in left_out]
    warning = next(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert f"lacks the {scope} scope" in warning and f"Grant the app the {scope} scope" in warning
    assert all(name in warning for name in left_out)


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_transient_answer_keeps_the_streams_and_says_so(api, caplog, status):
    api.mocker.get(f"{BASE}/v1/services", status_code=status, headers={"Retry-After": "1"}, content=b"")
    with caplog.at_level(logging.INFO, logger="airbyte"):
        assert discovered(make_config()) == ALL_STREAMS
    assert len(api.data_requests("/v1/services")) == 3  # tried again, then given up on
    warning = next(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "Services scope" in warning and "discover keeps them" in warning and f"HTTP {status}" in warning


def test_a_company_list_that_cannot_be_read_keeps_every_stream(api, caplog):
    api.mocker.get(f"{BASE}/v1/companies", status_code=503, content=b"")
    with caplog.at_level(logging.INFO, logger="airbyte"):
        assert discovered(make_config()) == ALL_STREAMS
    assert api.data_requests("/v1/appointments") == []  # nothing to ask the company-scoped scopes with


def test_a_company_install_without_the_companies_scope_fails_discover_naming_it(api):
    refuse(api, "/v1/companies", "Companies")
    with pytest.raises(AirbyteTracedException) as raised:
        discovered(make_config(enterprise_id=None))
    assert "Companies" in raised.value.message and "Scopes" in raised.value.message


def test_refused_credentials_fail_discover_with_the_login_sentence(api):
    api.mocker.post(
        f"{BASE}/v1/auth/token",
        status_code=401,
        json={"status": 0, "error": {"code": "INVALID_CREDENTIALS", "message": "no"}},
    )
    with pytest.raises(AirbyteTracedException) as raised:
        discovered(make_config())
    assert "App Secret" in raised.value.message


def test_check_succeeds_without_a_scope_and_logs_the_missing_one(api, caplog):
    refuse(api, "/v1/appointments", "Events")
    config = make_config()
    with caplog.at_level(logging.INFO, logger="airbyte"):
        status = SourceTimify(config=config).check(logging.getLogger("airbyte"), config)
    assert status.status == Status.SUCCEEDED
    assert any(
        "lacks the Events scope" in r.getMessage() and "appointments cannot be synced" in r.getMessage()
        for r in caplog.records
    )


def test_a_stream_whose_scope_was_removed_fails_its_read_with_a_config_error_naming_the_scope(api):
    from airbyte_cdk.models import FailureType

    from unit_tests.conftest import run_read

    api.mocker.get(
        f"{BASE}/v1/appointments",
        status_code=403,
        json={"status": 0, "error": {"code": "FORBIDDEN", "message": "Forbidden"}},
    )
    output = run_read(make_config(enterprise_id=None), ["appointments"], expecting_exception=True)
    error = output.errors[0].trace.error
    assert error.failure_type == FailureType.config_error
    assert "Grant the app the Events scope" in error.message
