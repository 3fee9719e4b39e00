# --- connector fixtures (integration_tests/test_*.py); the emulator's own fixtures are in emulator/tests ---
import pytest
from timify_emulator import Emulator


@pytest.fixture(scope="module")
def enterprise_emulator():
    """An enterprise install with several companies, data around today, for read-only tests."""
    with Emulator(companies=3, appointments_per_company=300, seed=21) as emulator:
        yield emulator


@pytest.fixture
def mutable_emulator():
    """A private enterprise emulator for tests that change data, the clock or credentials."""
    with Emulator(companies=2, appointments_per_company=200, seed=23) as emulator:
        yield emulator


# --- end of connector fixtures ---
