# --- TIMIFY emulator fixtures (used by the emulator's own tests, emulator/tests/test_emulator_*.py) ---
import pytest
from emulator_test_support import EMULATOR_NOW, TimifyHttp
from timify_emulator import Emulator


@pytest.fixture(scope="session")
def shared_emulator():
    """One read-only enterprise emulator for the session (3 companies x 400 appointments)."""
    with Emulator(companies=3, appointments_per_company=400, seed=7, now=EMULATOR_NOW) as emu:
        yield emu


@pytest.fixture
def emu(shared_emulator):
    """The shared emulator with faults reset and an empty log. Do not mutate its data."""
    shared_emulator.faults.reset()
    shared_emulator.reset_log()
    yield shared_emulator
    shared_emulator.faults.reset()


@pytest.fixture
def fresh_emu():
    """A small private emulator for tests that change data, the clock or credentials."""
    with Emulator(companies=2, appointments_per_company=60, seed=11, now=EMULATOR_NOW) as emu:
        yield emu


@pytest.fixture
def api(emu):
    return TimifyHttp(emu)


# --- end of TIMIFY emulator fixtures ---
