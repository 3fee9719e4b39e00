"""PagePrefetch (page_prefetch.py) with the real manifest and mocked HTTP: a window's pages are read
ahead (by the prefetch threads) once its first page says how many there are, every record once and
in page order, a list that changed read again from page 1, and a server without `meta` read page
after page. requests-mock answers one request at a time, so how many requests are in flight at once
is measured against the emulator (integration_tests/test_page_prefetch.py)."""

import threading
import time
from datetime import timedelta

import pytest
import requests_mock

from source_timify.record_queue import RefillingQueue
from unit_tests.conftest import COMPANY_A, make_config, records_of, run_read
from unit_tests.timify_responses import BASE, TODAY, appointment, company, page, register_list, register_login

LIMIT = 2
START = (TODAY - timedelta(days=5)).isoformat()  # one window: the range is 6 days


class DenseWindow:
    """One company, one window of `pages` full pages; each answer takes `delay` seconds; which
    thread asked for each page is kept."""

    def __init__(self, mocker, pages, delay=0.15, meta=True):
        self.appointments = [
            appointment(COMPANY_A, n, f"{TODAY.isoformat()}T10:{n % 60:02d}:00Z") for n in range(pages * LIMIT)
        ]
        self.meta, self.delay = meta, delay
        self.lock = threading.Lock()
        self.served = []
        self.threads = {}  # page -> the thread that asked for it
        self.total_override = {}  # page -> totalItems to report (a list that changed)
        register_login(mocker)
        register_list(mocker, "/v1/companies", [company(COMPANY_A)], LIMIT)
        mocker.get(f"{BASE}/v1/appointments", json=self.answer)

    def answer(self, request, context):
        time.sleep(self.delay)
        number = int(request.qs["page"][0])
        with self.lock:
            self.served.append(number)
            self.threads.setdefault(number, threading.current_thread().name)
        chunk = self.appointments[(number - 1) * LIMIT : number * LIMIT]
        total = self.total_override.pop(number, len(self.appointments))
        return page(chunk, number, LIMIT, total=total, meta=self.meta)


def read(num_workers):
    config = make_config(enterprise_id=None, start_date=START, lookahead_days=0, num_workers=num_workers)
    output = run_read(config, ["appointments"])
    assert not output.errors
    return [r["id"] for r in records_of(output, "appointments")]


@pytest.fixture
def mocker():
    with requests_mock.Mocker() as m:
        yield m


def test_a_dense_window_pages_are_fetched_concurrently_once_the_first_says_how_many(mocker):
    window = DenseWindow(mocker, pages=8)
    ids = read(num_workers=4)
    assert ids == [a["id"] for a in window.appointments]  # every record once, in page order
    assert sorted(window.served) == list(range(1, 9))  # no page asked twice
    assert not window.threads[1].startswith("timify-prefetch")  # the first page: the CDK's worker
    assert all(window.threads[n].startswith("timify-prefetch") for n in range(2, 9))  # the rest: read ahead


def test_with_one_worker_pages_are_still_read_ahead_one_at_a_time(mocker):
    window = DenseWindow(mocker, pages=4, delay=0.01)
    assert len(read(num_workers=1)) == 8
    assert sorted(window.served) == [1, 2, 3, 4]


def test_a_list_changed_while_read_ahead_is_read_again_from_page_one(mocker):
    window = DenseWindow(mocker, pages=5, delay=0.05)
    window.total_override[3] = 11  # page 3 reports another count: the list changed while it was paged
    ids = read(num_workers=4)
    assert ids == [a["id"] for a in window.appointments]  # once each, none skipped
    assert window.served.count(1) == 2  # read again from page 1
    # How many pages of the first pass went out depends on timing (those read ahead before page 3
    # said the list changed); bounded: never a page past the last one a page's meta named (page 3
    # said 6), each at most once per pass.
    assert max(window.served) <= 6 and len(window.served) <= 6 + 5


def test_a_server_without_meta_is_read_page_after_page(mocker):
    window = DenseWindow(mocker, pages=4, delay=0.05, meta=False)
    ids = read(num_workers=4)
    assert len(ids) == 8
    assert not any(name.startswith("timify-prefetch") for name in window.threads.values())


def test_pages_are_not_read_ahead_while_the_records_wait_for_the_writer(mocker, monkeypatch):
    # A record queue at least half full means the workers wait for the writer, not for TIMIFY: a
    # page read ahead would only wait in memory (~8 MB a page of 1,000 appointments).
    monkeypatch.setattr(RefillingQueue, "backed_up", lambda self: True)
    window = DenseWindow(mocker, pages=4, delay=0.01)
    assert read(num_workers=4) == [a["id"] for a in window.appointments]
    assert sorted(window.served) == [1, 2, 3, 4]
    assert not any(name.startswith("timify-prefetch") for name in window.threads.values())
