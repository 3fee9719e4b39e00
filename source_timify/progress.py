"""Progress lines during a read, so that a long sync shows it is moving.

Every `PROGRESS_INTERVAL_SECONDS` a read logs one INFO line on the CDK's "airbyte" logger (an
Airbyte LOG message, shown in the Airbyte UI's sync log and in a terminal): the records emitted
so far, the companies whose every partition is read, and per stream the partitions read out of
those listed so far ("still listing" while the stream is still listing them), or whether it
waits, is done or stopped.
- SyncProgress: the counts, fed by the read loop (records, stream statuses) and by the CDK's
  queue (partitions: `cdk_workarounds.observe_queue` hands it every item, in the main thread).
- ProgressLog: the thread that writes the line at the interval, even while no record arrives.
"""

import logging
import os
import threading
import time
from typing import Any, Dict, Iterable, List, Optional, Set

from airbyte_cdk.sources.concurrent_source.partition_generation_completed_sentinel import (
    PartitionGenerationCompletedSentinel,
)
from airbyte_cdk.sources.streams.concurrent.partitions.partition import Partition
from airbyte_cdk.sources.streams.concurrent.partitions.types import PartitionCompleteSentinel
from airbyte_cdk.sources.types import Record

from source_timify.slices import COMPANY_ID

logger = logging.getLogger("airbyte")

PROGRESS_INTERVAL_SECONDS = 30.0
# Tests shorten the interval with this variable; it cannot make progress lines rarer.
INTERVAL_ENVIRONMENT_VARIABLE = "SOURCE_TIMIFY_PROGRESS_INTERVAL_SECONDS"


def progress_interval() -> float:
    try:
        seconds = float(os.environ.get(INTERVAL_ENVIRONMENT_VARIABLE) or PROGRESS_INTERVAL_SECONDS)
    except ValueError:
        return PROGRESS_INTERVAL_SECONDS
    return seconds if 0 < seconds < PROGRESS_INTERVAL_SECONDS else PROGRESS_INTERVAL_SECONDS


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _company_of(partition: Partition) -> Optional[str]:
    stream_slice = partition.to_slice()
    company_id = stream_slice.get(COMPANY_ID) if stream_slice else None
    return str(company_id) if company_id else None


class SyncProgress:
    """What a read has done so far. Written by the read's main thread, read by ProgressLog."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.start([])

    def start(self, streams: Iterable[str]) -> None:
        with self._lock:
            self._started = time.monotonic()
            self._streams: List[str] = list(streams)
            self._records: Dict[str, int] = {}
            self._listed: Dict[str, int] = {}
            self._read: Dict[str, int] = {}
            self._listing_done: Set[str] = set()
            self._companies: Set[str] = set()
            self._pending: Dict[str, int] = {}  # company id -> partitions listed and not yet read
            self._status: Dict[str, str] = {}  # stream -> its last STREAM_STATUS (STARTED, ...)

    def record(self, stream: str) -> None:
        """One record emitted. Called for every record, by the read loop alone: without the lock,
        as nothing else writes the counts (`summary` reads each whole, in one step of the GIL)."""
        records = self._records
        records[stream] = records.get(stream, 0) + 1

    def stream_status(self, stream: str, status: str) -> None:
        with self._lock:
            self._status[stream] = status

    def observe(self, item: Any) -> None:
        """One item taken from the CDK's queue: a partition listed, read, or a stream's listing done."""
        if type(item) is Record or isinstance(item, Record):  # most items: `is` before the ABC's check
            return
        with self._lock:
            if isinstance(item, PartitionCompleteSentinel):
                stream, company = item.partition.stream_name(), _company_of(item.partition)
                self._read[stream] = self._read.get(stream, 0) + 1
                if company:
                    self._pending[company] = self._pending.get(company, 1) - 1
            elif isinstance(item, Partition):
                stream, company = item.stream_name(), _company_of(item)
                self._listed[stream] = self._listed.get(stream, 0) + 1
                if company:
                    self._companies.add(company)
                    self._pending[company] = self._pending.get(company, 0) + 1
            elif isinstance(item, PartitionGenerationCompletedSentinel):
                self._listing_done.add(item.stream.name)

    def summary(self) -> str:
        with self._lock:
            parts = [f"{sum(self._records.values()):,} records so far"]
            if self._companies:
                # A company is done once every stream has listed its partitions and none of the
                # company's is left to read; until then more of its partitions may come.
                all_listed = set(self._streams) <= self._listing_done
                done = sum(1 for c in self._companies if all_listed and self._pending.get(c, 0) <= 0)
                parts.append(f"{done} of {len(self._companies)} companies done")
            for stream in self._streams:
                parts.append(f"{stream}: {self._stream_summary(stream)}")
            elapsed = _duration(time.monotonic() - self._started)
        return f"Sync progress after {elapsed}: " + "; ".join(parts) + "."

    def _stream_summary(self, stream: str) -> str:
        status, listed, read = self._status.get(stream), self._listed.get(stream, 0), self._read.get(stream, 0)
        records = f"{self._records.get(stream, 0):,} records"
        if status is None:
            return "waiting"
        if status == "COMPLETE":
            return f"done, {listed} partition{'' if listed == 1 else 's'}, {records}"
        if status == "INCOMPLETE":
            return f"stopped after {read} of {listed} partitions, {records}"
        if not listed and stream not in self._listing_done:
            return "listing partitions"
        still = "" if stream in self._listing_done else " (still listing)"
        return f"{read} of {listed} partitions read{still}, {records}"


class ProgressLog:
    """Logs `progress.summary()` every `interval` seconds while the `with` block runs."""

    def __init__(self, progress: SyncProgress, interval: Optional[float] = None) -> None:
        self._progress = progress
        self._interval = interval or progress_interval()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="timify-progress", daemon=True)

    def __enter__(self) -> "ProgressLog":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            logger.info(self._progress.summary())
