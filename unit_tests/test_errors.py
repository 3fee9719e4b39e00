"""HTTP errors: 429 waits as Retry-After says, 5xx and unreadable pages are retried,
400/403 become config errors that say what to fix."""

import json

import pytest
from airbyte_cdk.models import FailureType

from unit_tests.conftest import BASE, COMPANY_A, appointment, make_config, records_of, run_read

FORBIDDEN = (403, {"status": 0, "error": {"code": "FORBIDDEN", "message": "The app is not granted the Events scope"}}, {})


def with_appointments(timify, n=3):
    timify.appointments[COMPANY_A] = [appointment(COMPANY_A, i, "2026-01-05T10:00:00Z") for i in range(n)]


def test_rate_limit_waits_for_retry_after_then_completes(timify, no_backoff_sleep):
    with_appointments(timify)
    timify.scripted = {2: (429, {"status": 0, "error": {"code": "RATE_LIMITED", "message": "slow down"}}, {"Retry-After": "7"})}
    output = run_read(make_config(enterprise_id=None), ["appointments"])
    assert not output.errors
    assert len(records_of(output, "appointments")) == 3
    assert any(7 <= wait <= 8 for wait in no_backoff_sleep)


@pytest.mark.parametrize(
    "status, body",
    [(500, b'{"status": 0, "error": {"code": "INTERNAL"}}'), (502, b"<html>bad gateway</html>"), (503, b""), (504, b"")],
)
def test_server_errors_are_retried(timify, status, body):
    with_appointments(timify)
    timify.scripted = {2: (status, body, {}), 3: (status, body, {})}
    output = run_read(make_config(enterprise_id=None), ["appointments"])
    assert not output.errors
    assert len(records_of(output, "appointments")) == 3


def test_malformed_json_page_is_retried_not_taken_as_the_end(timify):
    with_appointments(timify, n=5)
    timify.scripted = {3: (200, b'{"data": [{"id": "trunc', {})}
    output = run_read(make_config(enterprise_id=None, page_size=2), ["appointments"])
    assert not output.errors
    assert len(records_of(output, "appointments")) == 5


def test_missing_scope_is_a_config_error_naming_the_scope(timify):
    with_appointments(timify)
    # The app lacks the Events scope: the window-width probe (request 2) and the first window are refused.
    timify.scripted = {2: FORBIDDEN, 3: FORBIDDEN}
    output = run_read(make_config(enterprise_id=None), ["appointments"], expecting_exception=True)
    error = output.errors[0].trace.error
    assert error.failure_type == FailureType.config_error
    assert "Events scope" in error.message and "Scopes" in error.message


def test_bad_request_is_a_config_error_with_timifys_reason(timify):
    timify.scripted = {1: (400, {"status": 0, "error": {"code": "BAD_REQUEST", "message": "enterprise_id is not valid"}}, {})}
    output = run_read(make_config(), ["companies"], expecting_exception=True)
    error = output.errors[0].trace.error
    assert error.failure_type == FailureType.config_error
    assert "enterprise_id is not valid" in error.message


def test_company_ids_entry_the_app_cannot_see_is_a_config_error(timify):
    stranger = "0123456789abcdef01234567"
    output = run_read(make_config(company_ids=[stranger]), ["companies"], expecting_exception=True)
    error = output.errors[0].trace.error
    assert error.failure_type == FailureType.config_error
    assert stranger in error.message and "company_ids" in error.message


def test_a_sustained_outage_stops_the_sync_instead_of_retrying_every_partition(timify, monkeypatch):
    from source_timify import components

    clock = [0.0]
    monkeypatch.setattr(components.time, "monotonic", lambda: clock[0])
    for n in range(4):
        timify.appointments[COMPANY_A].append(appointment(COMPANY_A, n, "2026-01-05T10:00:00Z"))
    down = (503, b"", {})
    timify.scripted = {n: down for n in range(2, 400)}  # every data call after the companies list
    original = timify._list

    def slow(source):
        answer = original(source)

        def wrapped(request, context):
            clock[0] += 20  # each failed attempt (with its backoff) takes 20 s
            return answer(request, context)

        return wrapped

    timify.mocker.get(f"{BASE}/v1/appointments", content=slow(timify._appointments))
    output = run_read(make_config(enterprise_id=None), ["appointments"], expecting_exception=True)
    errors = [e.trace.error for e in output.errors if e.trace.error.stream_descriptor]
    assert errors and all(e.failure_type == FailureType.transient_error for e in errors)
    assert any("only with server errors" in e.message for e in errors)
    # Without the cutoff: 13 windows x 2 companies x 9 attempts = 234 calls.
    assert len(timify.data_requests("/v1/appointments")) < 40


def test_refused_credentials_are_not_tried_again_by_every_stream(timify):
    timify.mocker.post(f"{BASE}/v1/auth/token", status_code=401, json={"status": 0, "error": {"code": "INVALID_CREDENTIALS", "message": "Invalid"}})
    output = run_read(make_config(), ["companies", "appointments", "customers", "services"], expecting_exception=True)
    logins = [r for r in timify.mocker.request_history if r.path == "/v1/auth/token"]
    assert len(logins) == 1
    assert all("App Secret" in e.trace.error.message for e in output.errors)
