"""Appointments are read in 31-day UTC windows, inclusive, with no gap and no overlap."""

from datetime import date, timedelta

import pytest
import requests_mock

from source_timify.date_ranges import company_date_range
from source_timify.date_ranges import windows as cut_windows
from unit_tests.conftest import COMPANY_A, COMPANY_B, ENTERPRISE, make_config, records_of, run_read
from unit_tests.timify_responses import TODAY as SESSION_DAY
from unit_tests.timify_responses import (
    appointment,
    appointment_windows,
    company,
    register_appointments,
    register_list,
    register_login,
)

TODAY = date(2026, 11, 28)


def windows(created_at=None, **config):
    return cut_windows(*company_date_range(config, created_at, TODAY), 31)


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"start_date": "2024-02-29", "lookahead_days": 0},
        {"start_date": "2026-11-28T15:00:00Z", "lookahead_days": 1},
        {"start_date": "2020-01-01", "lookahead_days": 3650},
    ],
)
def test_windows_cover_the_range_without_gap_or_overlap(config):
    result = windows(**config)
    start = date.fromisoformat(config["start_date"][:10]) if "start_date" in config else TODAY - timedelta(days=730)
    end = TODAY + timedelta(days=config.get("lookahead_days", 365))
    assert result[0][0] == start and result[-1][1] == end
    for (_from_date, to_date), (next_from, _) in zip(result, result[1:], strict=False):
        assert next_from == to_date + timedelta(days=1)
    for from_date, to_date in result:
        assert (to_date - from_date).days + 1 in range(1, 32)  # TIMIFY's limit, counted inclusively


def test_default_range_starts_at_the_companys_creation_and_ends_a_year_ahead():
    result = windows(created_at="2019-05-06T07:08:09Z")
    assert result[0][0] == date(2019, 5, 6)
    assert result[-1][1] == date(2027, 11, 28)
    assert len(result) == -(-((date(2027, 11, 28) - date(2019, 5, 6)).days + 1) // 31)


def test_default_range_does_not_move_forward_with_the_calendar():
    created = "2023-02-03T04:05:06Z"
    first = cut_windows(*company_date_range({}, created, date(2025, 1, 1)), 31)
    later = cut_windows(*company_date_range({}, created, date(2027, 6, 1)), 31)
    assert first[0][0] == later[0][0] == date(2023, 2, 3)


def test_start_date_overrides_the_companys_creation():
    assert windows(created_at="2019-05-06T07:08:09Z", start_date="2025-01-01")[0][0] == date(2025, 1, 1)


def test_a_company_without_created_at_is_read_two_years_back():
    result = windows()
    assert result[0][0] == date(2024, 11, 28)
    assert result[-1][1] == date(2027, 11, 28)


def test_window_days_zero_is_one_partition_for_the_whole_range():
    assert cut_windows(date(2024, 1, 1), date(2026, 1, 1), 0) == [(date(2024, 1, 1), date(2026, 1, 1))]


def _serve(mocker, config, company_a=(), company_b=()):
    """TIMIFY as it answers a sync with `config`: the companies, and their appointments by window."""
    register_login(mocker)
    register_list(
        mocker,
        "/v1/companies",
        [company(COMPANY_A), company(COMPANY_B)],
        config["page_size"],
        f"enterprise_id={ENTERPRISE}",
    )
    windows = appointment_windows(config)
    register_appointments(mocker, COMPANY_A, list(company_a), windows, config["page_size"])
    register_appointments(mocker, COMPANY_B, list(company_b), windows, config["page_size"])


def test_appointments_on_window_edges_are_read_exactly_once():
    config = make_config(start_date="2026-01-01", page_size=1000)
    edges = []
    for from_date, to_date in cut_windows(*company_date_range(config, None, SESSION_DAY), 31):
        edges += [f"{from_date}T00:00:00Z", f"{to_date}T23:59:59Z"]
    served = [appointment(COMPANY_A, n, edge) for n, edge in enumerate(edges)]
    with requests_mock.Mocker() as mocker:
        _serve(mocker, config, served)
        output = run_read(config, ["appointments"])
    assert not output.errors
    ids = [r["id"] for r in records_of(output, "appointments")]
    assert sorted(ids) == sorted(a["id"] for a in served)


def test_start_date_with_a_time_skips_that_days_earlier_appointments():
    config = make_config(start_date="2026-03-01T10:00:00Z")
    served = [
        appointment(COMPANY_A, 1, "2026-03-01T08:00:00Z"),
        appointment(COMPANY_A, 2, "2026-03-01T12:00:00Z"),
        appointment(COMPANY_A, 3, "2026-03-02T08:00:00Z"),
    ]
    with requests_mock.Mocker() as mocker:
        _serve(mocker, config, served)
        output = run_read(config, ["appointments"])
    assert sorted(r["startDate"] for r in records_of(output, "appointments")) == [
        "2026-03-01T12:00:00Z",
        "2026-03-02T08:00:00Z",
    ]


def test_records_carry_their_company_id():
    config = make_config()
    with requests_mock.Mocker() as mocker:
        _serve(
            mocker,
            config,
            [appointment(COMPANY_A, 1, "2026-03-01T08:00:00Z")],
            [appointment(COMPANY_B, 2, "2026-03-02T08:00:00Z")],
        )
        output = run_read(config, ["appointments"])
    assert sorted((r["company_id"], r["id"][:12]) for r in records_of(output, "appointments")) == [
        (COMPANY_A, COMPANY_A[:12]),
        (COMPANY_B, COMPANY_B[:12]),
    ]


def test_the_range_without_lookahead_days_ends_where_the_spec_default_says():
    from source_timify import SourceTimify
    from source_timify.date_ranges import DEFAULT_LOOKAHEAD_DAYS

    spec = SourceTimify().spec(logger=None).connectionSpecification
    assert spec["properties"]["lookahead_days"]["default"] == DEFAULT_LOOKAHEAD_DAYS
    assert company_date_range({}, "2025-01-01T00:00:00Z", TODAY)[1] == TODAY + timedelta(days=DEFAULT_LOOKAHEAD_DAYS)
