"""`source-timify spec` prints source_timify/printed_spec.json without importing the CDK (run.py):
what it prints must stay, byte for byte, what the CDK prints for the manifest's `spec`, and every
other command line must still go through the CDK."""

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest
from airbyte_cdk.logger import is_platform_debug_log_enabled

from source_timify import entrypoint, run

ROOT = Path(__file__).resolve().parent.parent
SOURCE_TIMIFY = str(Path(sys.executable).parent / "source-timify")
REGENERATE = (
    "`source-timify spec` no longer prints what the CDK prints for manifest.yaml's spec: after changing "
    "the manifest's `spec`, regenerate source_timify/printed_spec.json with "
    "`.venv/bin/python scripts/generate_spec.py` and commit it"
)


def _generator():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import generate_spec
    finally:
        sys.path.pop(0)
    return generate_spec


def _env(**extra):
    return {**{key: value for key, value in os.environ.items() if key != "LOG_LEVEL"}, **extra}


def _connector(args, env):
    return subprocess.run([SOURCE_TIMIFY, *args], capture_output=True, cwd=ROOT, env=env)


def test_spec_fast_path_prints_what_the_cdk_prints():
    env = _env()
    cdk = _generator().cdk_output(["spec"], env)
    assert cdk.returncode == 0 and cdk.stdout.startswith(b'{"type":"SPEC"'), cdk.stdout[:500] + cdk.stderr[-2000:]
    fast = _connector(["spec"], env)
    assert (fast.stdout, fast.stderr, fast.returncode) == (cdk.stdout, cdk.stderr, cdk.returncode), REGENERATE


def test_spec_with_the_cdks_debug_logging_prints_what_the_cdk_prints():
    env = _env(LOG_LEVEL="debug")
    cdk = _generator().cdk_output(["spec"], env)
    assert b'"level":"DEBUG"' in cdk.stdout  # the CDK's debug line, which printed_spec.json has not
    fast = _connector(["spec"], env)
    assert (fast.stdout, fast.stderr, fast.returncode) == (cdk.stdout, cdk.stderr, cdk.returncode)


def test_plain_spec_imports_nothing_of_the_cdk():
    """What makes it fast (issue 22): a CDK import in run.py or the package's __init__ fails here."""
    code = (
        "import sys; from source_timify.run import run; run(['spec']); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'airbyte_cdk'), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT, env=_env())
    assert done.returncode == 0 and done.stdout.startswith(b'{"type":"SPEC"')
    assert done.stderr == b"[]\n"


NO_COLLECTION_DURING_THE_IMPORT = """
import gc, sys
from source_timify.run import run
imported = []  # at each collection: whether the CDK's import (up to entrypoint.launch) is done
gc.callbacks.append(
    lambda phase, info: phase == "start"
    and imported.append(hasattr(sys.modules.get("source_timify.entrypoint"), "launch"))
)
try:
    run(["spec", "--help"])
finally:
    print(imported, file=sys.stderr)
"""


def test_no_garbage_is_collected_while_the_cdk_is_imported():
    """The collections during the import cost a tenth of it (issue 22)."""
    done = subprocess.run(
        [sys.executable, "-c", NO_COLLECTION_DURING_THE_IMPORT], capture_output=True, cwd=ROOT, env=_env()
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert b"False" not in done.stderr.splitlines()[-1]


def test_garbage_collection_paused_restores_the_collector_as_it_was():
    assert gc.isenabled()
    with pytest.raises(ValueError):
        with run.garbage_collection_paused():
            assert not gc.isenabled()
            raise ValueError("an import that fails")
    assert gc.isenabled()
    gc.disable()
    try:
        with run.garbage_collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize(
    "args, log_level",
    [
        (["spec", "--debug"], None),
        (["spec", "--config", "secrets/config.json"], None),  # the CDK refuses it (usage, exit 2)
        (["spec", "--help"], None),
        (["spec", "extra"], None),
        ([], None),
        (["check", "--config", "secrets/config.json"], None),
        (["spec"], "debug"),
        (["spec"], "DEBUG"),
    ],
)
def test_every_command_line_but_a_plain_spec_goes_through_the_cdk(monkeypatch, args, log_level):
    launched = []
    monkeypatch.setattr(entrypoint, "launch", launched.append)
    monkeypatch.setattr(run, "print_spec", lambda: pytest.fail("printed the spec file"))
    if log_level is None:
        monkeypatch.delenv("LOG_LEVEL", raising=False)
    else:
        monkeypatch.setenv("LOG_LEVEL", log_level)
    run.run(list(args))
    assert launched == [args]


@pytest.mark.parametrize("log_level", [None, "info", "INFO", "warn", "", "debug", "Debug", "DEBUG"])
def test_the_debug_logging_rule_is_the_cdks(monkeypatch, log_level):
    if log_level is None:
        monkeypatch.delenv("LOG_LEVEL", raising=False)
    else:
        monkeypatch.setenv("LOG_LEVEL", log_level)
    assert run.prints_spec_alone(["spec"]) is not is_platform_debug_log_enabled()
