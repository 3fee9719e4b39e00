"""A bad config is refused with one sentence naming the field and what to do."""

import copy
from datetime import datetime, timezone

import pytest

from source_timify import SourceTimify
from source_timify.config_validation import config_problem

SPEC = SourceTimify().spec(logger=None).connectionSpecification  # type: ignore[arg-type]  # spec logs nothing
SECRET = "s3cr3t-app-secret-value"
GOOD = {"app_id": "id", "app_secret": SECRET}
NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "config",
    [
        GOOD,
        {**GOOD, "start_date": "2024-01-01"},
        {**GOOD, "start_date": "2024-01-01T10:00:00Z", "lookahead_days": 0},
        {**GOOD, "enterprise_id": "5e0000000000000000000001", "company_ids": ["5f0000000000000000000001"]},
        {**GOOD, "base_url": "https://proxy.example.com/timify"},
        {**GOOD, "base_url": "http://localhost:8080"},
        {**GOOD, "base_url": "http://127.0.0.1:8080"},
        {**GOOD, "subdomain": "api-stg", "page_size": 10000, "num_workers": 1},
    ],
)
def test_valid_configs_pass(config):
    assert config_problem(config, SPEC, now=NOW) is None


@pytest.mark.parametrize(
    "config, field, words",
    [
        ({"app_secret": SECRET}, "app_id", "missing"),
        ({"app_id": "", "app_secret": SECRET}, "app_id", "empty"),
        ({"app_id": "i"}, "app_secret", "App Overview"),
        ({**GOOD, "app_secret": ""}, "app_secret", "empty"),
        ({**GOOD, "start_date": "01/02/2024"}, "start_date", "YYYY-MM-DD"),
        ({**GOOD, "start_date": "2024-13-01"}, "start_date", "YYYY-MM-DD"),
        ({**GOOD, "start_date": "2030-01-01"}, "start_date", "future"),
        ({**GOOD, "lookahead_days": -1}, "lookahead_days", "0 to 3650"),
        ({**GOOD, "lookahead_days": 100000}, "lookahead_days", "0 to 3650"),
        ({**GOOD, "lookahead_days": "ten"}, "lookahead_days", "integer"),
        ({**GOOD, "enterprise_id": "acme"}, "enterprise_id", "24-character"),
        ({**GOOD, "company_ids": ["nope"]}, "company_ids", "24-character"),
        ({**GOOD, "base_url": "http://timify.example.com"}, "base_url", "https://"),
        ({**GOOD, "base_url": "ftp://localhost"}, "base_url", "https://"),
        ({**GOOD, "subdomain": "API.timify.com"}, "subdomain", "before .timify.com"),
        ({**GOOD, "page_size": 0}, "page_size", "1 to 10000"),
        ({**GOOD, "num_workers": 50}, "num_workers", "1 to 20"),
        ({**GOOD, "include_booking_secrets": "yes"}, "include_booking_secrets", "true or false"),
    ],
)
def test_bad_values_are_refused_naming_the_field(config, field, words):
    problem = config_problem(config, SPEC, now=NOW)
    assert problem is not None
    assert f"`{field}`" in problem and words in problem
    assert "Traceback" not in problem and "\n" not in problem
    assert SECRET not in problem


@pytest.mark.parametrize(
    "config, words",
    [
        ({**GOOD, "lookahead_days": "ten"}, 'must be an integer, not "ten"'),
        ({**GOOD, "page_size": 1.5}, "must be an integer, not 1.5"),
        ({**GOOD, "num_workers": True}, "must be an integer, not true"),
        ({**GOOD, "company_ids": "5f0000000000000000000001"}, 'must be a list, not "5f0000000000000000000001"'),
        ({**GOOD, "start_date": 20240101}, "must be a string, not 20240101"),
    ],
)
def test_type_errors_name_the_expected_type_in_plain_english(config, words):
    problem = config_problem(config, SPEC, now=NOW)
    assert words in problem
    assert " a integer" not in problem and " a array" not in problem and " a object" not in problem


def test_a_secret_of_the_wrong_type_is_refused_without_echoing_it():
    problem = config_problem({"app_id": "id", "app_secret": 918273645}, SPEC, now=NOW)
    assert "`app_secret`" in problem and "must be a string" in problem
    assert "918273645" not in problem


def test_range_hints_state_the_bounds_the_spec_sets():
    spec = copy.deepcopy(SPEC)
    spec["properties"]["page_size"]["maximum"] = 500
    problem = config_problem({**GOOD, "page_size": 501}, spec)
    assert "1 to 500" in problem
    for field in ("lookahead_days", "page_size", "num_workers"):
        bounds = SPEC["properties"][field]
        problem = config_problem({**GOOD, field: bounds["maximum"] + 1}, SPEC)
        assert f"{bounds['minimum']} to {bounds['maximum']}" in problem, field
