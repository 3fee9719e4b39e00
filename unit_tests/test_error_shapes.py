"""Every error a user sees carries TIMIFY's own message, whatever the body's shape: the reference's
flat `{"error": "<message>", ...}`, the older nested `{"error": {"code", "message"}}`, HTML or
nothing; never an attribute error from a template, never a traceback."""

import logging

import pytest
import requests
import requests_mock
from airbyte_cdk.models import FailureType, Status

from source_timify import SourceTimify
from source_timify.timify import error_text
from unit_tests.conftest import make_config, run_read
from unit_tests.timify_responses import BASE, company, error, login, page

COMPANY = "5f0000000000000000000001"
MESSAGE = "The app is not granted the Services scope"


def flat(message, code="FORBIDDEN", name="ForbiddenError"):
    return {"error": message, "name": name, "errorCode": code, "details": {}, "extras": None}


def _response(content: bytes, status: int = 403, content_type: str = "application/json") -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = content
    response.headers["Content-Type"] = content_type
    return response


@pytest.mark.parametrize(
    "content, content_type, said",
    [
        (
            b'{"error": "The date window spans 400 days", "name": "BadRequestError", "errorCode": "BAD_REQUEST"}',
            "application/json",
            "The date window spans 400 days",
        ),
        (b'{"status": 0, "error": {"code": "FORBIDDEN", "message": "No access"}}', "application/json", "No access"),
        (b'{"status": 0, "error": {"code": "FORBIDDEN"}}', "application/json", "FORBIDDEN"),
        (b'{"message": "Too many requests"}', "application/json", "Too many requests"),
        (b'{"error": "", "errorCode": "BAD_REQUEST"}', "application/json", "BAD_REQUEST"),
        (b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", "text/html", "502 Bad Gateway"),
        (b"<html><body><h1>Service Unavailable</h1></body></html>", "text/html", "Service Unavailable"),
        (b"upstream connect error", "text/plain", "upstream connect error"),
        (b"", "application/json", ""),
        (b"<html><body>oops</body></html>", "text/html", ""),
    ],
    ids=[
        "flat",
        "nested",
        "nested-code-only",
        "message",
        "flat-empty-message",
        "html-title",
        "html-h1",
        "text",
        "empty",
        "html-bare",
    ],
)
def test_error_text_reads_timifys_message_from_any_body(content, content_type, said):
    assert error_text(_response(content, content_type=content_type)) == said


def _read_services(mocker, status, **answer):
    mocker.post(f"{BASE}/v1/auth/token", json=login())
    mocker.get(f"{BASE}/v1/companies", json=page([company(COMPANY)]))
    mocker.get(f"{BASE}/v1/services", status_code=status, **answer)
    return run_read(make_config(enterprise_id=None), ["services"], expecting_exception=True)


@pytest.mark.parametrize(
    "answer, said",
    [
        ({"json": flat(MESSAGE)}, MESSAGE),
        ({"json": error("FORBIDDEN", MESSAGE)}, MESSAGE),
        (
            {"text": "<html><title>Forbidden by policy</title></html>", "headers": {"Content-Type": "text/html"}},
            "Forbidden by policy",
        ),
        ({"text": ""}, "HTTP 403"),
    ],
    ids=["flat", "nested", "html", "empty"],
)
def test_a_403_names_the_company_and_carries_timifys_message_in_either_shape(answer, said):
    with requests_mock.Mocker() as mocker:
        output = _read_services(mocker, 403, **answer)
    errors = [m.trace.error for m in output.errors if m.trace.error.stream_descriptor]
    assert errors and errors[0].failure_type == FailureType.config_error
    message = errors[0].message
    assert message.startswith(f"Company {COMPANY}: TIMIFY refused /v1/services: {said}.")
    assert "Scopes" in message and "{" not in message and "object has no attribute" not in message


@pytest.mark.parametrize(
    "body",
    [
        flat("page must be a non-negative integer", "BAD_REQUEST", "BadRequestError"),
        error("BAD_REQUEST", "page must be a non-negative integer"),
    ],
    ids=["flat", "nested"],
)
def test_a_400_carries_timifys_reason_in_either_shape(body):
    with requests_mock.Mocker() as mocker:
        output = _read_services(mocker, 400, json=body)
    message = [m.trace.error for m in output.errors if m.trace.error.stream_descriptor][0].message
    assert "as invalid: page must be a non-negative integer." in message


@pytest.mark.parametrize(
    "body",
    [
        flat("The App ID or App Secret is not valid", "INVALID_CREDENTIALS", "UnauthorizedError"),
        error("INVALID_CREDENTIALS", "The App ID or App Secret is not valid"),
    ],
    ids=["flat", "nested"],
)
def test_a_refused_login_says_what_timify_said_in_either_shape(body):
    config = make_config(enterprise_id=None)
    with requests_mock.Mocker() as mocker:
        mocker.post(f"{BASE}/v1/auth/token", status_code=401, json=body)
        status = SourceTimify(config=config).check(logging.getLogger("airbyte"), config)
    assert status.status == Status.FAILED
    assert status.message.startswith(
        "TIMIFY rejected the App ID or App Secret (TIMIFY said: The App ID or App Secret is not valid):"
    )
    assert "Traceback" not in status.message


def test_check_reports_a_flat_403_on_the_companies_list_with_timifys_message():
    config = make_config(enterprise_id=None)
    with requests_mock.Mocker() as mocker:
        mocker.post(f"{BASE}/v1/auth/token", json=login())
        mocker.get(f"{BASE}/v1/companies", status_code=403, json=flat("The app is not granted the Companies scope"))
        status = SourceTimify(config=config).check(logging.getLogger("airbyte"), config)
    assert status.status == Status.FAILED
    assert status.message.startswith("TIMIFY refused /v1/companies: The app is not granted the Companies scope.")
