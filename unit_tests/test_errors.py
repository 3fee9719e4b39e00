"""HTTP errors: 429 waits as Retry-After says, 5xx and unreadable pages are retried,
400/403 become config errors that say what to fix."""

import pytest
import requests_mock
from airbyte_cdk.models import FailureType

from unit_tests.conftest import COMPANY_A, COMPANY_B, ENTERPRISE, days_from_today, make_config, records_of, run_read
from unit_tests.timify_responses import (
    BASE,
    appointment,
    company,
    error,
    page,
    register_list,
    register_login,
    register_page,
    requests_to,
    window_query,
)

TODAY = days_from_today(0)
# A company install, one company, and one appointment window: today.
CONFIG = make_config(enterprise_id=None, start_date=TODAY, lookahead_days=0, page_size=2)
WINDOW = window_query(TODAY, TODAY)
FORBIDDEN = {"status_code": 403, "json": error("FORBIDDEN", "The app is not granted the Events scope")}


def appointments(n):
    return [appointment(COMPANY_A, i, f"{TODAY}T10:00:00Z") for i in range(n)]


def serve(mocker, answers, n=3):
    """Company A with `n` appointments today, whose page 1 is answered by `answers` in turn (a
    list of requests-mock responses) before the real page; the other pages as they are."""
    register_login(mocker)
    register_list(mocker, "/v1/companies", [company(COMPANY_A)], 2)
    records = appointments(n)
    pages = [records[i : i + 2] for i in range(0, n, 2)] or [[]]
    for number, chunk in enumerate(pages, start=1):
        body = page(chunk, number, 2, total=n)
        answer = (answers + [{"json": body}]) if number == 1 else body
        register_page(mocker, "/v1/appointments", number, 2, answer, WINDOW, COMPANY_A)
    return records


def test_rate_limit_waits_for_retry_after_then_completes(no_backoff_sleep):
    limited = {"status_code": 429, "json": error("RATE_LIMITED", "slow down"), "headers": {"Retry-After": "7"}}
    with requests_mock.Mocker() as mocker:
        serve(mocker, [limited])
        output = run_read(CONFIG, ["appointments"])
    assert not output.errors
    assert len(records_of(output, "appointments")) == 3
    assert any(7 <= wait <= 8 for wait in no_backoff_sleep)
    assert len(requests_to(mocker, "/v1/appointments")) == 3  # the refused page 1, page 1, page 2


@pytest.mark.parametrize(
    "status, body",
    [
        (500, b'{"status": 0, "error": {"code": "INTERNAL"}}'),
        (502, b"<html>bad gateway</html>"),
        (503, b""),
        (504, b""),
    ],
)
def test_server_errors_are_retried(status, body):
    failing = {"status_code": status, "content": body}
    with requests_mock.Mocker() as mocker:
        serve(mocker, [failing, failing])
        output = run_read(CONFIG, ["appointments"])
    assert not output.errors
    assert len(records_of(output, "appointments")) == 3
    assert len(requests_to(mocker, "/v1/appointments")) == 4


def test_malformed_json_page_is_retried_not_taken_as_the_end():
    with requests_mock.Mocker() as mocker:
        serve(mocker, [{"content": b'{"data": [{"id": "trunc'}], n=5)
        output = run_read(CONFIG, ["appointments"])
    assert not output.errors
    assert len(records_of(output, "appointments")) == 5


def test_missing_scope_is_a_config_error_naming_the_scope():
    with requests_mock.Mocker() as mocker:
        serve(mocker, [FORBIDDEN])
        output = run_read(CONFIG, ["appointments"], expecting_exception=True)
    error_message = output.errors[0].trace.error
    assert error_message.failure_type == FailureType.config_error
    assert "Events scope" in error_message.message and "Scopes" in error_message.message


def test_bad_request_is_a_config_error_with_timifys_reason():
    with requests_mock.Mocker() as mocker:
        register_login(mocker)
        mocker.get(f"{BASE}/v1/companies", status_code=400, json=error("BAD_REQUEST", "enterprise_id is not valid"))
        output = run_read(make_config(), ["companies"], expecting_exception=True)
    error_message = output.errors[0].trace.error
    assert error_message.failure_type == FailureType.config_error
    assert "enterprise_id is not valid" in error_message.message


def test_company_ids_entry_the_app_cannot_see_is_a_config_error():
    stranger = "0123456789abcdef01234567"
    with requests_mock.Mocker() as mocker:
        register_login(mocker)
        register_list(
            mocker, "/v1/companies", [company(COMPANY_A), company(COMPANY_B)], 2, f"enterprise_id={ENTERPRISE}"
        )
        output = run_read(make_config(company_ids=[stranger]), ["companies"], expecting_exception=True)
    error_message = output.errors[0].trace.error
    assert error_message.failure_type == FailureType.config_error
    assert stranger in error_message.message and "company_ids" in error_message.message


def test_a_sustained_outage_stops_the_sync_instead_of_retrying_every_partition(monkeypatch):
    from source_timify import errors as error_handler

    clock = [0.0]
    monkeypatch.setattr(error_handler.time, "monotonic", lambda: clock[0])
    config = make_config(enterprise_id=None)  # 2 companies, 12 windows each from 2026-01-01

    def down(request, context):
        clock[0] += 20  # each failed attempt (with its backoff) takes 20 s
        context.status_code = 503
        return b""

    with requests_mock.Mocker() as mocker:
        register_login(mocker)
        register_list(mocker, "/v1/companies", [company(COMPANY_A), company(COMPANY_B)], 2)
        mocker.get(f"{BASE}/v1/appointments", content=down)
        output = run_read(config, ["appointments"], expecting_exception=True)
    errors = [e.trace.error for e in output.errors if e.trace.error.stream_descriptor]
    assert errors and all(e.failure_type == FailureType.transient_error for e in errors)
    assert any("only with server errors" in e.message for e in errors)
    # Without the cutoff: 12 windows x 2 companies x 9 attempts = 216 calls.
    assert len(requests_to(mocker, "/v1/appointments")) < 40


def test_refused_credentials_are_not_tried_again_by_every_stream():
    with requests_mock.Mocker() as mocker:
        mocker.post(f"{BASE}/v1/auth/token", status_code=401, json=error("INVALID_CREDENTIALS", "Invalid"))
        output = run_read(
            make_config(), ["companies", "appointments", "customers", "services"], expecting_exception=True
        )
    assert len(requests_to(mocker, "/v1/auth/token")) == 1
    assert all("App Secret" in e.trace.error.message for e in output.errors)
