"""The CDK's standard connector test suite, run in-process against the TIMIFY emulator.

The suite reads its scenarios from acceptance-test-config.yml, whose configs point at
secrets/config.json; this module writes that file for the emulator it starts (the file is
git-ignored: with real credentials it holds a real app's App ID and App Secret).
"""

import json
from pathlib import Path

import pytest
from airbyte_cdk.test.standard_tests import DeclarativeSourceTestSuite
from airbyte_cdk.test.standard_tests.pytest_hooks import pytest_generate_tests  # noqa: F401  (scenarios from acceptance-test-config.yml)
from timify_emulator import Emulator

from source_timify import SourceTimify

ROOT = Path(__file__).resolve().parent.parent
CONFIG_PATH = ROOT / "secrets" / "config.json"


@pytest.fixture(scope="module", autouse=True)
def emulator_config():
    with Emulator(companies=2, appointments_per_company=150, seed=31) as emu:
        CONFIG_PATH.parent.mkdir(exist_ok=True)
        previous = CONFIG_PATH.read_text() if CONFIG_PATH.exists() else None
        CONFIG_PATH.write_text(json.dumps(emu.connector_config(page_size=50)))
        try:
            yield
        finally:
            if previous is None:
                CONFIG_PATH.unlink()
            else:
                CONFIG_PATH.write_text(previous)


class TestTimifyStandardSuite(DeclarativeSourceTestSuite):
    @classmethod
    def create_connector(cls, scenario):
        # CDK 7 takes config, catalog and state in the constructor (see run.py).
        config = (
            scenario.get_config_dict(connector_root=cls.get_connector_root_dir(), empty_if_missing=True)
            if scenario
            else None
        )
        return SourceTimify(config=config)
