"""The access token in the form the server accepts: `Bearer <token>` (TIMIFY's reference) or the raw
token (TIMIFY's older clients), found without a failed sync and without another login."""

import logging

import pytest
import requests_mock
from airbyte_cdk.models import Status

from source_timify import SourceTimify
from unit_tests.conftest import make_config, records_of, run_read
from unit_tests.timify_responses import BASE, company, error, login, page, requests_to

COMPANY = "5f0000000000000000000001"
TOKEN = "access-token-0001"
SERVICES = [{"id": f"5a00000000000000000000{n:02d}", "name": f"Service {n}"} for n in range(5)]


def _server(mocker, accepts, login_body=None):
    """TIMIFY accepting the token in the forms `accepts` ("raw", "Bearer"), refusing others with 401.
    Returns the list of refused requests' `authorization` headers."""
    forms = {"raw": TOKEN, "Bearer": f"Bearer {TOKEN}"}
    allowed = {forms[form] for form in accepts}
    refused = []

    def answer(body):
        def callback(request, context):
            if request.headers.get("authorization") not in allowed:
                refused.append(request.headers.get("authorization"))
                context.status_code = 401
                return error("TOKEN_INVALID", "The access token is not valid")
            return body

        return callback

    mocker.post(f"{BASE}/v1/auth/token", json=login_body or login(TOKEN))
    mocker.get(f"{BASE}/v1/companies", json=answer(page([company(COMPANY)])))
    for n in range(1, 4):
        mocker.get(
            f"{BASE}/v1/services?page={n}&limit=2", json=answer(page(SERVICES[(n - 1) * 2 : n * 2], n, 2, total=5))
        )
    return refused


@pytest.mark.parametrize("accepts", [("Bearer",), ("raw",), ("raw", "Bearer")], ids=["bearer-only", "raw-only", "both"])
def test_a_complete_sync_with_one_login_whatever_form_the_server_accepts(accepts):
    with requests_mock.Mocker() as mocker:
        refused = _server(mocker, accepts)
        output = run_read(make_config(enterprise_id=None, page_size=2, num_workers=1), ["companies", "services"])
    assert not output.errors
    assert len(records_of(output, "services")) == 5
    assert len(requests_to(mocker, "/v1/auth/token")) == 1
    sent = [r.headers["authorization"] for r in mocker.request_history if r.method == "GET"]
    assert refused == ([] if "Bearer" in accepts else [f"Bearer {TOKEN}"])  # one refused request at most
    assert sent[-1] == (f"Bearer {TOKEN}" if "Bearer" in accepts else TOKEN)


def test_many_workers_refused_in_the_bearer_form_switch_once_without_logging_in_again():
    with requests_mock.Mocker() as mocker:
        _server(mocker, ("raw",))
        output = run_read(
            make_config(enterprise_id=None, page_size=2, num_workers=8), ["companies", "services", "customer_fields"]
        )
    assert not [
        e
        for e in output.errors
        if e.trace.error.stream_descriptor and e.trace.error.stream_descriptor.name == "services"
    ]
    assert len(records_of(output, "services")) == 5
    assert len(requests_to(mocker, "/v1/auth/token")) == 1


@pytest.mark.parametrize("accepts", [("Bearer",), ("raw",)], ids=["bearer-only", "raw-only"])
def test_check_succeeds_whatever_form_the_server_accepts(accepts):
    config = make_config(enterprise_id=None)
    with requests_mock.Mocker() as mocker:
        _server(mocker, accepts)
        status = SourceTimify(config=config).check(logging.getLogger("airbyte"), config)
    assert status.status == Status.SUCCEEDED, status.message


@pytest.mark.parametrize(
    "body",
    [
        {"token": TOKEN, "expires": 3600},
        {"data": {"accessToken": TOKEN, "refreshToken": "refresh-token-0001", "expires": 3600}},
        {"data": {"token": TOKEN}},
    ],
    ids=["token", "data.accessToken", "data.token"],
)
def test_the_token_is_read_from_accessToken_or_token_also_under_data(body):
    with requests_mock.Mocker() as mocker:
        _server(mocker, ("raw", "Bearer"), login_body=body)
        output = run_read(make_config(enterprise_id=None, page_size=2), ["services"])
    assert not output.errors
    assert len(records_of(output, "services")) == 5
    assert all(TOKEN not in message.log.message for message in output.logs)
