"""Identical syncs make identical requests, however busy the machine is (issue 19).

The same full read of the real `source-timify` runs several times against unchanged emulator data
while a CPU-bound process runs beside it (on 2 cores, the sync's threads then interleave
differently each time). Every route is asked exactly as often in every run, and the companies list
exactly once per page for all company-scoped streams together, plus once for the `companies`
stream when it is selected (company_partitions.py). Before the fix, the CDK's request cache let
streams that started together each send the list: 1 to 3 times per read under load.

Counted per route: method, path, `company-id` and the query without its dates (a run that crosses
midnight UTC moves the windows' dates, not their number); the page numbers are kept.
"""

import multiprocessing
from collections import Counter

import pytest
from timify_emulator import Emulator

from integration_tests.connector import ENTERPRISE_STREAMS, STREAMS, full_range_config, run_connector

RUNS = 3
DATES = {"from_date", "to_date", "from", "to"}


def _spin() -> None:
    while True:
        pass


@pytest.fixture
def cpu_bound_process():
    """A process that keeps one of the machine's cores busy for the test's length."""
    process = multiprocessing.get_context("spawn").Process(target=_spin, daemon=True)
    process.start()
    try:
        yield process
    finally:
        process.terminate()
        process.join(10)


def routes(emu) -> Counter:
    counted: Counter = Counter()
    for entry in emu.requests_log():
        query = tuple(sorted((k, v) for k, v in entry["query"].items() if k not in DATES))
        counted[(entry["method"], entry["path"], entry["company_id"], query)] += 1
    return counted


def read_counts(emu, config, streams):
    emu.reset_log()
    run = run_connector("read", config, streams, incremental=False)
    assert run.returncode == 0 and not run.errors(), (run.errors(), run.stderr[-3000:])
    return routes(emu)


def companies_pages(counted: Counter) -> Counter:
    """How often each page of the companies list was asked for."""
    pages: Counter = Counter()
    for (_method, path, _, query), n in counted.items():
        if path == "/v1/companies":
            pages[dict(query)["page"]] += n
    return pages


def test_identical_reads_under_cpu_load_make_identical_requests_and_list_the_companies_twice(cpu_bound_process):
    # 365-day windows of about 18 pages each: the appointments' pages are read ahead.
    with Emulator(companies=3, appointments_per_company=1200, seed=53, max_window_days=365) as emu:
        config = full_range_config(emu, page_size=20)
        runs = [read_counts(emu, config, ENTERPRISE_STREAMS) for _ in range(RUNS)]
    for counted in runs[1:]:
        assert counted == runs[0], sorted((set(counted.items()) ^ set(runs[0].items())))
    # Once for the companies stream, once for every other stream: one page (3 companies, 20 a page).
    assert companies_pages(runs[0]) == Counter({"1": 2})
    assert sum(n for (_, path, _, _), n in runs[0].items() if path == "/v1/auth/token") == 1


def test_company_scoped_streams_alone_list_the_companies_once_per_page_under_cpu_load(cpu_bound_process):
    company_scoped = [name for name in STREAMS if name != "companies"]
    with Emulator(companies=5, appointments_per_company=60, seed=59) as emu:
        config = full_range_config(emu, page_size=2)  # the companies list on 3 pages
        runs = [read_counts(emu, config, company_scoped) for _ in range(RUNS)]
    for counted in runs[1:]:
        assert counted == runs[0], sorted((set(counted.items()) ^ set(runs[0].items())))
    assert companies_pages(runs[0]) == Counter({"1": 1, "2": 1, "3": 1})
