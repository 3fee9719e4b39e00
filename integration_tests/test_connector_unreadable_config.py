"""A config file that cannot be read fails like any other bad config: one sentence naming the file,
no traceback. `check` answers with a FAILED connection status; `discover` and `read` with one
config_error TRACE message and a non-zero exit."""

import subprocess

import pytest

from integration_tests.connector import SOURCE_TIMIFY, parse_messages

CASES = {
    "empty": ("", "is empty"),
    "blank": ("  \n", "is empty"),
    "array": ('[{"app_id": "x"}]', "holds an array, not an object"),
    "string": ('"app_id"', "holds a string, not an object"),
    "not json": ('{"app_id": "x", "app_secret": "kept-private-7f3a",', "is not valid JSON"),
}


def run(tmp_path, command, config_path):
    args = [SOURCE_TIMIFY, command, "--config", str(config_path)]
    if command == "read":
        catalog = tmp_path / "catalog.json"
        catalog.write_text('{"streams": []}')
        args += ["--catalog", str(catalog)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    return proc, parse_messages(proc.stdout)


def config_file(tmp_path, case):
    if case == "missing":
        return tmp_path / "no-such-config.json", "does not exist"
    if case == "directory":
        return tmp_path, "is a directory"
    content, words = CASES[case]
    path = tmp_path / "config.json"
    path.write_text(content)
    return path, words


def assert_one_sentence_naming(message, path, words):
    assert str(path) in message and words in message, message
    assert "Traceback" not in message and "\n" not in message and message.endswith("."), message


@pytest.mark.parametrize("case", [*CASES, "missing", "directory"])
def test_check_with_an_unreadable_config_file_reports_a_failed_status_naming_the_file(tmp_path, case):
    path, words = config_file(tmp_path, case)
    proc, messages = run(tmp_path, "check", path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [m["type"] for m in messages] == ["CONNECTION_STATUS"], proc.stdout[-2000:]
    status = messages[0]["connectionStatus"]
    assert status["status"] == "FAILED"
    assert_one_sentence_naming(status["message"], path, words)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "kept-private-7f3a" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("command", ["discover", "read"])
@pytest.mark.parametrize("case", ["empty", "missing", "array"])
def test_discover_and_read_with_an_unreadable_config_file_fail_with_one_config_error(tmp_path, command, case):
    path, words = config_file(tmp_path, case)
    proc, messages = run(tmp_path, command, path)
    assert proc.returncode == 1
    assert [m["type"] for m in messages] == ["TRACE"], proc.stdout[-2000:]
    error = messages[0]["trace"]["error"]
    assert error["failure_type"] == "config_error" and not error.get("stack_trace")
    assert_one_sentence_naming(error["message"], path, words)
    assert "Traceback" not in proc.stdout + proc.stderr
