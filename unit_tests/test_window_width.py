"""Appointments are read in the widest window TIMIFY accepts: 365 days (its reference) or, on a
server that refuses that with a 400, 31 days for the rest of the sync, after exactly one refused
request. Windows are UTC dates, inclusive, covering each company's range with no gap or overlap."""

from datetime import date, timedelta
from typing import List, Tuple

import requests_mock

from source_timify.date_ranges import company_date_range, windows
from unit_tests.conftest import COMPANY_A, COMPANY_B, ENTERPRISE, make_config, records_of, run_read
from unit_tests.timify_responses import (
    TODAY,
    appointment,
    company,
    error,
    page,
    register_appointments,
    register_list,
    register_login,
    register_page,
    requests_to,
    window_query,
)

# Three years back and a month ahead: 37 windows of 31 days, or 4 of 365.
CONFIG = make_config(start_date=(TODAY - timedelta(days=3 * 365)).isoformat(), page_size=1000)


def _windows(days: int) -> List[Tuple[str, str]]:
    return [(a.isoformat(), b.isoformat()) for a, b in windows(*company_date_range(CONFIG, None, TODAY), days)]


def _served() -> dict:
    """A sparse account: an appointment every 11 days per company, the range's edges included."""
    first, last = date.fromisoformat(_windows(365)[0][0]), date.fromisoformat(_windows(365)[-1][1])
    served = {}
    for company_id in (COMPANY_A, COMPANY_B):
        days = [first + timedelta(days=n) for n in range(0, (last - first).days + 1, 11)] + [last]
        served[company_id] = [appointment(company_id, n, f"{day}T12:00:00Z") for n, day in enumerate(days)]
    return served


def _serve(mocker, window_days: int, probe_answer: dict) -> dict:
    register_login(mocker)
    register_list(
        mocker, "/v1/companies", [company(COMPANY_A), company(COMPANY_B)], 1000, f"enterprise_id={ENTERPRISE}"
    )
    wide_first = _windows(365)[0]
    register_page(mocker, "/v1/appointments", 1, 1, [probe_answer], window_query(*wide_first), COMPANY_A)
    served = _served()
    for company_id, appointments in served.items():
        register_appointments(mocker, company_id, appointments, _windows(window_days), 1000)
    return served


def _window_requests(mocker, company_id: str) -> List[Tuple[str, str]]:
    return [
        (r.qs["from_date"][0], r.qs["to_date"][0])
        for r in requests_to(mocker, "/v1/appointments", company_id)
        if r.qs.get("limit") == ["1000"]
    ]


def _assert_cover_the_range(requested: List[Tuple[str, str]], limit_days: int) -> None:
    spans = sorted((date.fromisoformat(a), date.fromisoformat(b)) for a, b in requested)
    assert spans[0][0].isoformat() == _windows(365)[0][0] and spans[-1][1].isoformat() == _windows(365)[-1][1]
    for (_, to_date), (next_from, _) in zip(spans, spans[1:], strict=False):
        assert next_from == to_date + timedelta(days=1)  # no gap, no overlap
    assert all((b - a).days + 1 <= limit_days for a, b in spans)


def test_a_server_accepting_365_days_is_read_in_365_day_windows():
    with requests_mock.Mocker() as mocker:
        served = _serve(
            mocker, 365, {"json": page([appointment(COMPANY_A, 0, "2026-01-01T00:00:00Z")], 1, 1, total=40)}
        )
        output = run_read(CONFIG, ["appointments"])
        assert not output.errors
        for company_id in (COMPANY_A, COMPANY_B):
            requested = _window_requests(mocker, company_id)
            assert len(requested) == len(_windows(365)) == 4
            _assert_cover_the_range(requested, 365)
        probes = [r for r in requests_to(mocker, "/v1/appointments") if r.qs.get("limit") == ["1"]]
        assert len(probes) == 1
        assert len(requests_to(mocker, "/v1/appointments")) == 1 + 2 * 4  # instead of 2 x 37
    ids = sorted(r["id"] for r in records_of(output, "appointments"))
    assert ids == sorted(a["id"] for appointments in served.values() for a in appointments)


