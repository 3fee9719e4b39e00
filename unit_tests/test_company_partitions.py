"""The companies list is read once per sync for every company-scoped stream (company_partitions.py),
with the real manifest and mocked HTTP, and the once-per-sync memo it rests on (session.py)."""

import threading

import pytest
import requests_mock

from source_timify.session import TimifySession
from unit_tests.conftest import COMPANY_A, COMPANY_B, COMPANY_SCOPED, ENTERPRISE, make_config, records_of, run_read
from unit_tests.timify_responses import (
    BASE,
    company,
    customer,
    page,
    pages,
    register_customer_fields,
    register_login,
    requests_to,
)

LIMIT = 2


class CompaniesList:
    """`/v1/companies` of an enterprise, `listed` companies over pages of LIMIT. A request waits up
    to `overlap_seconds` for another request of the list to arrive (it returns at once when one
    does): a sync that sends the list from two streams at once is caught sending both, however
    the threads are scheduled. A sync that sends it once only waits that long once per page."""

    def __init__(self, mocker, listed, overlap_seconds=0.3):
        self.listed = listed
        self.overlap_seconds = overlap_seconds
        self.arrived = threading.Event()
        mocker.get(f"{BASE}/v1/companies", json=self.answer)

    def answer(self, request, context):
        if self.arrived.is_set():
            self.arrived.clear()
        else:
            self.arrived.set()
            self.arrived.wait(self.overlap_seconds)
        number = int(request.qs["page"][0])
        return pages(self.listed, LIMIT)[number - 1]


def every_company_scoped_list(mocker):
    mocker.get(f"{BASE}/v1/appointments", json=page([]))
    mocker.get(f"{BASE}/v1/customers", json=page([]))
    mocker.get(f"{BASE}/v1/services", json=page([]))
    mocker.get(f"{BASE}/v1/resources", json=page([]))
    mocker.get(f"{BASE}/v1/timeshifts", json=page([]))
    mocker.get(f"{BASE}/v1/customers/customfields", json=page([]))
    mocker.get(f"{BASE}/v1/customers/customfields/categories", json=page([]))


@pytest.fixture
def mocker():
    with requests_mock.Mocker() as m:
        register_login(m)
        yield m


def companies_listed(mocker):
    return [int(r.qs["page"][0]) for r in requests_to(mocker, "/v1/companies")]


def test_every_company_scoped_stream_of_a_sync_shares_one_read_of_the_companies_list(mocker):
    listed = [company(COMPANY_A), company(COMPANY_B), company("5f0000000000000000000003")]  # 2 pages
    CompaniesList(mocker, listed)
    every_company_scoped_list(mocker)
    output = run_read(make_config(enterprise_id=ENTERPRISE, page_size=LIMIT), COMPANY_SCOPED)
    assert not output.errors
    assert sorted(companies_listed(mocker)) == [1, 2]


def test_the_companies_stream_reads_the_list_itself_and_the_other_streams_once_more(mocker):
    listed = [company(COMPANY_A), company(COMPANY_B)]
    CompaniesList(mocker, listed)
    every_company_scoped_list(mocker)
    output = run_read(make_config(enterprise_id=ENTERPRISE, page_size=LIMIT), ["companies"] + COMPANY_SCOPED)
    assert not output.errors
    assert [c["id"] for c in records_of(output, "companies")] == [COMPANY_A, COMPANY_B]
    assert companies_listed(mocker) == [1, 1]


def test_a_later_read_in_the_same_process_lists_the_companies_afresh(mocker):
    """A branch that joined between two reads in one process (PyAirbyte in a notebook, this
    suite) is read: nothing of the first read's companies list outlives it."""
    config = make_config(enterprise_id=ENTERPRISE, page_size=LIMIT)
    mocker.get(
        f"{BASE}/v1/companies",
        [
            {"json": page([company(COMPANY_A)], 1, LIMIT)},
            {"json": page([company(COMPANY_A), company(COMPANY_B)], 1, LIMIT)},
        ],
    )
    mocker.get(
        f"{BASE}/v1/customers",
        json=lambda request, context: page([customer(request.headers["company-id"], 1)], 1, LIMIT),
    )
    register_customer_fields(mocker, [])
    first, second = run_read(config, ["customers"]), run_read(config, ["customers"])
    assert {r["company_id"] for r in records_of(first, "customers")} == {COMPANY_A}
    assert {r["company_id"] for r in records_of(second, "customers")} == {COMPANY_A, COMPANY_B}
    assert companies_listed(mocker) == [1, 1]


def test_once_per_sync_computes_each_key_once_while_concurrent_callers_wait_for_it():
    session = TimifySession()
    started, release = threading.Event(), threading.Event()
    calls = []

    def slow():
        calls.append("slow")
        started.set()
        release.wait(10)
        return "companies"

    results = []
    first = threading.Thread(target=lambda: results.append(session.per_sync.once("companies", slow)))
    first.start()
    assert started.wait(10)
    waiting = threading.Thread(target=lambda: results.append(session.per_sync.once("companies", slow)))
    waiting.start()
    # Another key is not held up by the one being computed (the column plan reads the companies).
    assert session.per_sync.once("columns", lambda: session.per_sync.once("other", lambda: "x")) == "x"
    release.set()
    first.join(10)
    waiting.join(10)
    assert results == ["companies", "companies"] and calls == ["slow"]


def test_once_per_sync_keeps_no_failure_and_forgets_everything_when_a_sync_starts():
    session = TimifySession()
    attempts = []

    def failing():
        attempts.append(1)
        raise RuntimeError("TIMIFY answered 503")

    for _ in range(2):
        with pytest.raises(RuntimeError):
            session.per_sync.once("companies", failing)
    assert len(attempts) == 2
    assert session.per_sync.once("companies", lambda: 1) == 1
    assert session.per_sync.once("companies", lambda: 2) == 1
    session.start_sync()
    assert session.per_sync.once("companies", lambda: 3) == 3
