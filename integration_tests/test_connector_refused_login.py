"""A refused login on `read` ends the sync with one config error, not one error per stream."""

from integration_tests.connector import ENTERPRISE_STREAMS, run_connector


def test_a_wrong_app_secret_on_read_is_one_config_error_without_tracebacks(mutable_emulator):
    emu = mutable_emulator
    emu.reset_log()
    wrong = "wrong-" + emu.app_secret
    run = run_connector("read", emu.connector_config(app_secret=wrong), ENTERPRISE_STREAMS)

    assert run.returncode == 1
    errors = run.errors()
    assert len(errors) == 1, [e["message"] for e in errors]
    assert errors[0]["failure_type"] == "config_error"
    assert errors[0]["message"].startswith("TIMIFY rejected the App ID or App Secret")
    assert not errors[0].get("stack_trace")
    assert not [m for m in run.of_type("LOG") if m["log"]["level"] in ("ERROR", "FATAL")]
    assert "Traceback" not in run.stdout + run.stderr
    assert not run.records()
    # One login attempt, and no data request made with the refused credentials.
    assert emu.counters()["login_failures"] == 1 and emu.counters()["logins"] == 0
    assert [e["path"] for e in emu.requests_log()] == ["/v1/auth/token"]
    assert wrong not in run.stdout + run.stderr and emu.app_secret not in run.stdout + run.stderr


def test_a_good_read_still_logs_in_once_for_every_stream(mutable_emulator):
    emu = mutable_emulator
    emu.reset_log()
    run = run_connector("read", emu.connector_config(page_size=50), ENTERPRISE_STREAMS)
    assert run.returncode == 0 and not run.errors(), run.stdout[-2000:]
    assert [e["path"] for e in emu.requests_log()].count("/v1/auth/token") == 1