def test_a_server_refusing_365_days_is_refused_once_then_read_in_31_day_windows():
    refusal = {
        "status_code": 400,
        "json": error("BAD_REQUEST", "The date window spans 365 days; at most 31 are allowed"),
    }
    with requests_mock.Mocker() as mocker:
        served = _serve(mocker, 31, refusal)
        output = run_read(CONFIG, ["appointments"])
        assert not output.errors
        refused = [r for r in mocker.request_history if r.path == "/v1/appointments" and r.qs.get("limit") == ["1"]]
        assert len(refused) == 1
        for company_id in (COMPANY_A, COMPANY_B):
            requested = _window_requests(mocker, company_id)
            assert len(requested) == len(_windows(31))
            _assert_cover_the_range(requested, 31)
    ids = sorted(r["id"] for r in records_of(output, "appointments"))
    assert ids == sorted(a["id"] for appointments in served.values() for a in appointments)


def test_a_range_that_fits_31_days_needs_no_probe():
    today = TODAY
    config = make_config(start_date=today.isoformat(), lookahead_days=30, page_size=1000)
    window = [(a.isoformat(), b.isoformat()) for a, b in windows(*company_date_range(config, None, today), 365)]
    assert len(window) == 1
    with requests_mock.Mocker() as mocker:
        register_login(mocker)
        register_list(mocker, "/v1/companies", [company(COMPANY_A)], 1000, f"enterprise_id={ENTERPRISE}")
        register_appointments(mocker, COMPANY_A, [appointment(COMPANY_A, 1, f"{today}T09:00:00Z")], window, 1000)
        output = run_read(config, ["appointments"])
        assert not output.errors and len(records_of(output, "appointments")) == 1
        assert [r.qs["limit"] for r in requests_to(mocker, "/v1/appointments")] == [["1000"]]


def test_a_malformed_probe_answer_is_asked_again_not_taken_for_acceptance():
    # A truncated 200 says nothing about the window: the probe asks again and sees the refusal.
    refusal = {
        "status_code": 400,
        "json": error("BAD_REQUEST", "The date window spans 365 days; at most 31 are allowed"),
    }
    with requests_mock.Mocker() as mocker:
        served = _serve(mocker, 31, refusal)
        register_page(
            mocker,
            "/v1/appointments",
            1,
            1,
            [{"text": '{"data": [{"id"'}, refusal],
            window_query(*_windows(365)[0]),
            COMPANY_A,
        )
        output = run_read(CONFIG, ["appointments"])
        assert not output.errors
        probes = [r for r in mocker.request_history if r.path == "/v1/appointments" and r.qs.get("limit") == ["1"]]
        assert len(probes) == 2
        for company_id in (COMPANY_A, COMPANY_B):
            _assert_cover_the_range(_window_requests(mocker, company_id), 31)
    ids = sorted(r["id"] for r in records_of(output, "appointments"))
    assert ids == sorted(a["id"] for appointments in served.values() for a in appointments)


def test_a_refused_365_day_window_is_logged_as_the_normal_finding_it_is():
    refusal = {
        "status_code": 400,
        "json": error("BAD_REQUEST", "The date window spans 365 days; at most 31 are allowed"),
    }
    with requests_mock.Mocker() as mocker:
        _serve(mocker, 31, refusal)
        output = run_read(CONFIG, ["appointments"])
    assert not output.errors
    lines = [m.log for m in output.logs if "Appointment windows" in m.log.message]
    assert len(lines) == 1 and lines[0].level.name == "INFO"
    assert lines[0].message == (
        "Appointment windows: this TIMIFY server takes windows of up to 31 days on /v1/appointments, so appointments "
        "are read 31 days at a time (a 365-day window was declined with HTTP 400, as such servers do: The date "
        "window spans 365 days; at most 31 are allowed). Nothing needs to be done."
    )
