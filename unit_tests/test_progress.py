"""The progress line: what it counts, and an interval that tests can only shorten."""

import types

import pytest
from airbyte_cdk.sources.concurrent_source.partition_generation_completed_sentinel import (
    PartitionGenerationCompletedSentinel,
)
from airbyte_cdk.sources.streams.concurrent.partitions.partition import Partition
from airbyte_cdk.sources.streams.concurrent.partitions.types import PartitionCompleteSentinel

from source_timify.progress import INTERVAL_ENVIRONMENT_VARIABLE, SyncProgress, progress_interval
from unit_tests.forbidden_lock import ForbiddenLock, LockTaken


class Window(Partition):
    def __init__(self, stream, company_id=None, n=0):
        self._stream, self._slice, self._n = stream, {"company_id": company_id} if company_id else {}, n

    def read(self):
        return []

    def to_slice(self):
        return self._slice

    def stream_name(self):
        return self._stream

    def __hash__(self):
        return hash((self._stream, str(self._slice), self._n))


def listed(stream):
    return PartitionGenerationCompletedSentinel(types.SimpleNamespace(name=stream))


def test_progress_counts_records_companies_done_and_partitions_per_stream():
    progress = SyncProgress()
    progress.start(["companies", "appointments", "customers"])
    a1, a2, b1 = Window("appointments", "A", 1), Window("appointments", "A", 2), Window("appointments", "B", 1)
    progress.stream_status("appointments", "STARTED")
    for item in (a1, a2, b1, PartitionCompleteSentinel(a1), PartitionCompleteSentinel(a2)):
        progress.observe(item)
    for _ in range(1234):
        progress.record("appointments")
    line = progress.summary()
    assert line.startswith("Sync progress after 0 s: 1,234 records so far; 0 of 2 companies done; ")
    assert "companies: waiting" in line
    assert "appointments: 2 of 3 partitions read (still listing), 1,234 records" in line
    assert "customers: waiting" in line

    # Company A is done once every stream has listed its partitions and A's are all read.
    progress.observe(listed("appointments"))
    progress.stream_status("companies", "COMPLETE")
    progress.observe(listed("companies"))
    progress.stream_status("customers", "STARTED")
    assert "customers: listing partitions" in progress.summary()
    progress.observe(listed("customers"))
    line = progress.summary()
    assert "1 of 2 companies done" in line and "appointments: 2 of 3 partitions read, 1,234 records" in line
    assert "companies: done, 0 partitions, 0 records" in line
    progress.observe(Window("companies"))
    assert "companies: done, 1 partition, 0 records" in progress.summary()

    progress.observe(PartitionCompleteSentinel(b1))
    progress.stream_status("appointments", "COMPLETE")
    line = progress.summary()
    assert "2 of 2 companies done" in line and "appointments: done, 3 partitions, 1,234 records" in line


def test_a_stopped_stream_says_how_far_it_got():
    progress = SyncProgress()
    progress.start(["customers"])
    window = Window("customers", "A")
    progress.stream_status("customers", "STARTED")
    progress.observe(window)
    progress.observe(listed("customers"))
    progress.stream_status("customers", "INCOMPLETE")
    assert "customers: stopped after 0 of 1 partitions, 0 records" in progress.summary()


@pytest.mark.parametrize(
    "value, seconds", [(None, 30), ("1", 1), ("0.5", 0.5), ("600", 30), ("0", 30), ("-1", 30), ("soon", 30)]
)
def test_the_interval_is_30_seconds_and_only_shorter_through_the_environment(monkeypatch, value, seconds):
    if value is None:
        monkeypatch.delenv(INTERVAL_ENVIRONMENT_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(INTERVAL_ENVIRONMENT_VARIABLE, value)
    assert progress_interval() == seconds


def test_a_record_is_counted_without_the_lock_and_a_record_taken_from_the_queue_changes_nothing():
    """The read loop counts every record, and the queue hands every record to `observe`: neither
    takes the lock (only the read loop writes the record counts; `summary` reads them whole)."""
    from airbyte_cdk.sources.types import Record

    progress = SyncProgress()
    progress.start(["appointments"])
    lock, progress._lock = progress._lock, ForbiddenLock()
    for _ in range(3):
        progress.record("appointments")
        progress.observe(Record(data={"id": "a"}, stream_name="appointments"))
    with pytest.raises(LockTaken):
        progress.observe(Window("appointments", "A"))
    progress._lock = lock
    assert progress.summary().startswith("Sync progress after 0 s: 3 records so far; ")
