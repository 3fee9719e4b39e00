"""The real `source-timify` against servers that follow TIMIFY's published reference, the older
behaviour, or both: the token form (raw, Bearer, both) and the error shape (nested, flat)."""

import pytest
from timify_emulator import Emulator

from integration_tests.connector import ENTERPRISE_STREAMS, expected_records, full_range_config, keyed, run_connector


@pytest.fixture(scope="module")
def emulator():
    with Emulator(companies=2, appointments_per_company=120, seed=33) as emu:
        yield emu


@pytest.fixture(autouse=True)
def reset(emulator):
    emulator.faults.reset()
    emulator.reset_log()
    yield
    emulator.faults.reset()


@pytest.mark.parametrize("forms", ["raw", "bearer", "both"])
def test_check_and_a_complete_sync_against_each_token_form(emulator, forms):
    emulator.faults.token_forms = forms
    check = run_connector("check", emulator.connector_config())
    assert check.connection_status()["status"] == "SUCCEEDED", check.stdout[-2000:]

    emulator.reset_log()
    config = full_range_config(emulator, page_size=25, num_workers=4)
    run = run_connector("read", config, ENTERPRISE_STREAMS)
    assert run.returncode == 0 and not run.errors(), run.stdout[-3000:]
    for stream in ENTERPRISE_STREAMS:
        assert keyed(run.records(stream), stream) == keyed(expected_records(emulator, stream, config), stream), stream
    assert emulator.counters()["logins"] == 1  # the form is found without another login
    refused = [e for e in emulator.requests_log() if e["status"] == 401]
    assert len(refused) <= (0 if forms != "raw" else 4)  # at most one per worker, before the switch
    secret = emulator.app_secret
    assert secret not in run.stdout + run.stderr


def test_errors_in_the_flat_shape_reach_the_user_with_timifys_message(emulator):
    emulator.faults.error_shape = "flat"
    wrong = run_connector("check", emulator.connector_config(app_secret="not-the-secret"))
    status = wrong.connection_status()
    assert status["status"] == "FAILED"
    assert "TIMIFY said: The App ID or App Secret is not valid" in status["message"]
    assert "not-the-secret" not in wrong.stdout + wrong.stderr

    company = emulator.company_ids[0]
    emulator.faults.forbidden_companies = [company]
    run = run_connector("read", full_range_config(emulator), ["services"])
    messages = [error["message"] for error in run.errors()]
    # The message names the company (TIMIFY's own text does here, so no "Company <id>:" prefix).
    assert any(
        message.startswith(f"TIMIFY refused /v1/services: The app has lost access to company {company}.")
        for message in messages
    ), messages
    assert "Traceback" not in "".join(messages) and "object has no attribute" not in run.stdout


def test_a_missing_scope_in_the_flat_shape_says_which_scope(tmp_path):
    with Emulator(
        companies=1, appointments_per_company=5, enterprise=False, scopes={"Companies", "Events"}, error_shape="flat"
    ) as emu:
        run = run_connector("read", full_range_config(emu), ["services"])
    messages = [error["message"] for error in run.errors()]
    assert any("The app is not granted the Services scope" in message for message in messages), messages
