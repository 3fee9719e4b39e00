"""The queue between the CDK's workers and the writer (cdk_workarounds.limit_record_queue puts it
in place of the CDK's queue.Queue)."""

import queue
from typing import Any, Optional


class RefillingQueue(queue.Queue):
    """A queue whose reader wakes the writers blocked on a full queue once it is half empty, not
    after every item it takes. The writer (the main thread) is the bottleneck of a read, so the
    queue is mostly full: waking a worker per record made each record two switches of thread and
    of the GIL (50,000-70,000 context switches in a 100,000-record read, and a tenth of its CPU).

    Items go in and out without the queue's lock where they can (a deque's `append` and `popleft`
    are atomic): every record passes once each way, and eight workers and the reader handing the
    lock to each other cost a switch of thread each time (bench/RESULTS.md, issue 22).
    - A writer appends to a queue that is not full without the lock, and takes it only to wake a
      reader that waits, or when full, to wait for room. A few writers at once may fill it a few
      items past `maxsize`.
    - The reader, the one the CDK has (ConcurrentSource._consume_from_queue), takes an item from a
      queue more than half full without the lock, and asks whether it is empty without it. Under
      half full it takes the lock to wake the writers, as before: a writer waits only on a full
      queue, so the reader passes half on its way and wakes it. Before the reader waits on an
      empty queue it says so (`_reader_waiting`, under the lock, before it looks): a writer that
      appends after the reader looked sees it, and wakes it under the lock, which the reader holds
      until it waits.
    - `unfinished_tasks` is not kept: nothing joins this queue."""

    _reader_waiting = False

    def put(self, item: Any, block: bool = True, timeout: Optional[float] = None) -> None:
        if not block or timeout is not None or len(self.queue) >= self.maxsize:
            super().put(item, block, timeout)
            return
        self.queue.append(item)
        if self._reader_waiting:
            with self.not_empty:
                self.not_empty.notify()

    def get(self, block: bool = True, timeout: Optional[float] = None) -> Any:
        if not block or timeout is not None:
            return super().get(block, timeout)
        if len(self.queue) > self.maxsize // 2 + 1:  # still more than half full once taken
            return self.queue.popleft()
        with self.not_empty:
            self._reader_waiting = True  # before looking: a writer appending after the look wakes it
            try:
                while not self._qsize():
                    self.not_empty.wait()
            finally:
                self._reader_waiting = False
            item = self._get()
            if self._qsize() <= self.maxsize // 2:
                self.not_full.notify_all()
            return item

    def empty(self) -> bool:
        return not self.queue

    def backed_up(self) -> bool:
        """Whether the writer is behind: the queue is at least half full."""
        return self.qsize() >= self.maxsize // 2
