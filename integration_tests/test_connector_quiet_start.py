"""No alarming noise: the CDK's memory-monitor announcement does not open every command."""

from integration_tests.connector import run_connector


def test_spec_prints_the_spec_and_no_memory_monitor_line():
    run = run_connector("spec")
    assert run.returncode == 0
    assert [m["type"] for m in run.messages] == ["SPEC"], run.stdout[:2000]
    assert "MemoryMonitor" not in run.stdout + run.stderr


def test_check_opens_without_the_memory_monitor_line(enterprise_emulator):
    run = run_connector("check", enterprise_emulator.connector_config())
    assert run.connection_status()["status"] == "SUCCEEDED"
    assert "MemoryMonitor" not in run.stdout + run.stderr
