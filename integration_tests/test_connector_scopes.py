"""Scope-aware discover, check and read through the real `source-timify` entry point, against
emulators that grant the app fewer scopes (each scope removed in turn), enterprise and company installs."""

import pytest
from timify_emulator import Emulator
from timify_emulator.api import ALL_SCOPES

from integration_tests.connector import (
    ENTERPRISE_ONLY,
    ENTERPRISE_STREAMS,
    STREAMS,
    expected_records,
    full_range_config,
    keyed,
    run_connector,
)

NEEDS = {
    "Events": {"appointments"},
    "Customers": {"customers", "customer_fields", "customer_field_categories"},
    "Services": {"services"},
    "Resources": {"resources", "timeshifts"},
    "Enterprises": set(ENTERPRISE_ONLY),
    "Companies": set(STREAMS),
}


def discovered(run):
    return {s["name"] for s in run.of_type("CATALOG")[0]["catalog"]["streams"]}


def warnings(run):
    return [m["log"]["message"] for m in run.of_type("LOG") if m["log"]["level"] == "WARN"]


@pytest.fixture(scope="module")
def enterprise():
    with Emulator(companies=2, appointments_per_company=30, seed=41) as emu:
        yield emu


@pytest.mark.parametrize("scope", sorted(ALL_SCOPES))
def test_discover_on_an_enterprise_install_leaves_out_the_streams_of_each_missing_scope(enterprise, scope):
    enterprise.set_scopes(ALL_SCOPES - {scope})
    enterprise.reset_log()
    try:
        run = run_connector("discover", enterprise.connector_config())
    finally:
        enterprise.set_scopes(ALL_SCOPES)
    assert run.returncode == 0
    assert discovered(run) == set(ENTERPRISE_STREAMS) - NEEDS[scope]
    assert any(f"lacks the {scope} scope" in w and f"Grant the app the {scope} scope" in w for w in warnings(run))
    data = [e for e in enterprise.requests_log() if not e["path"].startswith("/v1/auth")]
    probes = [e["path"] for e in data if e["query"].get("limit") in ("1", ["1"])]
    assert len(probes) == len(set(probes)) <= 6, "one request per scope"
    # Besides the probes, each company's field definitions are read once (the customers' columns:
    # custom_fields.py); without Customers the first refusal ends that, without Companies there
    # is no company to ask for.
    definitions = [e for e in data if e["path"] == "/v1/customers/customfields"]
    assert len(definitions) == {"Customers": 1, "Companies": 0}.get(scope, len(enterprise.company_ids))


def test_discover_and_check_on_a_company_install(tmp_path):
    with Emulator(
        companies=1, appointments_per_company=10, enterprise=False, seed=42, scopes={"Companies", "Customers"}
    ) as emu:
        run = run_connector("discover", emu.connector_config())
        assert discovered(run) == {"companies", "customers", "customer_fields", "customer_field_categories"}
        assert not any("Enterprises" in w for w in warnings(run)), (
            "a company install has no enterprise customers to ask about"
        )
        check = run_connector("check", emu.connector_config())
        assert check.connection_status()["status"] == "SUCCEEDED"
        text = " ".join(warnings(check))
        for scope in ("Events", "Services", "Resources"):
            assert f"lacks the {scope} scope" in text
        emu.set_scopes({"Customers"})
        check = run_connector("check", emu.connector_config())
        assert check.connection_status()["status"] == "FAILED"
        assert "Companies scope" in check.connection_status()["message"]


def test_a_server_error_on_a_probe_keeps_the_streams_and_says_so(enterprise):
    enterprise.reset_log()
    enterprise.faults.update(fail_requests={n: 503 for n in range(1, 4)})  # the company list, three times
    try:
        run = run_connector("discover", enterprise.connector_config())
    finally:
        enterprise.faults.reset()
    assert discovered(run) == set(ENTERPRISE_STREAMS)
    assert any("Could not ask TIMIFY" in w and "discover keeps them" in w for w in warnings(run))


def test_a_configured_stream_whose_scope_was_removed_fails_naming_it_while_the_others_sync_completely(enterprise):
    config = full_range_config(enterprise)
    enterprise.set_scopes(ALL_SCOPES - {"Resources"})
    try:
        run = run_connector("read", config, ["customers", "resources", "services"])
    finally:
        enterprise.set_scopes(ALL_SCOPES)
    assert run.returncode != 0
    errors = run.errors()
    assert errors and all(e["failure_type"] == "config_error" for e in errors)
    assert all("Resources scope" in e["message"] for e in errors)
    for stream in ("customers", "services"):
        assert keyed(run.records(stream), stream) == keyed(expected_records(enterprise, stream, config), stream)
    assert run.records("resources") == []
