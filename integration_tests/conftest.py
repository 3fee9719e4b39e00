# --- TIMIFY emulator fixtures (used by integration_tests/test_emulator_*.py) ---
import datetime as _dt

import pytest
import requests

from integration_tests.timify_emulator import Emulator

EMULATOR_NOW = _dt.datetime(2025, 3, 20, 12, 0, 0, tzinfo=_dt.timezone.utc)


class TimifyHttp:
    """A thin requests wrapper for emulator tests: logs in once, sends raw `authorization`."""

    def __init__(self, emu):
        self.emu = emu
        self.session = requests.Session()
        self._token = None

    def login(self, **body):
        body = body or {"appid": self.emu.app_id, "appsecret": self.emu.app_secret}
        return self.session.post(self.emu.base_url + "/v1/auth/token", json=body, timeout=10)

    @property
    def token(self):
        if self._token is None:
            self._token = self.login().json()["accessToken"]
        return self._token

    def get(self, path, company_id=None, token=None, headers=None, **params):
        h = {"authorization": token if token is not None else self.token}
        if company_id is not None:
            h["company-id"] = company_id
        h.update(headers or {})
        return self.session.get(self.emu.base_url + path, params=params, headers=h, timeout=10)

    def pages(self, path, company_id=None, limit=100, **params):
        """Every record of a list endpoint, paging on meta.totalPages."""
        out, page = [], 1
        while True:
            body = self.get(path, company_id, page=page, limit=limit, **params).json()
            out += body["data"]
            if page >= body["meta"]["totalPages"]:
                return out
            page += 1


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


# --- connector fixtures (integration_tests/test_connector_*.py) ---
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
